import { DurableObject } from "cloudflare:workers";
import {
  type AliasRequest,
  type DeleteQuery,
  err,
  type ModelFile,
  ModelgateError,
  type ModelRecord,
  type ModelVersion,
  ok,
  type PolicyDecision,
  type RegisterVersionInput,
  type RegistryPolicy,
  type Result,
  type VersionMetadataPatch,
  type VersionSearchPage,
  type VersionSearchQuery,
} from "@modelgate/shared";
import type { ArtifactPurger, ArtifactVerifier } from "../artifacts/artifact-verifier.js";
import { artifactStoreFromBindings } from "../artifacts/s3-artifact-store.js";
import type { EdgeBindings } from "../env.js";
import { RegistryDocuments } from "./registry-documents.js";
import {
  changeStage,
  type Deletion,
  deleteModel,
  deleteVersion,
  patchMetadata,
  registerVersion,
  removeAlias,
  type StageChangeInput,
  setAlias,
  setPolicy,
  type WriteContext,
} from "./registry-mutations.js";
import { RegistrySearchIndex } from "./search-index.js";
import { toWire, type WireResult } from "./wire-result.js";

/** Another writer (not through this object) won the compare-and-swap; re-read and retry. */
const MAX_CONFLICT_RETRIES = 8;

interface Mutation<T> {
  record: ModelRecord;
  result: T;
  /** Objects the new record refers to, written before the record itself. */
  before?: () => Promise<void>;
}

/**
 * The one writer of the registry (a single instance, `idFromName("registry")`). Every write
 * for every model passes through `serialize`, so concurrent conflicting writers (promotions,
 * edits, registrations of the same model) are applied one after another and every
 * acknowledged write is in R2 — and in the search index beside it — before the caller hears
 * back. Reads of one model go straight to R2; searches come here.
 */
export class RegistryCoordinator extends DurableObject<EdgeBindings> {
  private readonly documents: RegistryDocuments;
  private readonly index: RegistrySearchIndex;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: EdgeBindings) {
    super(ctx, env);
    this.documents = new RegistryDocuments(env.REGISTRY);
    this.index = new RegistrySearchIndex(ctx.storage.sql, (fn) => ctx.storage.transactionSync(fn));
    ctx.blockConcurrencyWhile(async () => {
      if (!this.index.isBuilt()) await this.rebuildIndex();
    });
  }

  /** Recreates the search index from the R2 documents (e.g. after the index was lost). */
  async rebuildIndex(): Promise<{ models: number; versions: number }> {
    this.index.clear();
    let versions = 0;
    const names = await this.documents.listModelNames();
    for (const name of names) {
      const stored = await this.documents.readModel(name);
      if (!stored) continue;
      this.index.replaceModel(stored.record);
      versions += stored.record.versions.length;
    }
    this.index.markBuilt(new Date().toISOString());
    return { models: names.length, versions };
  }

  async reindex(): Promise<WireResult<{ models: number; versions: number }>> {
    return this.serialize(async () => ok(await this.rebuildIndex())).then(toWire);
  }

  search(query: VersionSearchQuery): WireResult<VersionSearchPage> {
    return toWire(this.index.search(query));
  }

  async register(
    name: string,
    input: RegisterVersionInput,
    actor: string,
  ): Promise<WireResult<{ version: ModelVersion; policy: PolicyDecision }>> {
    // Hashing a large artifact takes a while: do it before taking the write lock.
    const verified = await this.artifactStore().verify(input.artifact);
    if (!verified.ok) return toWire(verified);
    // A tokenizer's files are checked the same way: a worker must find them exactly as declared.
    for (const [field, file] of tokenizerFiles(input)) {
      const checked = await this.artifactStore().verify(file);
      if (!checked.ok) return toWire(err(withFieldPrefix(checked.error, field)));
    }
    return toWire(
      await this.write(name, actor, (current, context) => {
        const registration = registerVersion(current, name, input, context);
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
        // Content-addressed artifacts may be shared: only delete ones no live version uses.
        const store = this.artifactStore();
        for (const version of deletion.value) {
          const { sha256 } = version.artifact;
          if (purged.includes(sha256) || this.index.countArtifactUsers(sha256) > 0) continue;
          const result = await store.purge(version.artifact);
          if (!result.ok) return result;
          purged.push(sha256);
        }
      }
      return ok({ removed: deletion.value.map((v) => v.version), purged });
    });
  }

  private artifactStore(): ArtifactVerifier & ArtifactPurger {
    return artifactStoreFromBindings(this.env);
  }

  /** Runs `task` after every earlier task has finished: one write at a time. */
  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.tail.then(task, task);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private write<T>(
    name: string,
    actor: string,
    mutate: (current: ModelRecord | undefined, context: WriteContext) => Result<Mutation<T>>,
  ): Promise<Result<T>> {
    return this.serialize(() => this.writeUnlocked(name, actor, mutate));
  }

  /** Read → mutate → dependent objects → conditional put → index. Call only inside serialize. */
  private async writeUnlocked<T>(
    name: string,
    actor: string,
    mutate: (current: ModelRecord | undefined, context: WriteContext) => Result<Mutation<T>>,
  ): Promise<Result<T>> {
    for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
      const stored = await this.documents.readModel(name);
      const context = { actor, at: new Date().toISOString() };
      const mutation = mutate(stored?.record, context);
      if (!mutation.ok) return mutation;
      const { record, result, before } = mutation.value;
      if (stored && record === stored.record) return ok(result);
      await before?.();
      if (await this.documents.writeModel(record, stored?.etag)) {
        this.index.replaceModel(record);
        return ok(result);
      }
    }
    return err(new ModelgateError("conflict", `Model ${name} is being changed by another writer; try again.`));
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

/** The artifact checker names `artifact.*`; a tokenizer file's problem names that file's field instead. */
function withFieldPrefix(error: ModelgateError, prefix: string): ModelgateError {
  const renamed = error.fieldErrors?.map((problem) => ({
    ...problem,
    field: problem.field.replace(/^artifact(?=\.|$)/, prefix),
  }));
  return new ModelgateError(error.code, error.message, renamed);
}
