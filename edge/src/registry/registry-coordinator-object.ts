import {
  type AliasRequest,
  type DeleteQuery,
  type EvaluationLink,
  type ModelFile,
  type ModelRecord,
  type ModelVersion,
  ok,
  type PolicyDecision,
  type RegisterVersionInput,
  type RegistryPolicy,
  type Result,
  type RolloutRequest,
  type RolloutWindowStats,
  resolveIoContract,
  type VersionMetadataPatch,
  type VersionSearchPage,
  type VersionSearchQuery,
} from "@modelgate/shared";
import {
  applyGuardEvaluation,
  controlRollout,
  type RolloutControl,
  startRollout,
} from "../rollouts/rollout-mutations.js";
import {
  type ConversionOutcome,
  recordConversion,
  recordedFormats,
  recordSourceVerification,
  type SourceVerificationOutcome,
} from "./conversion-records.js";
import { recordEvaluation } from "./evaluation-records.js";
import { type Deletion, deleteModel, deleteVersion } from "./registry-deletions.js";
import {
  patchMetadata,
  registerVersion,
  removeAlias,
  setAlias,
  setPolicy,
  type WriteContext,
} from "./registry-mutations.js";
import { RegistryWriter } from "./registry-writer.js";
import { changeStage, type StageChangeInput } from "./stage-change.js";
import { purgeableFiles } from "./version-files.js";
import { toWire, type WireResult } from "./wire-result.js";

/**
 * The one writer of the registry (a single instance, `idFromName("registry")`). Every write
 * for every model passes through `serialize`, so concurrent conflicting writers (promotions,
 * edits, registrations of the same model) are applied one after another and every
 * acknowledged write is in R2 — and in the search index beside it — before the caller hears
 * back. Reads of one model go straight to R2; searches come here.
 */
export class RegistryCoordinator extends RegistryWriter {
  async reindex(): Promise<WireResult<{ models: number; versions: number }>> {
    return this.serialize(async () => ok(await this.rebuildIndex())).then(toWire);
  }

  /** Versions that placement keeps warm somewhere (`serving.placement.min_replicas` > 0). */
  versionsWithReplicas(): ModelVersion[] {
    return this.index.versionsWithReplicas();
  }

  search(query: VersionSearchQuery): WireResult<VersionSearchPage> {
    return toWire(this.index.search(query));
  }

  async register(
    name: string,
    input: RegisterVersionInput,
    actor: string,
  ): Promise<WireResult<{ version: ModelVersion; policy: PolicyDecision }>> {
    // The io contract is read out of the artifact while it is verified; a declared one is checked against it.
    const reading = await this.artifactStore().verifyAndReadIo(input.artifact);
    if (!reading.ok) return toWire(reading);
    const io = resolveIoContract(input.kind, input.io, reading.value);
    if (!io.ok) return toWire(io);
    // A tokenizer's files are checked like the artifact: a worker must find them exactly as declared.
    const verified = await this.verifyFiles(tokenizerFiles(input));
    if (!verified.ok) return toWire(verified);
    const resolved = { ...input, io: io.value.io, io_source: io.value.source };
    return toWire(
      await this.write(name, actor, (current, context) => {
        const registration = registerVersion(current, name, resolved, context);
        if (!registration.ok) return registration;
        const { record, version, decision } = registration.value;
        return ok({
          record,
          result: { version, policy: decision },
          before: async () => {
            // A number is assigned once; if an earlier attempt already wrote it, keep that one.
            await this.documents.putRegistration(version);
          },
        });
      }),
    );
  }

  async changeStage(name: string, change: StageChangeInput, actor: string): Promise<WireResult<ModelRecord>> {
    return toWire(
      await this.write(name, actor, (current, context) => {
        const next = changeStage(current, name, change, context);
        return next.ok ? ok({ record: next.value, result: next.value }) : next;
      }),
    );
  }

  /** Canary rollouts (rollouts/rollout-mutations.ts): serialized with every other write of the model. */
  async startRollout(name: string, request: RolloutRequest, actor: string): Promise<WireResult<ModelRecord>> {
    return this.writeRecord(name, actor, (current, context) => startRollout(current, name, request, context));
  }

  async controlRollout(
    name: string,
    control: RolloutControl,
    reason: string | undefined,
    actor: string,
  ): Promise<WireResult<ModelRecord>> {
    return this.writeRecord(name, actor, (current, context) => controlRollout(current, name, control, reason, context));
  }

  /** A guard verdict over `stats` for rollout `rolloutId` (the rollout guard's alarm). */
  async evaluateRollout(
    name: string,
    rolloutId: string,
    stats: RolloutWindowStats,
    actor: string,
  ): Promise<WireResult<ModelRecord>> {
    return this.writeRecord(name, actor, (current, context) =>
      applyGuardEvaluation(current, name, rolloutId, stats, context),
    );
  }

  private async writeRecord(
    name: string,
    actor: string,
    change: (current: ModelRecord | undefined, context: WriteContext) => Result<ModelRecord>,
  ): Promise<WireResult<ModelRecord>> {
    return toWire(
      await this.write(name, actor, (current, context) => {
        const next = change(current, context);
        return next.ok ? ok({ record: next.value, result: next.value }) : next;
      }),
    );
  }

  /**
   * A finished conversion job's outcome (called by the conversion job queue): the converted
   * artifacts are checked in object storage first, like a registration's, because they will be
   * served; then the version's verification, formats and labels are recorded (conversion-records.ts).
   */
  async recordConversion(
    name: string,
    version: number,
    outcome: ConversionOutcome,
    actor: string,
  ): Promise<WireResult<ModelRecord>> {
    const artifacts = recordedFormats(outcome.formats).map(([target, format]): [string, ModelFile] => [
      `formats.${target}.artifact`,
      format.artifact,
    ]);
    const verified = await this.verifyFiles(artifacts);
    if (!verified.ok) return toWire(verified);
    return toWire(
      await this.write(name, actor, (current, context) => {
        const next = recordConversion(current, name, version, outcome, context);
        if (!next.ok) return next;
        const { record, metadata } = next.value;
        const revision = next.value.version.metadata_revision;
        // New format labels are a metadata revision like a PATCH, so the revision history stays complete.
        const before =
          metadata === undefined
            ? undefined
            : () =>
                this.documents.putMetadataRevision({ name, version, revision, at: context.at, by: actor, metadata });
        return ok({ record, result: record, before });
      }),
    );
  }

  /** A job that only verified the registered original. */
  async recordSourceVerification(
    name: string,
    version: number,
    outcome: SourceVerificationOutcome,
    actor: string,
  ): Promise<WireResult<ModelRecord>> {
    return toWire(
      await this.write(name, actor, (current, context) => {
        const next = recordSourceVerification(current, name, version, outcome, context);
        return next.ok ? ok({ record: next.value, result: next.value }) : next;
      }),
    );
  }

  /** A finished evaluation linked from the version it ran on (evaluation-records.ts). */
  async recordEvaluation(
    name: string,
    version: number,
    link: EvaluationLink,
    actor: string,
  ): Promise<WireResult<ModelRecord>> {
    return toWire(
      await this.write(name, actor, (current, context) => {
        const next = recordEvaluation(current, name, version, link, context);
        return next.ok ? ok({ record: next.value, result: next.value }) : next;
      }),
    );
  }

  async setAlias(name: string, alias: string, request: AliasRequest, actor: string): Promise<WireResult<ModelRecord>> {
    return toWire(
      await this.write(name, actor, (current, context) => {
        const next = setAlias(current, name, alias, request, context);
        return next.ok ? ok({ record: next.value, result: next.value }) : next;
      }),
    );
  }

  async removeAlias(
    name: string,
    alias: string,
    reason: string | undefined,
    actor: string,
  ): Promise<WireResult<ModelRecord>> {
    return toWire(
      await this.write(name, actor, (current, context) => {
        const next = removeAlias(current, name, alias, reason, context);
        return next.ok ? ok({ record: next.value, result: next.value }) : next;
      }),
    );
  }

  async patchMetadata(
    name: string,
    version: number,
    patch: VersionMetadataPatch,
    actor: string,
  ): Promise<WireResult<ModelVersion>> {
    return toWire(
      await this.write(name, actor, (current, context) => {
        const edit = patchMetadata(current, name, version, patch, context);
        if (!edit.ok) return edit;
        const revision = edit.value.version.metadata_revision;
        return ok({
          record: edit.value.record,
          result: edit.value.version,
          before: () =>
            this.documents.putMetadataRevision({
              name,
              version,
              revision,
              at: context.at,
              by: context.actor,
              metadata: edit.value.metadata,
            }),
        });
      }),
    );
  }

  async setPolicy(
    name: string,
    policy: RegistryPolicy,
    reason: string | undefined,
    actor: string,
  ): Promise<WireResult<ModelRecord>> {
    return toWire(
      await this.write(name, actor, (current, context) => {
        const next = setPolicy(current, name, policy, reason, context);
        return next.ok ? ok({ record: next.value, result: next.value }) : next;
      }),
    );
  }

  async deleteVersion(
    name: string,
    version: number,
    options: DeleteQuery,
    actor: string,
  ): Promise<WireResult<{ removed: number[]; purged: string[] }>> {
    return toWire(
      await this.deleteWith(name, actor, options.purge, (current, context) =>
        deleteVersion(current, name, version, options, context),
      ),
    );
  }

  async deleteModel(
    name: string,
    options: DeleteQuery,
    actor: string,
  ): Promise<WireResult<{ removed: number[]; purged: string[] }>> {
    return toWire(
      await this.deleteWith(name, actor, options.purge, (current, context) =>
        deleteModel(current, name, options, context),
      ),
    );
  }

  private async deleteWith(
    name: string,
    actor: string,
    purge: boolean,
    remove: (current: ModelRecord | undefined, context: WriteContext) => Result<Deletion>,
  ): Promise<Result<{ removed: number[]; purged: string[] }>> {
    return this.serialize(async () => {
      const deletion = await this.writeUnlocked(name, actor, (current, context) => {
        const next = remove(current, context);
        return next.ok ? ok({ record: next.value.record, result: next.value.removed }) : next;
      });
      if (!deletion.ok) return deletion;
      const purged: string[] = [];
      if (purge) {
        // Content-addressed objects may be shared (the same weights or report in another
        // version): the index already reflects the deletion, so only objects no live version
        // references are deleted. The record was written first, so a failure here leaves at
        // worst an orphaned object, never a live version pointing at a deleted one.
        const store = this.artifactStore();
        const seen = new Set<string>();
        for (const file of deletion.value.flatMap(purgeableFiles)) {
          if (seen.has(file.uri) || this.index.countFileUsers(file.sha256) > 0) continue;
          seen.add(file.uri);
          const result = await store.purge(file);
          if (!result.ok) return result;
          if (!purged.includes(file.sha256)) purged.push(file.sha256);
        }
      }
      return ok({ removed: deletion.value.map((v) => v.version), purged });
    });
  }
}

/** The tokenizer files a registration declares, with the request field that names each. */
function tokenizerFiles(input: RegisterVersionInput): [string, ModelFile][] {
  const tokenizer = input.tokenizer;
  if (tokenizer?.type !== "hf-tokenizer") return [];
  const files: [string, ModelFile][] = [["tokenizer.tokenizer_json", tokenizer.tokenizer_json]];
  if (tokenizer.tokenizer_config_json) files.push(["tokenizer.tokenizer_config_json", tokenizer.tokenizer_config_json]);
  return files;
}
