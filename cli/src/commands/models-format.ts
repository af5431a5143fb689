import type {
  BestVersion,
  Deleted,
  HistoryEvent,
  ModelHistory,
  ModelVersion,
  ModelView,
  PolicyDecision,
  RegisteredVersion,
  RegistryPolicy,
  StageChangeResponse,
  VersionSearchItem,
} from "@modelgate/shared";
import { describePlacement } from "@modelgate/shared";
import { formatBytes, formatFields, formatTable, formatTimestamp, NONE } from "../output.js";

const list = (values: readonly string[]) => values.join(",") || NONE;
const shortDate = (iso: string) => formatTimestamp(iso).replace(/T(\d\d:\d\d):\d\dZ$/, " $1");

/** A metric value as the seed prints it: up to 4 decimals, no trailing zeros. */
export function formatMetric(value: number | undefined): string {
  if (value === undefined) return NONE;
  return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(4)));
}

/** `metric:val_acc` / `benchmark:code` sorts get a column with that value. */
function sortedMetric(sort: string | undefined): { source: "metrics" | "benchmark_scores"; name: string } | undefined {
  const match = /^(metric|benchmark):(.+)$/.exec(sort ?? "");
  if (!match?.[2]) return undefined;
  return { source: match[1] === "metric" ? "metrics" : "benchmark_scores", name: match[2] };
}

export function formatVersionList(items: readonly VersionSearchItem[], sort?: string): string {
  if (items.length === 0) {
    return "No versions match. Register one with `modelgate models register <name> --file registration.json`.";
  }
  const metric = sortedMetric(sort);
  const headers = ["NAME", "VERSION", "STAGE", "ROLE", "ALIASES", "TAGS"];
  if (metric) headers.push(metric.name.toUpperCase());
  headers.push("CREATED");
  const rows = items.map((v) => {
    const row = [v.name, String(v.version), v.stage, v.role ?? NONE, list(v.aliases), list(v.tags)];
    if (metric) row.push(formatMetric(v[metric.source][metric.name]));
    row.push(shortDate(v.created_at));
    return row;
  });
  return formatTable(headers, rows);
}

export function formatPolicy(policy: RegistryPolicy): string {
  const relation = policy.higher_is_better ? "≥" : "≤";
  return `${policy.metric} ${relation} ${policy.register_min} to register, ${relation} ${policy.staging_min} for Staging (${policy.higher_is_better ? "higher" : "lower"} is better)`;
}

function aliasesOf(aliases: Record<string, number>, version: number): string[] {
  return Object.entries(aliases)
    .filter(([, target]) => target === version)
    .map(([alias]) => alias);
}

export function formatModelView(model: ModelView): string {
  const count = model.versions.length === 1 ? "1 version" : `${model.versions.length} versions`;
  const aliases = Object.entries(model.aliases).map(([alias, version]) => `${alias} → v${version}`);
  const header = [
    `${model.name}  (${count}, updated ${formatTimestamp(model.updated_at)})`,
    formatFields([
      ["policy", formatPolicy(model.policy)],
      ["aliases", aliases.join(", ") || NONE],
      ["history", `${model.history_length} events (modelgate models history ${model.name})`],
    ]),
  ].join("\n");
  if (model.versions.length === 0) return `${header}\n\nNo versions registered.`;
  const rows = model.versions.map((v) => [
    String(v.version),
    v.stage,
    v.kind,
    v.role ?? NONE,
    v.display_name ?? NONE,
    formatMetric(v.metrics[model.policy.metric]),
    `${v.artifact.format} ${formatBytes(v.artifact.bytes)}`,
    list(aliasesOf(model.aliases, v.version)),
    list(v.tags),
    shortDate(v.created_at),
  ]);
  const headers = ["VERSION", "STAGE", "KIND", "ROLE", "DISPLAY NAME", model.policy.metric.toUpperCase()];
  const table = formatTable([...headers, "ARTIFACT", "ALIASES", "TAGS", "CREATED"], rows);
  return `${header}\n\n${table}\n\nDetails of one version: modelgate models info ${model.name}@<version>`;
}

/** `name value` lines under a heading, indented; nothing at all when there are no entries. */
function section(title: string, entries: ReadonlyArray<readonly [string, string]>): string[] {
  if (entries.length === 0) return [];
  const width = Math.max(...entries.map(([label]) => label.length));
  return ["", `${title}:`, ...entries.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`.trimEnd())];
}

const bullets = (title: string, lines: readonly string[]) =>
  lines.length === 0 ? [] : ["", `${title}:`, ...lines.map((line) => `  • ${line}`)];

function datasetEntries(v: ModelVersion): Array<readonly [string, string]> {
  const dataset = v.dataset;
  if (!dataset) return [];
  const samples = [
    dataset.train_samples === undefined ? undefined : `${dataset.train_samples} train`,
    dataset.val_samples === undefined ? undefined : `${dataset.val_samples} val`,
    dataset.test_samples === undefined ? undefined : `${dataset.test_samples} test`,
  ].filter((s) => s !== undefined);
  return [
    ["Name", dataset.name],
    ...(dataset.path === undefined ? [] : ([["Path", dataset.path]] as const)),
    ...(samples.length === 0 ? [] : ([["Samples", samples.join(" / ")]] as const)),
    ...Object.entries(dataset.quality ?? {}).map(([name, value]) => [name, formatMetric(value)] as const),
  ];
}

/** One version in full, laid out like seed 003's `hafs models info`. */
export function formatVersionDetail(v: ModelVersion & { aliases?: string[] }): string {
  const title = v.display_name ?? `${v.name}@${v.version}`;
  const rule = "─".repeat(Math.max(title.length + 4, 40));
  const fields: Array<readonly [string, string]> = [
    ["Model ID", v.name],
    ["Version", `v${v.version}`],
    ["Stage", v.stage],
    ["Kind", v.kind],
    ["Role", v.role ?? NONE],
  ];
  if (v.group !== undefined) fields.push(["Group", v.group]);
  fields.push(["Base Model", v.base_model ?? NONE]);
  if (v.training_date !== undefined) fields.push(["Training Date", v.training_date]);
  if (v.training_duration_minutes !== undefined) fields.push(["Duration", `${v.training_duration_minutes} minutes`]);
  if (v.hardware !== undefined || v.device !== undefined) {
    fields.push(["Hardware", [v.hardware, v.device].filter((s) => s !== undefined).join(", ")]);
  }
  if (v.git_commit !== undefined) fields.push(["Git Commit", v.git_commit]);
  fields.push(
    ["Artifact", v.artifact.uri],
    ["SHA-256", v.artifact.sha256],
    ["Format", `${v.artifact.format}, ${formatBytes(v.artifact.bytes)}, needs ${v.memory_mb} MB`],
    ["Aliases", list(v.aliases ?? [])],
    ["Created", `${formatTimestamp(v.created_at)} by ${v.created_by}`],
    ["Metadata", `revision ${v.metadata_revision}, updated ${formatTimestamp(v.updated_at)}`],
  );
  if (v.serving?.placement !== undefined) fields.push(["Placement", describePlacement(v.serving.placement)]);
  const metrics: Array<readonly [string, string]> = Object.entries(v.metrics).map(([k, value]) => [
    k,
    formatMetric(value),
  ]);
  if (v.perplexity !== undefined) metrics.push(["perplexity", formatMetric(v.perplexity)]);
  const lora = v.lora_config;
  const locations = Object.entries(v.locations).map(
    ([name, path]) => `${name}${name === v.primary_location ? " (primary)" : ""}: ${path}`,
  );
  const lines = [
    `╭${rule}╮`,
    `  ${title}`,
    `╰${rule}╯`,
    "",
    formatFields(fields),
    ...section("Dataset", datasetEntries(v)),
    ...section("Metrics", metrics),
    ...section(
      "Benchmarks",
      Object.entries(v.benchmark_scores).map(([k, value]) => [k, formatMetric(value)] as const),
    ),
    ...section(
      "LoRA",
      lora
        ? [
            ["r / alpha", `${lora.r} / ${lora.lora_alpha}`],
            ["dropout", String(lora.lora_dropout)],
            ["targets", lora.target_modules.join(", ") || NONE],
          ]
        : [],
    ),
    ...section(
      "Hyperparameters",
      Object.entries(v.hyperparameters ?? {}).map(([k, value]) => [k, String(value)] as const),
    ),
    ...bullets("Locations", locations),
    ...bullets("Deployed To", v.deployed_backends),
    ...section("Labels", [
      ["Formats", list(v.formats)],
      ["Tags", list(v.tags)],
      ["Categories", v.primary_category ? `${list(v.categories)} (primary ${v.primary_category})` : list(v.categories)],
    ] as const),
  ];
  if (v.description) lines.push("", "Description:", `  ${v.description}`);
  if (v.notes) lines.push("", "Notes:", `  ${v.notes}`);
  return lines.join("\n");
}

export function formatPolicyDecision(policy: PolicyDecision): string {
  return `policy ${policy.outcome}: ${policy.reason}`;
}

export function formatRegistered(v: RegisteredVersion): string {
  const next =
    v.stage === "Production"
      ? `modelgate models info ${v.name}@${v.version}`
      : `modelgate models promote ${v.name} ${v.version} --stage ${v.stage === "Staging" ? "Production" : "Staging"}`;
  return [
    `Registered ${v.name}@${v.version} (stage ${v.stage}, ${v.kind}, sha256 ${v.artifact.sha256.slice(0, 12)}…).`,
    formatPolicyDecision(v.policy),
    `Next: ${next}`,
  ].join("\n");
}

export function formatStageChange({ version, model }: StageChangeResponse): string {
  const others = model.versions
    .filter((v) => v.version !== version.version && v.stage !== "None")
    .map((v) => `v${v.version} ${v.stage}`);
  return [
    `${version.name}@${version.version} is now in ${version.stage}.`,
    ...(others.length > 0 ? [`Other versions: ${others.join(", ")}`] : []),
  ].join("\n");
}

const transition = (event: HistoryEvent) => {
  if (event.from === undefined && event.to === undefined) return NONE;
  return `${event.from ?? NONE}→${event.to ?? NONE}`;
};

export function formatHistory(history: ModelHistory): string {
  const deleted = history.deleted_at ? ` (deleted ${formatTimestamp(history.deleted_at)})` : "";
  if (history.events.length === 0) return `${history.name}${deleted}: no events.`;
  const rows = history.events.map((event) => {
    const version = event.version === undefined ? NONE : `v${event.version}`;
    const detail = [
      event.alias === undefined ? undefined : `alias ${event.alias}`,
      event.metadata_revision === undefined ? undefined : `revision ${event.metadata_revision}`,
      event.purged ? "artifact purged" : undefined,
      event.reason,
    ].filter((s) => s !== undefined);
    // Policy events carry whole policies as from/to; the table shows just that it changed.
    const change = event.action === "policy_updated" ? NONE : transition(event);
    return [String(event.seq), shortDate(event.at), event.by, event.action, version, change, detail.join("; ") || NONE];
  });
  return `${history.name}${deleted}\n\n${formatTable(["SEQ", "WHEN", "BY", "ACTION", "VERSION", "FROM→TO", "REASON"], rows)}`;
}

export function formatBest(best: BestVersion): string {
  const v = best.version;
  return `${v.name}@${v.version}  ${best.metric} ${formatMetric(best.value)}  (${v.stage}${v.role ? `, role ${v.role}` : ""})`;
}

export function formatDeleted(deleted: Deleted, whole: boolean): string {
  const versions = deleted.removed.map((n) => `v${n}`).join(", ") || "no versions";
  const purged =
    deleted.purged.length === 0
      ? "artifacts kept in object storage"
      : `purged ${deleted.purged.length} artifact${deleted.purged.length === 1 ? "" : "s"}`;
  const what = whole ? `model ${deleted.name}` : deleted.name;
  const history = `its history stays readable: modelgate models history ${deleted.name}`;
  return `Deleted ${what} (${versions}); ${purged}.\n${history}`;
}
