import { StageSchema, type VersionSearchItem, type VersionSearchPage } from "@modelgate/shared";
import { type Command, Option } from "commander";
import { integerInRange, type NameAndRef, parseModelName, parseNameAndRef, parseVersionNumber } from "../arguments.js";
import type { VersionSearchParams } from "../edge-client.js";
import type { CliSession } from "../session.js";
import { formatBest, formatHistory, formatModelView, formatVersionDetail, formatVersionList } from "./models-format.js";
import { warmOnLine } from "./workers.js";

interface ListOptions {
  name?: string;
  role?: string;
  group?: string;
  stage?: string;
  kind?: string;
  tag?: string;
  backend?: string;
  location?: string;
  category?: string;
  query?: string;
  sort?: string;
  order?: string;
  limit?: number;
  cursor?: string;
  all?: boolean;
  json?: boolean;
}

/** The edge caps pages at 1000; --all walks pages of this size. */
const ALL_PAGE_SIZE = 1000;

function searchParams(options: ListOptions): VersionSearchParams {
  const { name, role, group, stage, kind, tag, backend, location, category, sort, order, limit, cursor } = options;
  const params: VersionSearchParams = { name, role, group, stage, kind, tag, backend, location, category, sort, order };
  if (options.query !== undefined) params.q = options.query;
  if (limit !== undefined) params.limit = limit;
  if (cursor !== undefined) params.cursor = cursor;
  return params;
}

/** `models list`, `info`, `history` and `best`: reading the registry (models:read scope). */
export function registerModelReadCommands(models: Command, session: CliSession): void {
  models
    .command("list")
    .description("search registered versions (every filter narrows the list; newest first)")
    .option("--name <name>", "only this model")
    .option("--role <role>", "only this role (seed 003: general, asm, …)")
    .option("--group <group>", "only this group")
    .option("--stage <stage>", `only this stage: ${StageSchema.options.join(", ")}`)
    .option("--kind <kind>", "only this kind: causal-lm or tensor")
    .option("--tag <tag>", "only versions with this tag")
    .option("--backend <backend>", "only versions deployed to this backend")
    .option("--location <location>", "only versions with a copy at this location")
    .option("--category <category>", "only versions in this task category")
    .option("-q, --query <text>", "text in names, descriptions, notes and tags")
    .option("--sort <field>", "created_at, updated_at, name, version, metric:<name> or benchmark:<name>")
    .addOption(new Option("--order <order>", "sort direction").choices(["asc", "desc"]))
    .option("--limit <n>", "versions per page (1-1000, default 50)", integerInRange(1, 1000))
    .option("--cursor <cursor>", "the next page, as printed after the previous one")
    .option("--all", "follow the pages to the end and print every match")
    .option("--json", "print the edge's JSON page (with --all, every item in one page)")
    .action(async (options: ListOptions, command: Command) => {
      const client = await session.client(command);
      const params = searchParams(options);
      let page = await client.searchVersions(
        options.all ? { ...params, limit: options.limit ?? ALL_PAGE_SIZE } : params,
      );
      if (options.all) {
        const items: VersionSearchItem[] = [...page.items];
        while (page.next_cursor !== null) {
          page = await client.searchVersions({
            ...params,
            limit: options.limit ?? ALL_PAGE_SIZE,
            cursor: page.next_cursor,
          });
          items.push(...page.items);
        }
        const merged: VersionSearchPage = { items, next_cursor: null, total: page.total };
        session.emit(merged, (all) => formatVersionList(all.items, options.sort));
        return;
      }
      session.emit(page, (p) => formatVersionList(p.items, options.sort));
      if (page.next_cursor !== null) {
        // stderr, so that the table (or JSON) on stdout stays clean; shown with --json too.
        session.io.stderr(
          `showing ${page.items.length} of ${page.total}; next page: --cursor ${page.next_cursor} (or --all)\n`,
        );
      }
    });

  models
    .command("info")
    .description("a model's versions, aliases and policy; with @<ref>, one version in full (seed 003 detail)")
    .argument("<name[@ref]>", "model name, or name@<version|latest|production|staging|alias>", parseNameAndRef)
    .option("--version <n>", "the same as name@<n>", parseVersionNumber)
    .option("--json", "print the edge's JSON response")
    .action(async (target: NameAndRef, options: { json?: boolean; version?: number }, command: Command) => {
      const client = await session.client(command);
      const ref = target.ref ?? (options.version === undefined ? undefined : String(options.version));
      if (ref === undefined) {
        session.emit(await client.getModel(target.name), formatModelView);
      } else {
        const version = await client.getVersion(target.name, ref);
        // Where it is warm, for people (--json stays the edge's version body as it came).
        const warm = session.json ? undefined : await warmOnLine(client, version);
        session.emit(version, (v) =>
          warm === undefined ? formatVersionDetail(v) : `${formatVersionDetail(v)}\n${warm}`,
        );
      }
    });

  models
    .command("history")
    .description("every change to a model: registrations, stages, aliases, edits, deletions (kept after delete)")
    .argument("<name>", "model name", parseModelName)
    .option("--json", "print the edge's JSON response")
    .action(async (name: string, _options: { json?: boolean }, command: Command) => {
      const client = await session.client(command);
      session.emit(await client.history(name), formatHistory);
    });

  models
    .command("best")
    .description("the version with the best value of a metric (or benchmark score)")
    .argument("<name>", "model name", parseModelName)
    .option("--metric <metric>", "the metric to rank by", "val_acc")
    .addOption(
      new Option("--order <order>", "desc: highest wins; asc: lowest wins (losses)")
        .choices(["asc", "desc"])
        .default("desc"),
    )
    .addOption(new Option("--stage <stage>", "only versions in this stage").choices(StageSchema.options))
    .option("--json", "print the edge's JSON response")
    .action(async (name: string, options: { metric: string; order: string; stage?: string }, command: Command) => {
      const client = await session.client(command);
      const { metric, order, stage } = options;
      session.emit(await client.bestVersion(name, { metric, order, stage }), formatBest);
    });
}
