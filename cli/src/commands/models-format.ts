import type { ModelRecord, ModelVersion, Stage, TensorSpec } from "@modelgate/shared";
import { formatBytes, formatFields, formatTable, formatTimestamp, NONE } from "../output.js";

/** The newest version in a stage: with `archive_existing: false` two versions can share one. */
function newestInStage(record: ModelRecord, stage: Stage): ModelVersion | undefined {
  return [...record.versions].reverse().find((v) => v.stage === stage);
}

const versionLabel = (version: ModelVersion | undefined) => (version ? `v${version.version}` : NONE);

export function formatModelList(models: readonly ModelRecord[]): string {
  if (models.length === 0) {
    return "No models registered yet. Register one with `modelgate models register <name> --file registration.json`.";
  }
  const rows = models.map((record) => [
    record.name,
    record.versions.at(-1)?.kind ?? NONE,
    String(record.versions.length),
    versionLabel(newestInStage(record, "Production")),
    versionLabel(newestInStage(record, "Staging")),
    formatTimestamp(record.updated_at),
  ]);
  return formatTable(["NAME", "KIND", "VERSIONS", "PRODUCTION", "STAGING", "UPDATED"], rows);
}

export function formatVersionTable(versions: readonly ModelVersion[]): string {
  const rows = versions.map((v) => [
    String(v.version),
    v.stage,
    v.kind,
    v.artifact.format,
    formatBytes(v.artifact.bytes),
    `${v.memory_mb} MB`,
    v.categories.join(",") || NONE,
    formatTimestamp(v.created_at),
  ]);
  return formatTable(["VERSION", "STAGE", "KIND", "FORMAT", "SIZE", "MEMORY", "CATEGORIES", "CREATED"], rows);
}

export function formatModelRecord(record: ModelRecord): string {
  const count = record.versions.length === 1 ? "1 version" : `${record.versions.length} versions`;
  const header = `${record.name}  (${count}, updated ${formatTimestamp(record.updated_at)})`;
  if (record.versions.length === 0) return `${header}\nNo versions registered.`;
  return `${header}\n\n${formatVersionTable(record.versions)}`;
}

const tensor = (spec: TensorSpec) => `${spec.name} ${spec.dtype}[${spec.shape.join(",")}]`;

const scores = (values: Record<string, number>) =>
  Object.entries(values)
    .map(([name, value]) => `${name} ${value}`)
    .join(", ") || NONE;

export function formatModelVersion(v: ModelVersion): string {
  const categories = v.categories.join(", ") || NONE;
  const fields: Array<readonly [string, string]> = [
    ["stage", v.stage],
    ["kind", v.kind],
    ["artifact", v.artifact.uri],
    ["format", `${v.artifact.format}, ${formatBytes(v.artifact.bytes)}`],
    ["sha256", v.artifact.sha256],
    ["memory", `${v.memory_mb} MB`],
    ["inputs", v.io.inputs.map(tensor).join("; ")],
    ["outputs", v.io.outputs.map(tensor).join("; ")],
    ["categories", v.primary_category ? `${categories} (primary ${v.primary_category})` : categories],
    ["benchmarks", scores(v.benchmark_scores)],
    ["metrics", scores(v.metrics)],
    ["created", `${formatTimestamp(v.created_at)} by ${v.created_by}`],
  ];
  if (v.description) fields.push(["description", v.description]);
  const history = v.stage_history.map(
    (t) => `  ${formatTimestamp(t.at)}  ${t.from} -> ${t.to}  by ${t.by}${t.reason ? `: ${t.reason}` : ""}`,
  );
  const historyText = history.length > 0 ? `\n\nStage history:\n${history.join("\n")}` : "";
  return `${v.name}@${v.version}\n${formatFields(fields)}${historyText}`;
}

export function formatRegistered(v: ModelVersion): string {
  return [
    `Registered ${v.name}@${v.version} (stage ${v.stage}, ${v.kind}, sha256 ${v.artifact.sha256.slice(0, 12)}…).`,
    `Next: modelgate models promote ${v.name} --version ${v.version} --stage Staging`,
  ].join("\n");
}

export function formatStageChange(version: ModelVersion, record: ModelRecord): string {
  const last = version.stage_history.at(-1);
  const change = last ? `${last.from} -> ${last.to}` : version.stage;
  return `${version.name}@${version.version}: ${change}\n\n${formatVersionTable(record.versions)}`;
}
