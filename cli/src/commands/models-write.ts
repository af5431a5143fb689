import {
  type ConversionTarget,
  ConversionTargetSchema,
  DEFAULT_REGISTRY_POLICY,
  type RegistryPolicy,
  RegistryPolicySchema,
  type Stage,
  StageSchema,
  VERSION_METADATA_FIELDS,
  type VersionMetadataPatch,
  VersionMetadataPatchSchema,
  validationError,
} from "@modelgate/shared";
import { type Command, InvalidArgumentError, Option } from "commander";
import {
  collect,
  collectPairs,
  parseModelName,
  parseNameAndVersion,
  parseNumber,
  parseVersionNumber,
} from "../arguments.js";
import { UsageError } from "../cli-errors.js";
import { EdgeProblemError } from "../edge-client.js";
import type { CliSession } from "../session.js";
import { formatDeleted, formatPolicy, formatStageChange, formatVersionDetail } from "./models-format.js";

interface EditOptions {
  displayName?: string;
  description?: string;
  role?: string;
  group?: string;
  notes?: string;
  tag?: string[];
  addTag?: string[];
  removeTag?: string[];
  category?: string[];
  primaryCategory?: string;
  backend?: string[];
  location?: Record<string, string>;
  removeLocation?: string[];
  primaryLocation?: string;
  clear?: string[];
  reason?: string;
}

function parseMetadataField(value: string, previous: string[] | undefined): string[] {
  if (!(VERSION_METADATA_FIELDS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`not a metadata field; use one of ${VERSION_METADATA_FIELDS.join(", ")}`);
  }
  return collect(value, previous);
}

/** Whether the edit needs the current lists (add/remove rather than replace). */
const needsCurrent = (o: EditOptions) =>
  o.addTag !== undefined || o.removeTag !== undefined || o.location !== undefined || o.removeLocation !== undefined;

function buildPatch(options: EditOptions, current: { tags: string[]; locations: Record<string, string> } | undefined) {
  const patch: Record<string, unknown> = {};
  const set = (field: string, value: unknown) => {
    if (value !== undefined) patch[field] = value;
  };
  set("display_name", options.displayName);
  set("description", options.description);
  set("role", options.role);
  set("group", options.group);
  set("notes", options.notes);
  set("tags", options.tag);
  set("categories", options.category);
  set("primary_category", options.primaryCategory);
  set("deployed_backends", options.backend);
  set("primary_location", options.primaryLocation);
  if (current && (options.addTag || options.removeTag)) {
    const base = options.tag ?? current.tags;
    const removed = new Set(options.removeTag ?? []);
    patch.tags = [...new Set([...base, ...(options.addTag ?? [])])].filter((tag) => !removed.has(tag));
  }
  if (current && (options.location || options.removeLocation)) {
    const locations = { ...current.locations, ...(options.location ?? {}) };
    for (const name of options.removeLocation ?? []) delete locations[name];
    patch.locations = locations;
  }
  for (const field of options.clear ?? []) patch[field] = null;
  set("reason", options.reason);
  return patch;
}

interface PolicyOptions {
  metric?: string;
  registerMin?: number;
  stagingMin?: number;
  lowerIsBetter?: boolean;
  higherIsBetter?: boolean;
  reason?: string;
  json?: boolean;
}

/** `models promote|edit|alias|unalias|policy|delete`: changing the registry (models:write scope). */
export function registerModelWriteCommands(models: Command, session: CliSession): void {
  models
    .command("promote")
    .description("move a version to another stage (Production by default; the old Production is archived)")
    .argument("<name>", "model name", parseModelName)
    .argument("<version>", "the version number to move", parseVersionNumber)
    .addOption(new Option("--stage <stage>", "the target stage").choices(StageSchema.options).default("Production"))
    .option("--reason <text>", "why, kept in the model's history")
    .option("--no-archive", "keep the current Production version where it is instead of archiving it")
    .addOption(
      new Option("--format <target>", "serve this verified converted format by default").choices(
        ConversionTargetSchema.options,
      ),
    )
    .option("--force", "promote although must-pass gates failed (needs --reason; recorded in the history)")
    .option("--json", "print the edge's JSON response")
    .action(
      async (
        name: string,
        version: number,
        options: { stage: Stage; reason?: string; archive: boolean; format?: ConversionTarget; force?: boolean },
        command: Command,
      ) => {
        if (options.force && options.reason === undefined) {
          throw new UsageError("--force needs --reason.", "say why the failed gates may be overridden");
        }
        const client = await session.client(command);
        const result = await client.changeStage(name, version, {
          stage: options.stage,
          archive_existing: options.archive,
          ...(options.reason === undefined ? {} : { reason: options.reason }),
          ...(options.format === undefined ? {} : { format: options.format }),
          ...(options.force ? { force: true } : {}),
        });
        session.emit(result, formatStageChange);
      },
    );

  models
    .command("edit")
    .description("change a version's metadata (a new metadata revision; the artifact never changes)")
    .argument("<name>", "model name", parseModelName)
    .argument("<version>", "the version number", parseVersionNumber)
    .option("--display-name <text>", "display name")
    .option("--description <text>", "description")
    .option("--role <role>", "role")
    .option("--group <group>", "group")
    .option("--notes <text>", "notes")
    .option("--tag <tag>", "set the tags to exactly these (repeatable)", collect)
    .option("--add-tag <tag>", "add a tag (repeatable)", collect)
    .option("--remove-tag <tag>", "remove a tag (repeatable)", collect)
    .option("--category <category>", "set the task categories (repeatable)", collect)
    .option("--primary-category <category>", "the primary task category")
    .option("--backend <backend>", "set the deployed backends (repeatable)", collect)
    .option("--location <name=path>", "add or change a location (repeatable)", collectPairs("--location name=path"))
    .option("--remove-location <name>", "remove a location (repeatable)", collect)
    .option("--primary-location <name>", "the primary location")
    .option("--clear <field>", "clear a metadata field, e.g. notes (repeatable)", parseMetadataField)
    .option("--reason <text>", "why, kept in the model's history")
    .option("--json", "print the edge's JSON response")
    .action(async (name: string, version: number, options: EditOptions, command: Command) => {
      const client = await session.client(command);
      const current = needsCurrent(options) ? await client.getVersion(name, version) : undefined;
      const patch = buildPatch(options, current);
      const parsed = VersionMetadataPatchSchema.safeParse(patch);
      if (!parsed.success) throw validationError(parsed.error, "metadata edit");
      session.emit(await client.patchMetadata(name, version, patch as VersionMetadataPatch), formatVersionDetail);
    });

  models
    .command("alias")
    .description("point a free alias (e.g. champion) at a version; `name@champion` then resolves to it")
    .argument("<name>", "model name", parseModelName)
    .argument("<alias>", "the alias: a-z, 0-9, '_' or '-', not a stage name or latest")
    .argument("<version>", "the version number", parseVersionNumber)
    .option("--reason <text>", "why, kept in the model's history")
    .option("--json", "print the edge's JSON response")
    .action(async (name: string, alias: string, version: number, options: { reason?: string }, command: Command) => {
      const client = await session.client(command);
      session.emit(
        await client.setAlias(name, alias, version, options.reason),
        (r) => `${r.name}@${r.alias} → v${r.version}`,
      );
    });

  models
    .command("unalias")
    .description("remove an alias")
    .argument("<name>", "model name", parseModelName)
    .argument("<alias>", "the alias to remove")
    .option("--reason <text>", "why, kept in the model's history")
    .option("--json", "print the edge's JSON response")
    .action(async (name: string, alias: string, options: { reason?: string }, command: Command) => {
      const client = await session.client(command);
      session.emit(await client.removeAlias(name, alias, options.reason), (r) => `removed ${r.name}@${r.alias}`);
    });

  models
    .command("policy")
    .description("show or change a model's registration policy (seed 004: register ≥ 0.70, Staging ≥ 0.90)")
    .argument("<name>", "model name (a policy can be set before the first version)", parseModelName)
    .option("--metric <metric>", "the metric the thresholds apply to (default val_acc)")
    .option("--register-min <value>", "refuse versions below this", parseNumber)
    .option("--staging-min <value>", "put versions at or above this straight into Staging", parseNumber)
    .option("--lower-is-better", "the metric is a loss: the comparisons flip")
    .option("--higher-is-better", "the metric is an accuracy (the default)")
    .option("--reason <text>", "why, kept in the model's history")
    .option("--json", "print the edge's JSON response")
    .action(async (name: string, options: PolicyOptions, command: Command) => {
      const client = await session.client(command);
      const changes: Partial<RegistryPolicy> = {};
      if (options.metric !== undefined) changes.metric = options.metric;
      if (options.registerMin !== undefined) changes.register_min = options.registerMin;
      if (options.stagingMin !== undefined) changes.staging_min = options.stagingMin;
      if (options.lowerIsBetter && options.higherIsBetter) {
        throw new UsageError("--lower-is-better and --higher-is-better contradict each other.", "pass one of them");
      }
      if (options.lowerIsBetter) changes.higher_is_better = false;
      if (options.higherIsBetter) changes.higher_is_better = true;
      if (Object.keys(changes).length === 0) {
        const model = await client.getModel(name);
        session.emit({ name: model.name, policy: model.policy }, (r) => `${r.name}: ${formatPolicy(r.policy)}`);
        return;
      }
      // Unchanged fields keep their current values; a model without versions starts from the defaults.
      const current = await client.getModel(name).then(
        (model) => model.policy,
        (error: unknown) => {
          if (error instanceof EdgeProblemError && error.status === 404) return DEFAULT_REGISTRY_POLICY;
          throw error;
        },
      );
      const parsed = RegistryPolicySchema.safeParse({ ...current, ...changes });
      if (!parsed.success) throw validationError(parsed.error, "policy", "policy");
      session.emit(
        await client.setPolicy(name, parsed.data, options.reason),
        (r) => `${r.name}: ${formatPolicy(r.policy)}`,
      );
    });

  models
    .command("delete")
    .description("delete a version (name@N) or a whole model; its history stays readable")
    .argument("<name[@version]>", "model name, or name@<version number>", parseNameAndVersion)
    .option("--purge", "also delete the artifact from object storage when no other version uses it")
    .option("--force", "allow deleting what is in Production (otherwise exit 7)")
    .option("--reason <text>", "why, kept in the model's history")
    .option("--yes", "do not ask for confirmation (required when stdin is not a terminal)")
    .option("--json", "print the edge's JSON response")
    .action(
      async (
        target: { name: string; version: number | undefined },
        options: { purge?: boolean; force?: boolean; reason?: string; yes?: boolean },
        command: Command,
      ) => {
        const what =
          target.version === undefined
            ? `delete model ${target.name} and all its versions`
            : `delete ${target.name}@${target.version}`;
        await session.confirm(`${what}${options.purge ? " (and purge artifacts)" : ""}`, options.yes);
        const client = await session.client(command);
        const deleted = await client.deleteModel(target.name, target.version, {
          purge: options.purge === true,
          force: options.force === true,
          reason: options.reason,
        });
        session.emit(deleted, (d) => formatDeleted(d, target.version === undefined));
      },
    );
}
