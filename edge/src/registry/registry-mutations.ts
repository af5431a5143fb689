import {
  applyMetadataPatch,
  DEFAULT_REGISTRY_POLICY,
  err,
  estimateModelMemoryMb,
  evaluateRegistrationPolicy,
  type HistoryEvent,
  ModelgateError,
  type ModelRecord,
  type ModelVersion,
  ok,
  type PolicyDecision,
  type RegisterVersionInput,
  type RegistryPolicy,
  type Result,
  type Stage,
  type VersionMetadata,
  type VersionMetadataPatch,
  versionMetadataOf,
} from "@modelgate/shared";

/**
 * The registry's rules as pure functions of a model record: each takes the current record and
 * returns the next one with its history event(s) appended, or an error value. Storage (R2,
 * the search index) and serialization live in the coordinator; nothing here does I/O.
 */
export interface WriteContext {
  actor: string;
  at: string;
}

type NewEvent = Omit<HistoryEvent, "seq" | "at" | "by">;

function withEvents(record: ModelRecord, context: WriteContext, events: NewEvent[]): ModelRecord {
  let seq = record.history.at(-1)?.seq ?? 0;
  const stamped = events.map((event) => ({ ...event, seq: ++seq, at: context.at, by: context.actor }));
  return { ...record, revision: record.revision + 1, updated_at: context.at, history: [...record.history, ...stamped] };
}

function liveRecord(record: ModelRecord | undefined, name: string): Result<ModelRecord> {
  if (!record || record.deleted_at !== undefined)
    return err(new ModelgateError("not_found", `No model named ${name}.`));
  return ok(record);
}

/** The live model and one of its versions, or the 404 that says which is missing. */
function liveVersion(
  current: ModelRecord | undefined,
  name: string,
  version: number,
): Result<{ record: ModelRecord; target: ModelVersion }> {
  const live = liveRecord(current, name);
  if (!live.ok) return live;
  const target = live.value.versions.find((v) => v.version === version);
  if (!target) return err(new ModelgateError("not_found", `Model ${name} has no version ${version}.`));
  return ok({ record: live.value, target });
}

export function emptyRecord(name: string, at: string): ModelRecord {
  return {
    name,
    revision: 0,
    created_at: at,
    updated_at: at,
    last_version: 0,
    policy: DEFAULT_REGISTRY_POLICY,
    aliases: {},
    versions: [],
    history: [],
  };
}

export interface Registration {
  record: ModelRecord;
  version: ModelVersion;
  decision: PolicyDecision;
}

/** A new immutable version; the policy may refuse it or send it straight to Staging. */
export function registerVersion(
  current: ModelRecord | undefined,
  name: string,
  input: RegisterVersionInput,
  context: WriteContext,
): Result<Registration> {
  const base = current ?? emptyRecord(name, context.at);
  const decision = evaluateRegistrationPolicy(base.policy, input.metrics, input.apply_policy);
  if (decision.outcome === "refused") {
    return err(
      new ModelgateError("policy_rejected", `${decision.reason}; nothing was registered.`, [
        { field: `metrics.${decision.metric}`, message: decision.reason },
      ]),
    );
  }
  const { apply_policy: _applyPolicy, formats, memory_mb, ...fields } = input;
  const number = base.last_version + 1;
  const stage: Stage = decision.outcome === "staged" ? "Staging" : "None";
  const version: ModelVersion = {
    ...fields,
    name,
    version: number,
    stage,
    formats: formats ?? [fields.artifact.format],
    memory_mb: memory_mb ?? estimateModelMemoryMb(fields.artifact.bytes),
    metadata_revision: 1,
    created_at: context.at,
    created_by: context.actor,
    updated_at: context.at,
  };
  const events: NewEvent[] = [
    { action: "registered", version: number, from: null, to: "None", reason: decision.reason, metadata_revision: 1 },
  ];
  if (stage === "Staging")
    events.push({ action: "stage_changed", version: number, from: "None", to: stage, reason: decision.reason });
  const { deleted_at: _deletedAt, ...revived } = base;
  const record = withEvents(
    { ...revived, last_version: number, versions: [...base.versions, version] },
    context,
    events,
  );
  return ok({ record, version, decision });
}

export interface StageChangeInput {
  version: number;
  stage: Stage;
  archiveExisting: boolean;
  reason?: string | undefined;
}

/**
 * Moves a version to a stage. Promoting to Production archives the previous Production
 * version unless told not to; both moves are recorded. A no-op change writes nothing.
 */
export function changeStage(
  current: ModelRecord | undefined,
  name: string,
  change: StageChangeInput,
  context: WriteContext,
): Result<ModelRecord> {
  const found = liveVersion(current, name, change.version);
  if (!found.ok) return found;
  const { record, target } = found.value;
  if (target.stage === change.stage) return ok(record);
  const events: NewEvent[] = [
    {
      action: "stage_changed",
      version: change.version,
      from: target.stage,
      to: change.stage,
      reason: change.reason,
    },
  ];
  const versions = record.versions.map((v) => {
    if (v.version === change.version) return { ...v, stage: change.stage, updated_at: context.at };
    if (change.stage === "Production" && change.archiveExisting && v.stage === "Production") {
      events.push({
        action: "stage_changed",
        version: v.version,
        from: "Production",
        to: "Archived",
        reason: `superseded by version ${change.version}`,
      });
      return { ...v, stage: "Archived" as const, updated_at: context.at };
    }
    return v;
  });
  return ok(withEvents({ ...record, versions }, context, events));
}

export function setAlias(
  current: ModelRecord | undefined,
  name: string,
  alias: string,
  change: { version: number; reason?: string | undefined },
  context: WriteContext,
): Result<ModelRecord> {
  const found = liveVersion(current, name, change.version);
  if (!found.ok) return found;
  const { record } = found.value;
  const previous = record.aliases[alias];
  if (previous === change.version) return ok(record);
  return ok(
    withEvents({ ...record, aliases: { ...record.aliases, [alias]: change.version } }, context, [
      {
        action: "alias_set",
        alias,
        version: change.version,
        from: previous === undefined ? null : String(previous),
        to: String(change.version),
        reason: change.reason,
      },
    ]),
  );
}

export function removeAlias(
  current: ModelRecord | undefined,
  name: string,
  alias: string,
  reason: string | undefined,
  context: WriteContext,
): Result<ModelRecord> {
  const live = liveRecord(current, name);
  if (!live.ok) return live;
  const record = live.value;
  const previous = record.aliases[alias];
  if (previous === undefined) return err(new ModelgateError("not_found", `Model ${name} has no alias ${alias}.`));
  const { [alias]: _removed, ...aliases } = record.aliases;
  return ok(
    withEvents({ ...record, aliases }, context, [
      { action: "alias_removed", alias, version: previous, from: String(previous), to: null, reason },
    ]),
  );
}

export interface MetadataEdit {
  record: ModelRecord;
  version: ModelVersion;
  metadata: VersionMetadata;
}

/** A metadata edit: a new metadata revision of the version; the registration is untouched. */
export function patchMetadata(
  current: ModelRecord | undefined,
  name: string,
  number: number,
  patch: VersionMetadataPatch,
  context: WriteContext,
): Result<MetadataEdit> {
  const found = liveVersion(current, name, number);
  if (!found.ok) return found;
  const { record: live, target } = found.value;
  const metadata = applyMetadataPatch(versionMetadataOf(target), patch);
  if (!metadata.ok) return metadata;
  const revision = target.metadata_revision + 1;
  const cleared = Object.fromEntries(Object.keys(versionMetadataOf(target)).map((key) => [key, undefined]));
  const version: ModelVersion = {
    ...target,
    ...cleared,
    ...metadata.value,
    metadata_revision: revision,
    updated_at: context.at,
  };
  const versions = live.versions.map((v) => (v.version === number ? version : v));
  const record = withEvents({ ...live, versions }, context, [
    {
      action: "metadata_updated",
      version: number,
      metadata_revision: revision,
      reason:
        patch.reason ??
        `changed ${Object.keys(patch)
          .filter((key) => key !== "reason")
          .join(", ")}`,
    },
  ]);
  return ok({ record, version, metadata: metadata.value });
}

export interface Deletion {
  record: ModelRecord;
  removed: ModelVersion[];
}

function refuseProduction(versions: ModelVersion[], force: boolean, what: string): Result<void> {
  const serving = versions.find((v) => v.stage === "Production");
  if (serving && !force) {
    return err(
      new ModelgateError(
        "conflict",
        `${what} has version ${serving.version} in Production; promote another version first or pass force=true.`,
      ),
    );
  }
  return ok(undefined);
}

/** Removes one version (and aliases pointing at it); its number is never reused. */
export function deleteVersion(
  current: ModelRecord | undefined,
  name: string,
  number: number,
  options: { force: boolean; purge: boolean; reason?: string | undefined },
  context: WriteContext,
): Result<Deletion> {
  const found = liveVersion(current, name, number);
  if (!found.ok) return found;
  const { record: live, target } = found.value;
  const allowed = refuseProduction([target], options.force, `Model ${name}`);
  if (!allowed.ok) return allowed;
  const aliases = Object.fromEntries(Object.entries(live.aliases).filter(([, v]) => v !== number));
  const events: NewEvent[] = Object.keys(live.aliases)
    .filter((alias) => !(alias in aliases))
    .map((alias) => ({
      action: "alias_removed",
      alias,
      version: number,
      from: String(number),
      to: null,
      reason: "version deleted",
    }));
  events.push({
    action: "version_deleted",
    version: number,
    from: target.stage,
    to: "Deleted",
    reason: options.reason,
    purged: options.purge,
  });
  const versions = live.versions.filter((v) => v.version !== number);
  return ok({ record: withEvents({ ...live, versions, aliases }, context, events), removed: [target] });
}

/** Removes the model; its record stays as a tombstone holding the history. */
export function deleteModel(
  current: ModelRecord | undefined,
  name: string,
  options: { force: boolean; purge: boolean; reason?: string | undefined },
  context: WriteContext,
): Result<Deletion> {
  const live = liveRecord(current, name);
  if (!live.ok) return live;
  const allowed = refuseProduction(live.value.versions, options.force, `Model ${name}`);
  if (!allowed.ok) return allowed;
  const record = withEvents({ ...live.value, versions: [], aliases: {}, deleted_at: context.at }, context, [
    {
      action: "model_deleted",
      from: null,
      to: "Deleted",
      reason: options.reason ?? `removed versions ${live.value.versions.map((v) => v.version).join(", ") || "(none)"}`,
      purged: options.purge,
    },
  ]);
  return ok({ record, removed: live.value.versions });
}

/** Sets the model's policy; allowed before the first version so auto-registration uses it. */
export function setPolicy(
  current: ModelRecord | undefined,
  name: string,
  policy: RegistryPolicy,
  reason: string | undefined,
  context: WriteContext,
): Result<ModelRecord> {
  const base = current ?? emptyRecord(name, context.at);
  return ok(
    withEvents({ ...base, policy }, context, [
      { action: "policy_updated", from: JSON.stringify(base.policy), to: JSON.stringify(policy), reason },
    ]),
  );
}
