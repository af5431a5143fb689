import { type ApiKeyRecord, isApiKeyUsable } from "@modelgate/shared";
import type { EdgeBindings, Principal } from "../env.js";
import { apiKeyStoreStub } from "./api-key-store-object.js";

/**
 * How long an isolate trusts what it looked up. Revocation must take effect everywhere within
 * 5 s; 2 s of caching keeps the cached path free of a Durable Object call on busy keys.
 */
export const KEY_CACHE_TTL_MS = 2000;
const MAX_CACHED_KEYS = 10_000;

const cache = new Map<string, { record: ApiKeyRecord | null; fetchedAt: number }>();

function principalFromKey(record: ApiKeyRecord): Principal {
  return {
    id: record.id,
    kind: "api-key",
    scopes: record.scopes,
    rpm: record.rpm,
    maxTier: record.max_tier,
  };
}

/** Looks a presented key up by its sha256 (hex); unknown, revoked and expired keys resolve to nothing. */
export async function resolveStoredKey(
  sha256: string,
  env: EdgeBindings,
  now: number = Date.now(),
): Promise<Principal | undefined> {
  let entry = cache.get(sha256);
  if (!entry || now - entry.fetchedAt > KEY_CACHE_TTL_MS) {
    const record = (await apiKeyStoreStub(env.API_KEYS).findBySha256(sha256)) ?? null;
    if (cache.size >= MAX_CACHED_KEYS) cache.clear();
    entry = { record, fetchedAt: now };
    cache.set(sha256, entry);
  }
  return entry.record && isApiKeyUsable(entry.record, now) ? principalFromKey(entry.record) : undefined;
}

/** Drops a key from this isolate's cache at once (other isolates follow within the TTL). */
export function forgetCachedKey(sha256: string): void {
  cache.delete(sha256);
}
