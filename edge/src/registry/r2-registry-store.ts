import {
  err,
  estimateModelMemoryMb,
  ModelgateError,
  type ModelRecord,
  ModelRecordSchema,
  type ModelVersion,
  ok,
  type RegisterVersionRequest,
  type Result,
} from "@modelgate/shared";
import type { RegistryStore } from "./registry-store.js";
import { applyStageChange } from "./stage-transitions.js";

const MODEL_PREFIX = "registry/models/";
/** Enough for bursts of conflicting writers; each retry re-reads the latest record. */
const MAX_WRITE_ATTEMPTS = 24;

const modelKey = (name: string) => `${MODEL_PREFIX}${name}.json`;

/**
 * One R2 object per model holding all its versions, written with conditional puts (etag
 * compare-and-swap): two writers never overwrite each other, and a failed validation never
 * reaches storage, so there is no half-written record.
 */
export class R2RegistryStore implements RegistryStore {
  constructor(
    private readonly bucket: R2Bucket,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async listModels(): Promise<ModelRecord[]> {
    const keys: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.bucket.list({ prefix: MODEL_PREFIX, cursor, limit: 1000 });
      for (const object of page.objects) keys.push(object.key);
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    const records = await Promise.all(keys.map(async (key) => (await this.read(key))?.record));
    return records.filter((r): r is ModelRecord => r !== undefined).sort((a, b) => a.name.localeCompare(b.name));
  }

  async getModel(name: string): Promise<ModelRecord | undefined> {
    return (await this.read(modelKey(name)))?.record;
  }

  async registerVersion(name: string, request: RegisterVersionRequest, actor: string): Promise<Result<ModelVersion>> {
    let created: ModelVersion | undefined;
    const result = await this.update(name, (current) => {
      const now = this.clock().toISOString();
      const record: ModelRecord = current ?? { name, created_at: now, updated_at: now, versions: [] };
      const nextVersion = Math.max(0, ...record.versions.map((v) => v.version)) + 1;
      created = {
        name,
        version: nextVersion,
        stage: "None",
        kind: request.kind,
        artifact: request.artifact,
        io: request.io,
        tokenizer: request.tokenizer,
        categories: request.categories,
        primary_category: request.primary_category,
        benchmark_scores: request.benchmark_scores,
        metrics: request.metrics,
        runtime_config: request.runtime_config,
        memory_mb: request.memory_mb ?? estimateModelMemoryMb(request.artifact.bytes),
        description: request.description,
        created_at: now,
        created_by: actor,
        stage_history: [],
      };
      return ok({ ...record, updated_at: now, versions: [...record.versions, created] });
    });
    if (!result.ok) return result;
    if (!created) return err(new ModelgateError("internal", "registration produced no version"));
    return ok(created);
  }

  async changeStage(
    name: string,
    version: number,
    change: { stage: ModelVersion["stage"]; archiveExisting: boolean; reason?: string | undefined },
    actor: string,
  ): Promise<Result<ModelRecord>> {
    return this.update(name, (current) => {
      if (!current) return err(new ModelgateError("not_found", `No model named ${name}.`));
      return applyStageChange(current, { ...change, version, actor, at: this.clock().toISOString() });
    });
  }

  private async read(key: string): Promise<{ record: ModelRecord; etag: string } | undefined> {
    const object = await this.bucket.get(key);
    if (!object) return undefined;
    const record = ModelRecordSchema.parse(await object.json());
    return { record, etag: object.etag };
  }

  /** Read → mutate → conditional put, retried on conflict with a small jittered backoff. */
  private async update(
    name: string,
    mutate: (current: ModelRecord | undefined) => Result<ModelRecord>,
  ): Promise<Result<ModelRecord>> {
    const key = modelKey(name);
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const current = await this.read(key);
      const next = mutate(current?.record);
      if (!next.ok) return next;
      if (current && next.value === current.record) return next;
      const body = JSON.stringify(ModelRecordSchema.parse(next.value));
      const onlyIf = current ? { etagMatches: current.etag } : new Headers({ "if-none-match": "*" });
      const written = await this.bucket.put(key, body, {
        onlyIf,
        httpMetadata: { contentType: "application/json" },
      });
      if (written) return next;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(200, 5 * 2 ** attempt)));
    }
    return err(new ModelgateError("conflict", `Too many concurrent writes to model ${name}; try again.`));
  }
}
