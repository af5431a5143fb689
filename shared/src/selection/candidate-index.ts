/**
 * What routing reads of each candidate version, laid out as typed columns once per candidate
 * list (and per configuration), so a decision over 1,000 versions walks flat arrays instead of
 * 1,000 objects and their nested records. The index is cached by the array's identity and
 * checked element by element on every use: pass the same array for the same candidates (e.g.
 * one per category and registry revision), or a new array of the same version objects, and it
 * is built once. Versions are treated as immutable values, as the registry writes them.
 */
import type { ModelVersion, Stage } from "../model-version.js";
import {
  benchmarkScore,
  multiCategoryConfidence,
  type PreparedSelection,
  primaryCategoryOf,
} from "./task-categories.js";

/** With benchmark scoring off: Production first, then Staging, None, Archived. */
export const STAGE_PREFERENCE: Readonly<Record<Stage, number>> = {
  Production: 1,
  Staging: 0.5,
  None: 0.25,
  Archived: 0.1,
};

/** A halt head is an ONNX output named `halt_logits` (seed 000's [continue, halt] logits). */
export function hasHaltHead(version: Pick<ModelVersion, "io">): boolean {
  for (const output of version.io.outputs) if (output.name === "halt_logits") return true;
  return false;
}

/**
 * Latent mode needs `<bot>`/`<eot>` in a causal LM's vocabulary. A byte-level tokenizer has
 * them when its vocabulary has room after BOS and EOS (the worker's convention: 256 BOS,
 * 257 EOS, 258 `<bot>`, 259 `<eot>`); an HF tokenizer's vocabulary is not in the registry, so
 * the version must declare `runtime_config.latent_mode_enabled: true`. An explicit `false`
 * there rules latent mode out for either.
 */
export function supportsLatentMode(version: Pick<ModelVersion, "kind" | "tokenizer" | "runtime_config">): boolean {
  if (version.kind !== "causal-lm" || version.tokenizer === undefined) return false;
  const declared = version.runtime_config?.latent_mode_enabled;
  if (declared !== undefined) return declared;
  const tokenizer = version.tokenizer;
  return (
    tokenizer.type === "byte-level" &&
    Math.max(tokenizer.bos_token_id, tokenizer.eos_token_id) + 2 < tokenizer.vocab_size
  );
}

function compareTimestampsDesc(a: string, b: string): number {
  if (a === b) return 0;
  // Same-format ISO strings (what the registry writes) order as text; otherwise parse them.
  if (a.length === b.length) return a < b ? 1 : -1;
  return Date.parse(b) - Date.parse(a);
}

/**
 * Deterministic order between two versions with the same model score: the most recently
 * updated first (a promotion updates `updated_at`, so with benchmark scoring off this is "the
 * most recently promoted Production version"), then by name, then the highest version number.
 */
export function compareVersionTie(a: ModelVersion, b: ModelVersion): number {
  const byUpdate = compareTimestampsDesc(a.updated_at, b.updated_at);
  if (byUpdate !== 0) return byUpdate;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return b.version - a.version;
}

export const CAPABILITY_HALT_HEAD = 1;
export const CAPABILITY_LATENT_MODE = 2;

/** Membership values in `CategoryColumns.membership`. */
export const NOT_IN_CATEGORY = 0;
export const SECONDARY_CATEGORY = 1;
export const PRIMARY_CATEGORY = 2;

export interface CategoryColumns {
  /** `NOT_IN_CATEGORY`, `SECONDARY_CATEGORY` or `PRIMARY_CATEGORY` (the version's primary). */
  readonly membership: Uint8Array;
  /** Benchmark score 0–1 for the category (`benchmarkScore`). */
  readonly benchmark: Float64Array;
  /** Seed 002's confidence for the category (0 where the version does not list it). */
  readonly confidence: Float64Array;
}

const POSITION_RADIX = 2 ** 20;

/** Positions ordered by memory (ties by position): a native sort of `memory × 2^20 + position`. */
function orderByMemory(memoryMb: Float64Array): Int32Array {
  const count = memoryMb.length;
  const order = new Int32Array(count);
  if (count >= POSITION_RADIX) {
    for (let i = 0; i < count; i++) order[i] = i;
    return order.sort((a, b) => (memoryMb[a] ?? 0) - (memoryMb[b] ?? 0) || a - b);
  }
  // memory_mb is an integer of at most 2^20, so the key stays an exact integer below 2^40.
  const keys = new Float64Array(count);
  for (let i = 0; i < count; i++) keys[i] = (memoryMb[i] ?? 0) * POSITION_RADIX + i;
  keys.sort();
  for (let j = 0; j < count; j++) order[j] = (keys[j] ?? 0) % POSITION_RADIX;
  return order;
}

export class CandidateIndex {
  readonly versions: readonly ModelVersion[];
  readonly memoryMb: Float64Array;
  readonly stagePreference: Float64Array;
  readonly capabilities: Uint8Array;
  /** `max_context_tokens`, 0 where the version does not say. */
  readonly contextTokens: Float64Array;
  /** Positions ordered by `memory_mb`, smallest first: routing walks GPUs and versions together. */
  readonly byMemory: Int32Array;
  readonly #versionNumber: Int32Array;
  readonly #firstOfName = new Map<string, number>();
  readonly #nextOfName: Int32Array;
  readonly #categories = new Map<string, CategoryColumns>();
  readonly #prepared: PreparedSelection;

  constructor(candidates: readonly ModelVersion[], prepared: PreparedSelection) {
    const count = candidates.length;
    this.versions = candidates.slice();
    this.#prepared = prepared;
    this.memoryMb = new Float64Array(count);
    this.stagePreference = new Float64Array(count);
    this.capabilities = new Uint8Array(count);
    this.contextTokens = new Float64Array(count);
    this.#versionNumber = new Int32Array(count);
    this.#nextOfName = new Int32Array(count);
    // Backwards, so each name's chain starts at its first occurrence.
    for (let i = count - 1; i >= 0; i--) {
      const version = candidates[i] as ModelVersion;
      this.memoryMb[i] = version.memory_mb;
      this.stagePreference[i] = STAGE_PREFERENCE[version.stage];
      this.capabilities[i] =
        (hasHaltHead(version) ? CAPABILITY_HALT_HEAD : 0) | (supportsLatentMode(version) ? CAPABILITY_LATENT_MODE : 0);
      this.contextTokens[i] = version.max_context_tokens ?? 0;
      this.#versionNumber[i] = version.version;
      this.#nextOfName[i] = this.#firstOfName.get(version.name) ?? -1;
      this.#firstOfName.set(version.name, i);
    }
    this.byMemory = orderByMemory(this.memoryMb);
  }

  /** Whether this index describes exactly these versions, in this order. */
  describes(candidates: readonly ModelVersion[]): boolean {
    const versions = this.versions;
    if (versions.length !== candidates.length) return false;
    for (let i = 0; i < versions.length; i++) if (versions[i] !== candidates[i]) return false;
    return true;
  }

  /** Position of the candidate with this name, version number and artifact sha256; -1 if none. */
  find(name: string, version: number, sha256: string): number {
    let i = this.#firstOfName.get(name) ?? -1;
    while (i >= 0) {
      if (this.#versionNumber[i] === version && this.versions[i]?.artifact.sha256 === sha256) return i;
      i = this.#nextOfName[i] ?? -1;
    }
    return -1;
  }

  /** Membership, benchmark score and confidence for one category, computed on first use. */
  columns(category: string): CategoryColumns {
    let columns = this.#categories.get(category);
    if (columns !== undefined) return columns;
    const count = this.versions.length;
    const { config, categories } = this.#prepared;
    const weights = categories.get(category);
    columns = {
      membership: new Uint8Array(count),
      benchmark: new Float64Array(count),
      confidence: new Float64Array(count),
    };
    for (let i = 0; i < count; i++) {
      const version = this.versions[i] as ModelVersion;
      columns.benchmark[i] = benchmarkScore(version.benchmark_scores, weights, config.unscored_benchmark_score);
      if (!version.categories.includes(category)) continue;
      columns.membership[i] = primaryCategoryOf(version) === category ? PRIMARY_CATEGORY : SECONDARY_CATEGORY;
      columns.confidence[i] = multiCategoryConfidence(version, category, config.confidence);
    }
    this.#categories.set(category, columns);
    return columns;
  }
}

interface IndexCache {
  byArray: WeakMap<readonly ModelVersion[], CandidateIndex>;
  /** The last few indexes built, found again when a new array holds the same versions. */
  recent: CandidateIndex[];
}

const RECENT_INDEXES = 8;
const caches = new WeakMap<PreparedSelection, IndexCache>();

/**
 * The index of these candidates under this configuration: cached by the array, or found among
 * the last few built when a new array holds the same version objects in the same order (e.g.
 * a fresh `filter` over a cached registry), else built.
 */
export function candidateIndexFor(candidates: readonly ModelVersion[], prepared: PreparedSelection): CandidateIndex {
  let cache = caches.get(prepared);
  if (cache === undefined) {
    cache = { byArray: new WeakMap(), recent: [] };
    caches.set(prepared, cache);
  }
  let index = cache.byArray.get(candidates);
  if (index?.describes(candidates)) return index;
  index = cache.recent.find((recent) => recent.describes(candidates));
  if (index === undefined) {
    index = new CandidateIndex(candidates, prepared);
    cache.recent.push(index);
    if (cache.recent.length > RECENT_INDEXES) cache.recent.shift();
  }
  cache.byArray.set(candidates, index);
  return index;
}
