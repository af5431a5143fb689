import {
  BestVersionSchema,
  ModelHistorySchema,
  ModelViewSchema,
  ProblemDetailsSchema,
  VersionSearchPageSchema,
  VersionWithAliasesSchema,
} from "@modelgate/shared";
import { beforeAll, describe, expect, it } from "vitest";
import { cli, parseJson, registerVersion, uniqueName } from "./support/stack.js";

const columns = (line: string | undefined) => line?.split(/\s{2,}/) ?? [];

// Three versions of one model with a role and metrics of their own, shared by the read tests.
const name = uniqueName("read");
const role = `role-${name.slice(-8)}`;

beforeAll(async () => {
  const dataset = {
    name: "oracle_farore_improved",
    train_samples: 320,
    val_samples: 40,
    test_samples: 40,
    quality: { acceptance_rate: 0.867 },
  };
  await registerVersion(name, { role, metrics: { val_acc: 0.8, final_loss: 0.9 }, tags: ["small"] });
  await registerVersion(name, {
    role,
    metrics: { val_acc: 0.86, final_loss: 0.82 },
    dataset,
    locations: { windows: "D:/m", mac: "/m" },
    primary_location: "windows",
    deployed_backends: ["ollama"],
    base_model: "Qwen/Qwen2.5-Coder-1.5B",
    display_name: "Oracle: Farore Secrets",
    training_date: "2025-12-22",
    training_duration_minutes: 75,
  });
  await registerVersion(name, { role, metrics: { val_acc: 0.75, final_loss: 0.95 } });
  const promoted = await cli(["models", "promote", name, "2"]);
  if (promoted.code !== 0) throw new Error(promoted.stderr);
});

describe("models list", () => {
  it("shows the seeded demo models in Production", async () => {
    const run = await cli(["models", "list", "--stage", "Production", "--kind", "causal-lm", "--name", "demo-lm"]);
    expect(run.code).toBe(0);
    const [header, row] = run.stdout.trimEnd().split("\n");
    expect(columns(header)).toEqual(["NAME", "VERSION", "STAGE", "ROLE", "ALIASES", "TAGS", "CREATED"]);
    expect(columns(row).slice(0, 3)).toEqual(["demo-lm", "1", "Production"]);
  });

  it("filters by role and stage, and prints the edge's page with --json", async () => {
    const run = await cli(["models", "list", "--role", role, "--stage", "Production"]);
    expect(
      run.stdout
        .trimEnd()
        .split("\n")
        .slice(1)
        .map((line) => columns(line).slice(0, 4)),
    ).toEqual([[name, "2", "Production", role]]);
    const page = parseJson(await cli(["models", "list", "--role", role, "--json"]), VersionSearchPageSchema);
    expect(page.total).toBe(3);
    expect(page.items.map((v) => v.version)).toEqual([3, 2, 1]);
    expect(page.next_cursor).toBeNull();
  });

  it("adds the metric column when sorting by it", async () => {
    const run = await cli(["models", "list", "--role", role, "--sort", "metric:val_acc"]);
    const lines = run.stdout.trimEnd().split("\n");
    expect(columns(lines[0])).toEqual(["NAME", "VERSION", "STAGE", "ROLE", "ALIASES", "TAGS", "VAL_ACC", "CREATED"]);
    expect(lines.slice(1).map((line) => columns(line)[6])).toEqual(["0.86", "0.8", "0.75"]);
  });

  it("pages with --limit/--cursor, says so on stderr, and --all follows every page", async () => {
    const first = await cli(["models", "list", "--role", role, "--limit", "2", "--sort", "version", "--order", "asc"]);
    expect(first.code).toBe(0);
    const cursor = /showing 2 of 3; next page: --cursor (\S+)/.exec(first.stderr)?.[1];
    expect(cursor).toBeDefined();
    const second = await cli([
      "models",
      "list",
      "--role",
      role,
      "--limit",
      "2",
      "--sort",
      "version",
      "--order",
      "asc",
      "--cursor",
      cursor ?? "",
      "--json",
    ]);
    expect(parseJson(second, VersionSearchPageSchema).items.map((v) => v.version)).toEqual([3]);
    expect(second.stderr).toBe("");
    const all = await cli(["models", "list", "--role", role, "--limit", "1", "--all", "--json"]);
    expect(parseJson(all, VersionSearchPageSchema)).toMatchObject({ total: 3, next_cursor: null });
    expect(parseJson(all, VersionSearchPageSchema).items).toHaveLength(3);
  });

  it("names a bad filter once and exits 5 (the edge's validation)", async () => {
    const run = await cli(["models", "list", "--stage", "Prod"]);
    expect(run.code).toBe(5);
    expect(run.stderr.match(/stage/g)).toHaveLength(1);
    expect(run.stderr).toMatch(/^ {2}stage: /m);
    const json = await cli(["models", "list", "--stage", "Prod", "--json"]);
    expect(ProblemDetailsSchema.parse(JSON.parse(json.stderr)).errors?.[0]?.field).toBe("stage");
  });

  it("says when nothing matches", async () => {
    const run = await cli(["models", "list", "--tag", "no-such-tag-anywhere"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("No versions match.");
  });
});

describe("models info", () => {
  it("shows the model's versions, policy and aliases", async () => {
    const run = await cli(["models", "info", name]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`${name}  (3 versions`);
    expect(run.stdout).toMatch(/^policy\s+val_acc ≥ 0.7 to register, ≥ 0.9 for Staging/m);
    expect(run.stdout).toMatch(/^2\s+Production\s+tensor\s+/m);
    const view = parseJson(await cli(["models", "info", name, "--json"]), ModelViewSchema);
    expect(view.versions.map((v) => v.stage)).toEqual(["None", "Production", "None"]);
    expect(view.history_length).toBeGreaterThanOrEqual(4);
  });

  it("shows one version in seed 003's detail, by number, stage or latest", async () => {
    const run = await cli(["models", "info", `${name}@production`]);
    expect(run.code).toBe(0);
    const text = run.stdout;
    expect(text).toContain("  Oracle: Farore Secrets");
    expect(text).toMatch(/^Model ID\s+read-/m);
    expect(text).toMatch(/^Base Model\s+Qwen\/Qwen2.5-Coder-1.5B$/m);
    expect(text).toMatch(/^Training Date\s+2025-12-22$/m);
    expect(text).toMatch(/^Duration\s+75 minutes$/m);
    expect(text).toMatch(/^ {2}Samples\s+320 train \/ 40 val \/ 40 test$/m);
    expect(text).toMatch(/^ {2}acceptance_rate\s+0.867$/m);
    expect(text).toMatch(/^ {2}final_loss\s+0.82$/m);
    expect(text).toContain("  • windows (primary): D:/m\n  • mac: /m");
    expect(text).toContain("Deployed To:\n  • ollama");
    const latest = parseJson(await cli(["models", "info", `${name}@latest`, "--json"]), VersionWithAliasesSchema);
    expect(latest.version).toBe(3);
    const second = parseJson(await cli(["models", "info", name, "--version", "2", "--json"]), VersionWithAliasesSchema);
    expect(second.stage).toBe("Production");
  });

  it("exits 4 for an unknown model or version, with a hint", async () => {
    const run = await cli(["models", "info", "no-such-model"]);
    expect(run.code).toBe(4);
    expect(run.stderr).toContain("hint: check model names");
    expect((await cli(["models", "info", `${name}@42`])).code).toBe(4);
    expect((await cli(["models", "info", "Bad_Name"])).code).toBe(2);
  });
});

describe("models history and best", () => {
  it("lists every change as a table, and the edge's events with --json", async () => {
    const run = await cli(["models", "history", name]);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split("\n");
    expect(columns(lines[2])).toEqual(["SEQ", "WHEN", "BY", "ACTION", "VERSION", "FROM→TO", "REASON"]);
    expect(run.stdout).toMatch(/^4\s+\S+ \S+\s+admin\s+stage_changed\s+v2\s+None→Production/m);
    const history = parseJson(await cli(["models", "history", name, "--json"]), ModelHistorySchema);
    expect(history.events.map((e) => e.action)).toEqual(["registered", "registered", "registered", "stage_changed"]);
    expect((await cli(["models", "history", "never-registered"])).code).toBe(4);
  });

  it("finds the best version by a metric, either order, optionally in one stage", async () => {
    const best = await cli(["models", "best", name]);
    expect(best.stdout.trim()).toBe(`${name}@2  val_acc 0.86  (Production, role ${role})`);
    const lowestLoss = parseJson(
      await cli(["models", "best", name, "--metric", "final_loss", "--order", "asc", "--json"]),
      BestVersionSchema,
    );
    expect([lowestLoss.version.version, lowestLoss.value]).toEqual([2, 0.82]);
    const inNone = parseJson(await cli(["models", "best", name, "--stage", "None", "--json"]), BestVersionSchema);
    expect(inNone.version.version).toBe(1);
    const missing = await cli(["models", "best", name, "--metric", "bleu"]);
    expect(missing.code).toBe(4);
  });
});
