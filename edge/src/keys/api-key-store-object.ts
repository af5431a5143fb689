import { DurableObject } from "cloudflare:workers";
import { type ApiKeyRecord, ApiKeyRecordSchema } from "@modelgate/shared";
import type { EdgeBindings } from "../env.js";

const RECORD_PREFIX = "key:";
const HASH_PREFIX = "sha256:";

/**
 * The API keys, in one strongly consistent place: creating, revoking and rotating a key are
 * single serialized operations, so there is never a moment where a revoked key is still
 * listed as live here. Isolates cache lookups for a few seconds (see stored-key-resolver).
 */
export class ApiKeyStore extends DurableObject<EdgeBindings> {
  async create(record: ApiKeyRecord): Promise<ApiKeyRecord> {
    const valid = ApiKeyRecordSchema.parse(record);
    await this.ctx.storage.put({ [RECORD_PREFIX + valid.id]: valid, [HASH_PREFIX + valid.sha256]: valid.id });
    return valid;
  }

  async findBySha256(sha256: string): Promise<ApiKeyRecord | undefined> {
    const id = await this.ctx.storage.get<string>(HASH_PREFIX + sha256);
    return id === undefined ? undefined : this.get(id);
  }

  async get(id: string): Promise<ApiKeyRecord | undefined> {
    const stored = await this.ctx.storage.get<unknown>(RECORD_PREFIX + id);
    return stored === undefined ? undefined : ApiKeyRecordSchema.parse(stored);
  }

  async list(): Promise<ApiKeyRecord[]> {
    const stored = await this.ctx.storage.list<unknown>({ prefix: RECORD_PREFIX });
    return [...stored.values()]
      .map((value) => ApiKeyRecordSchema.parse(value))
      .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
  }

  /** Idempotent: revoking a revoked key keeps its first revocation time. */
  async revoke(id: string, at: string): Promise<ApiKeyRecord | undefined> {
    const record = await this.get(id);
    if (!record) return undefined;
    if (record.revoked_at !== undefined) return record;
    const revoked = { ...record, revoked_at: at };
    await this.ctx.storage.put(RECORD_PREFIX + id, revoked);
    return revoked;
  }

  /** Replaces a key in one step: the new key is stored and the old one revoked together. */
  async rotate(oldId: string, replacement: ApiKeyRecord, at: string): Promise<ApiKeyRecord | undefined> {
    const old = await this.get(oldId);
    if (!old || old.revoked_at !== undefined) return undefined;
    const valid = ApiKeyRecordSchema.parse(replacement);
    await this.ctx.storage.put({
      [RECORD_PREFIX + oldId]: { ...old, revoked_at: at },
      [RECORD_PREFIX + valid.id]: valid,
      [HASH_PREFIX + valid.sha256]: valid.id,
    });
    return valid;
  }
}

export function apiKeyStoreStub(namespace: DurableObjectNamespace<ApiKeyStore>): DurableObjectStub<ApiKeyStore> {
  return namespace.get(namespace.idFromName("global"));
}
