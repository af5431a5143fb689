/**
 * Per-isolate caches on the inference hot path. Without them every routed request reads the
 * model's record from R2 and asks the WorkerPool Durable Object for the fleet before it can
 * forward (measured: most of the edge's added latency under `wrangler dev`). Both are short-lived
 * and bounded in staleness by their TTL (`MODELGATE_ROUTING_RECORD_CACHE_MS`,
 * `MODELGATE_ROUTING_VIEW_CACHE_MS`; 0 turns a cache off), and the isolate that makes a change
 * (a registry write, a heartbeat, a flag flip, a failed forward) drops the cache it touched at
 * once, so changes are visible immediately where they were made and within the TTL elsewhere.
 */
import type { ModelRecord, ModelVersion } from "@modelgate/shared";
import type { WorkerPool } from "../pool/worker-pool-object.js";

type RoutingView = Awaited<ReturnType<WorkerPool["routingView"]>>;

interface Entry<V> {
  value: Promise<V>;
  expiresAt: number;
}

/** A TTL cache whose loads are shared: concurrent misses for one key cost one load. */
export class IsolateCache<K, V> {
  readonly #entries = new Map<K, Entry<V>>();
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  get(key: K, ttlMs: number, load: () => Promise<V>, now = Date.now()): Promise<V> {
    if (ttlMs <= 0) return load();
    const entry = this.#entries.get(key);
    if (entry !== undefined && entry.expiresAt > now) return entry.value;
    if (this.#entries.size >= this.#maxEntries) this.#entries.clear();
    const value = load();
    this.#entries.set(key, { value, expiresAt: now + ttlMs });
    // A failed load is not cached: the next request tries again.
    value.catch(() => {
      if (this.#entries.get(key)?.value === value) this.#entries.delete(key);
    });
    return value;
  }

  clear(): void {
    this.#entries.clear();
  }
}

/** Live model records by name (undefined: no such live model). */
export const modelRecordCache = new IsolateCache<string, ModelRecord | undefined>(1024);
/** Production versions of a kind in a category (`auto:` candidates), by `kind:category`. */
export const categoryCandidatesCache = new IsolateCache<string, ModelVersion[]>(256);
/** The fleet as the pool last reported it (workers, circuits, flags): one entry. */
export const routingViewCache = new IsolateCache<"fleet", RoutingView>(1);

/** After a write in this isolate, the next read sees it. */
export function forgetRoutingState(what: { records?: boolean; fleet?: boolean }): void {
  if (what.records) {
    modelRecordCache.clear();
    categoryCandidatesCache.clear();
  }
  if (what.fleet) routingViewCache.clear();
}
