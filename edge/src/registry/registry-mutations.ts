import {
  applyMetadataPatch,
  DEFAULT_REGISTRY_POLICY,
  err,
  estimateModelMemoryMb,
  evaluateRegistrationPolicy,
  type HistoryEvent,
  type IoContract,
  type IoSource,
  ModelgateError,
  type ModelRecord,
  type ModelVersion,
  ok,
  type PolicyDecision,
  patchedMetadataFields,
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

export type NewEvent = Omit<HistoryEvent, "seq" | "at" | "by">;

export function withEvents(record: ModelRecord, context: WriteContext, events: NewEvent[]): ModelRecord {
  let seq = record.history.at(-1)?.seq ?? 0;
  const stamped = events.map((event) => ({ ...event, seq: ++seq, at: context.at, by: context.actor }));
  return { ...record, revision: record.revision + 1, updated_at: context.at, history: [...record.history, ...stamped] };
}

export function liveRecord(record: ModelRecord | undefined, name: string): Result<ModelRecord> {
  if (!record || record.deleted_at !== undefined)
    return err(new ModelgateError("not_found", `No model named ${name}.`));
  return ok(record);
}

/** The live model and one of its versions, or the 404 that says which is missing. */
export function liveVersion(
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
  input: RegisterVersionInput & { io: IoContract; io_source: IoSource },
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
  const expected = patch.expected_metadata_revision;
  if (expected !== undefined && expected !== target.metadata_revision) {
    return err(
      new ModelgateError(
        "conflict",
        `${name}@${number} is at metadata revision ${target.metadata_revision}, not ${expected}: another edit landed since it was read. Read it again and re-apply the change.`,
        [
          {
            field: "expected_metadata_revision",
            message: `is ${expected}; the version is at ${target.metadata_revision}`,
          },
        ],
      ),
    );
  }
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
      reason: patch.reason ?? `changed ${patchedMetadataFields(patch).join(", ")}`,
    },
  ]);
  return ok({ record, version, metadata: metadata.value });
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
