import { DurableObject } from "cloudflare:workers";
import { err, type ModelFile, ModelgateError, type ModelRecord, ok, type Result } from "@modelgate/shared";
import type { ArtifactPurger, ArtifactVerifier } from "../artifacts/artifact-verifier.js";
import { artifactStoreFromBindings } from "../artifacts/s3-artifact-store.js";
import type { EdgeBindings } from "../env.js";
import { RegistryDocuments } from "./registry-documents.js";
import type { WriteContext } from "./registry-mutations.js";
import { RegistrySearchIndex } from "./search-index.js";

/** Another writer (not through this object) won the compare-and-swap; re-read and retry. */
const MAX_CONFLICT_RETRIES = 8;

export interface Mutation<T> {
  record: ModelRecord;
  result: T;
  /** Objects the new record refers to, written before the record itself. */
  before?: () => Promise<void>;
}

export type Mutate<T> = (current: ModelRecord | undefined, context: WriteContext) => Result<Mutation<T>>;

/**
 * The write machinery of the registry coordinator (registry-coordinator-object.ts holds the
 * operations): one write at a time through `serialize`, each a read → mutate → dependent
 * objects → conditional put → search index update, so every acknowledged write is in R2 and
 * in the index before the caller hears back.
 */
export abstract class RegistryWriter extends DurableObject<EdgeBindings> {
  protected readonly documents: RegistryDocuments;
  protected readonly index: RegistrySearchIndex;
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

  protected artifactStore(): ArtifactVerifier & ArtifactPurger {
    return artifactStoreFromBindings(this.env);
  }

  /**
   * Checks files in object storage before the write lock (hashing a large one takes a while);
   * a problem names the request field of the file (`formats.int8.artifact.sha256`).
   */
  protected async verifyFiles(
    files: readonly [string, Pick<ModelFile, "uri" | "sha256" | "bytes">][],
  ): Promise<Result<void>> {
    for (const [field, file] of files) {
      const checked = await this.artifactStore().verify(file);
      if (!checked.ok) return err(withFieldPrefix(checked.error, field));
    }
    return ok(undefined);
  }

  /** Runs `task` after every earlier task has finished: one write at a time. */
  protected serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.tail.then(task, task);
    this.tail = run.catch(() => undefined);
    return run;
  }

  protected write<T>(name: string, actor: string, mutate: Mutate<T>): Promise<Result<T>> {
    return this.serialize(() => this.writeUnlocked(name, actor, mutate));
  }

  /** Read → mutate → dependent objects → conditional put → index. Call only inside serialize. */
  protected async writeUnlocked<T>(name: string, actor: string, mutate: Mutate<T>): Promise<Result<T>> {
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

/** The artifact checker names `artifact.*`; another file's problem names that file's field instead. */
function withFieldPrefix(error: ModelgateError, prefix: string): ModelgateError {
  if (prefix === "artifact") return error;
  const renamed = error.fieldErrors?.map((problem) => ({
    ...problem,
    field: problem.field.replace(/^artifact(?=\.|$)/, prefix),
  }));
  return new ModelgateError(error.code, error.message, renamed);
}
