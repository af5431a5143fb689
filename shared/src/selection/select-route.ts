/**
 * Issue 5's routing decision: one pure call chooses (model version, worker, GPU) together from
 * the candidates' benchmark scores for the category and the workers' heartbeats, explains itself
 * in one line, and orders one fallback per worker.
 *
 *   score(version, GPU) = model_weight × modelScore(version) + worker_weight × workerScore(GPU)
 *                         + (the GPU already holds the version ? loaded_bonus : 0)
 *
 * The sum is separable, so the best version for a GPU is the best-scoring version that fits on
 * it, or one it already holds. A decision is O(V + G log G + L) instead of O(V × G): GPUs are
 * sorted by how large a model each can take, versions (pre-sorted by memory in the candidate
 * index) drop into the bucket of the smallest GPU that fits them, a running maximum over the
 * buckets gives every GPU its best version, and the L loaded models are looked up by name. The loops read typed columns (see
 * candidate-index.ts) and reuse module-level scratch arrays (the function is synchronous, so
 * calls never overlap); only the returned decision is allocated.
 */
import { z } from "zod";
import { err, ok, type Result } from "../errors.js";
import type { LoadedModel, WorkerState } from "../gpu.js";
import type { ModelVersion } from "../model-version.js";
import { isWorkerLive, type WorkerChoice } from "../select-worker.js";
import type { Placement } from "../tensors/serving-config.js";
import {
  CAPABILITY_HALT_HEAD,
  CAPABILITY_LATENT_MODE,
  candidateIndexFor,
  compareVersionTie,
  NOT_IN_CATEGORY,
  PRIMARY_CATEGORY,
} from "./candidate-index.js";
import { describePlacement, restrictingPlacementOf, workerMatchesPlacement } from "./placement.js";
import { explainDecision, explainFailure, headerSafe, RouteSelectionError } from "./route-explain.js";
import type { SelectionFlags } from "./selection-flags.js";
import {
  type PreparedSelection,
  preparedSelectionFor,
  primaryCategoryOf,
  type SelectionConfig,
} from "./task-categories.js";
import {
  coldLoadMs,
  EXCLUDED_AFTER_INTERVALS,
  expectedServiceMs,
  type Freshness,
  gpuLoadScore,
  heartbeatFreshness,
  latencyScaleFor,
  parseTimestampMs,
  stalenessFactor,
} from "./worker-score.js";

export const RouteConstraintsSchema = z.strictObject({
  /** Only versions whose `memory_mb` is at most this (seed 002's `max_gpu_memory_mb`). */
  max_gpu_memory_mb: z.number().gt(0).optional(),
  requires: z
    .strictObject({
      halt_head: z.boolean().optional(),
      latent_mode: z.boolean().optional(),
      min_context_tokens: z.int().min(1).optional(),
    })
    .optional(),
  /** Pairs whose expected latency (`expectedServiceMs`, plus a cold load) is above this are left out. */
  max_expected_latency_ms: z.number().gt(0).optional(),
});
export type RouteConstraints = z.infer<typeof RouteConstraintsSchema>;

export interface SelectRouteInput {
  /** One version for an explicit target; every servable version of the category for `auto:<category>`. */
  candidates: readonly ModelVersion[];
  /** Set for `auto:<category>`. */
  category?: string | undefined;
  workers: readonly WorkerState[];
  now: number;
  /** A validated configuration (prepared on first use, cached by identity) or `prepareSelection`'s result. */
  config: SelectionConfig | PreparedSelection;
  flags: SelectionFlags;
  constraints?: RouteConstraints | undefined;
}

/** Where to send the request: `WorkerChoice` (what the forwarder takes) plus what the score saw. */
export interface RouteWorker extends WorkerChoice {
  inFlight: number;
  heartbeatAgeMs: number;
  freshness: Exclude<Freshness, "stale">;
  /** `expectedServiceMs`, plus a cold load when the GPU does not hold the version. */
  expectedLatencyMs: number;
}

export interface RouteOption {
  version: ModelVersion;
  worker: RouteWorker;
  score: number;
  modelScore: number;
  /** The GPU's score after the staleness factor (without the loaded bonus). */
  workerScore: number;
}

export interface RouteDecision extends RouteOption {
  category?: string;
  /** Seed 002's multi-category confidence (auto targets with multi_category on). */
  confidence?: number;
  /** Whether the category is the chosen version's primary category (auto targets). */
  primaryCategory?: boolean;
  /** One printable-ASCII line under 300 characters, also sent as `x-modelgate-route-reason`. */
  reason: string;
  /** The best option of every other worker that can serve, best first: one entry per worker. */
  fallbacks: RouteOption[];
}

// ---- scratch space, grown on demand and reused by every call --------------------------------

let workerCapacity = 0;
let workerAgeMs = new Float64Array(0);
let workerServiceMs = new Float64Array(0);
let workerBestScore = new Float64Array(0);
let workerBestSlot = new Int32Array(0);
let workerBestVersion = new Int32Array(0);
let workerBestLoaded = new Uint8Array(0);
let workerOrder = new Int32Array(0);

let slotCapacity = 0;
let slotWorker = new Int32Array(0);
let slotGpu = new Int32Array(0);
let slotScore = new Float64Array(0);
let slotBestFree = new Int32Array(0);
let slotBestLoaded = new Int32Array(0);
let slotSortKeys = new Float64Array(0);
let sortedSlots = new Int32Array(0);
let sortedCaps = new Float64Array(0);
let bucketBest = new Int32Array(0);

let versionCapacity = 0;
let versionScore = new Float64Array(0);

let loadedCapacity = 0;
let loadedSlot = new Int32Array(0);
const loadedModels: LoadedModel[] = [];

/** Sort keys are `capacity × SLOT_RADIX + slot`: exact in a double while both stay in range. */
const SLOT_RADIX = 2 ** 20;
/** Capacities are whole MB (memory_mb is an integer) up to 4 PB; "no limit" becomes this. */
const CAPACITY_LIMIT_MB = 2 ** 32;

function ensureCapacity(workers: number, slots: number, versions: number, loaded: number): void {
  if (workers > workerCapacity) {
    workerCapacity = Math.max(workers, workerCapacity * 2);
    workerAgeMs = new Float64Array(workerCapacity);
    workerServiceMs = new Float64Array(workerCapacity);
    workerBestScore = new Float64Array(workerCapacity);
    workerBestSlot = new Int32Array(workerCapacity);
    workerBestVersion = new Int32Array(workerCapacity);
    workerBestLoaded = new Uint8Array(workerCapacity);
    workerOrder = new Int32Array(workerCapacity);
  }
  if (slots > slotCapacity) {
    slotCapacity = Math.max(slots, slotCapacity * 2);
    slotWorker = new Int32Array(slotCapacity);
    slotGpu = new Int32Array(slotCapacity);
    slotScore = new Float64Array(slotCapacity);
    slotBestFree = new Int32Array(slotCapacity);
    slotBestLoaded = new Int32Array(slotCapacity);
    slotSortKeys = new Float64Array(slotCapacity);
    sortedSlots = new Int32Array(slotCapacity);
    sortedCaps = new Float64Array(slotCapacity);
    bucketBest = new Int32Array(slotCapacity);
  }
  if (versions > versionCapacity) {
    versionCapacity = Math.max(versions, versionCapacity * 2);
    versionScore = new Float64Array(versionCapacity);
  }
  if (loaded > loadedCapacity) {
    loadedCapacity = Math.max(loaded, loadedCapacity * 2);
    loadedSlot = new Int32Array(loadedCapacity);
  }
  // Drop references to the last call's heartbeats.
  loadedModels.length = 0;
}

/** The better of two versions: higher model score, then `compareVersionTie`. */
function versionBetter(candidates: readonly ModelVersion[], i: number, j: number): boolean {
  const a = versionScore[i] ?? 0;
  const b = versionScore[j] ?? 0;
  if (a !== b) return a > b;
  return compareVersionTie(candidates[i] as ModelVersion, candidates[j] as ModelVersion) < 0;
}

/** Counts behind a decision or a failure, for the reason line and `RouteSelectionError`. */
export interface RouteExclusions {
  versions: {
    total: number;
    notInCategory: number;
    notPrimaryCategory: number;
    overMemoryLimit: number;
    noHaltHead: number;
    noLatentMode: number;
    shortContext: number;
  };
  workers: { total: number; stale: number; tooSmall: number; tooSlow: number };
}

/**
 * Picks (version, worker, GPU) and one fallback per other worker; see the file comment.
 *
 * Placement (a version's `serving.placement` labels or pins) makes eligibility depend on the
 * (version, worker) pair, which the separable score above cannot express. So candidates are
 * grouped by placement, each group is selected over the workers it may use, and the groups'
 * options are merged per worker (best score wins). Without placement (the common case) this is
 * one call of the fast path.
 */
export function selectRoute(input: SelectRouteInput): Result<RouteDecision, RouteSelectionError> {
  const partition = placementPartitionOf(input.candidates);
  if (partition === undefined) return selectAmong(input);
  const groups: { input: SelectRouteInput; placed: boolean }[] = [];
  if (partition.unplaced.length > 0)
    groups.push({ input: { ...input, candidates: partition.unplaced }, placed: false });
  for (const group of partition.placed) {
    const workers = input.workers.filter((state) => workerMatchesPlacement(group.placement, state));
    groups.push({ input: { ...input, candidates: group.versions, workers }, placed: true });
  }
  const decisions: RouteDecision[] = [];
  let firstFailure: RouteSelectionError | undefined;
  for (const group of groups) {
    // No matching worker for a placed group: the failure names the placement, not "none registered".
    const decided =
      group.placed && group.input.workers.length === 0
        ? placementFailure(input, group.input)
        : selectAmong(group.input, false);
    if (decided.ok) decisions.push(decided.value);
    else firstFailure ??= decided.error;
  }
  if (decisions.length === 0) return err(firstFailure as RouteSelectionError);
  return ok(mergeDecisions(input, decisions));
}

interface PlacementPartition {
  /** The candidates as partitioned, to tell whether the array changed since. */
  members: readonly ModelVersion[];
  unplaced: ModelVersion[];
  /** One group per distinct placement, so a fleet of a few label pools costs a few selections. */
  placed: { placement: Placement; versions: ModelVersion[] }[];
}

/**
 * Candidates split by placement, cached by the candidates array (the edge keeps its arrays): the
 * groups are then stable arrays too, so each keeps its cached candidate index. Undefined when no
 * candidate has a restricting placement (the fast path).
 */
const partitions = new WeakMap<readonly ModelVersion[], PlacementPartition | null>();

function placementPartitionOf(candidates: readonly ModelVersion[]): PlacementPartition | undefined {
  const cached = partitions.get(candidates);
  if (cached === null && !candidates.some((version) => restrictingPlacementOf(version) !== undefined)) return undefined;
  if (cached && cached.members.length === candidates.length && cached.members.every((v, i) => v === candidates[i])) {
    return cached;
  }
  const unplaced: ModelVersion[] = [];
  const byKey = new Map<string, { placement: Placement; versions: ModelVersion[] }>();
  for (const version of candidates) {
    const placement = restrictingPlacementOf(version);
    if (placement === undefined) {
      unplaced.push(version);
      continue;
    }
    const key = JSON.stringify([
      Object.entries(placement.worker_labels ?? {}).sort(),
      [...(placement.pinned_workers ?? [])].sort(),
    ]);
    const group = byKey.get(key);
    if (group) group.versions.push(version);
    else byKey.set(key, { placement, versions: [version] });
  }
  if (byKey.size === 0) {
    partitions.set(candidates, null);
    return undefined;
  }
  const partition = { members: candidates.slice(), unplaced, placed: [...byKey.values()] };
  partitions.set(candidates, partition);
  return partition;
}

function headerSafeAppend(reason: string, placement: NonNullable<ReturnType<typeof restrictingPlacementOf>>): string {
  return headerSafe(`${reason}; placement ${describePlacement(placement)}`);
}

/** No live worker matches a placed version: 503 naming the placement. */
function placementFailure(input: SelectRouteInput, group: SelectRouteInput): Result<never, RouteSelectionError> {
  const version = group.candidates[0] as ModelVersion;
  const placement = restrictingPlacementOf(version);
  const what =
    group.candidates.length === 1 ? `${version.name}@${version.version}` : `${group.candidates.length} versions`;
  const exclusions: RouteExclusions = {
    versions: {
      total: group.candidates.length,
      notInCategory: 0,
      notPrimaryCategory: 0,
      overMemoryLimit: 0,
      noHaltHead: 0,
      noLatentMode: 0,
      shortContext: 0,
    },
    workers: { total: input.workers.length, stale: 0, tooSmall: 0, tooSlow: 0 },
  };
  return err(
    new RouteSelectionError(
      "no_worker_available",
      `No worker can serve ${what}: none of ${input.workers.length} worker(s) taking work matches its placement (${placement ? describePlacement(placement) : "any worker"}).`,
      exclusions,
    ),
  );
}

/** The groups' options, one per worker (its best), best first; the reason re-explained over the whole fleet. */
function mergeDecisions(input: SelectRouteInput, decisions: readonly RouteDecision[]): RouteDecision {
  const bestPerWorker = new Map<string, { option: RouteOption; from: RouteDecision }>();
  for (const decision of decisions) {
    for (const option of [decision, ...decision.fallbacks]) {
      const current = bestPerWorker.get(option.worker.workerId);
      if (current === undefined || option.score > current.option.score) {
        bestPerWorker.set(option.worker.workerId, { option: plainOption(option), from: decision });
      }
    }
  }
  const ranked = [...bestPerWorker.values()].sort(
    (a, b) => b.option.score - a.option.score || a.option.worker.workerId.localeCompare(b.option.worker.workerId),
  );
  const [top, ...rest] = ranked as [(typeof ranked)[number], ...typeof ranked];
  // The overall best is some group's best, so that group's category figures describe it.
  const merged: RouteDecision = { ...top.option, reason: "", fallbacks: rest.map((entry) => entry.option) };
  if (top.from.category !== undefined) merged.category = top.from.category;
  if (top.from.confidence !== undefined) merged.confidence = top.from.confidence;
  if (top.from.primaryCategory !== undefined) merged.primaryCategory = top.from.primaryCategory;
  const live = input.workers.filter((state) => isWorkerLive(state, input.now)).length;
  const placement = restrictingPlacementOf(merged.version);
  merged.reason = explainDecision(merged, input, live);
  if (placement !== undefined) merged.reason = headerSafeAppend(merged.reason, placement);
  return merged;
}

function plainOption(option: RouteOption): RouteOption {
  return {
    version: option.version,
    worker: option.worker,
    score: option.score,
    modelScore: option.modelScore,
    workerScore: option.workerScore,
  };
}

/** The fast path. `explain: false` leaves `reason` empty, for a group whose decision is merged and explained after. */
function selectAmong(input: SelectRouteInput, explain = true): Result<RouteDecision, RouteSelectionError> {
  const { candidates, category, workers, now, flags } = input;
  const prepared = preparedSelectionFor(input.config);
  const scoring = prepared.config.scoring;
  const latency = scoring.latency;
  const constraints = input.constraints;
  const maxLatencyMs = constraints?.max_expected_latency_ms ?? Number.POSITIVE_INFINITY;
  const gpuAware = flags.gpu_awareness;

  let slotTotal = 0;
  let loadedTotal = 0;
  // The best recent rate in the fleet stands in for workers that have served nothing lately.
  let fleetTokensPerSecond = 0;
  for (const state of workers) {
    slotTotal += state.heartbeat.gpus.length;
    loadedTotal += state.heartbeat.loaded_models.length;
    fleetTokensPerSecond = Math.max(fleetTokensPerSecond, state.heartbeat.tokens_per_second);
  }
  const latencyScaleMs = latencyScaleFor(fleetTokensPerSecond, latency);
  ensureCapacity(workers.length, slotTotal, candidates.length, loadedTotal);

  // 1. Workers → GPU slots, each with a score and the largest model it can take now.
  let staleWorkers = 0;
  let slotCount = 0;
  let eligibleSlots = 0;
  let loadedCount = 0;
  for (let w = 0; w < workers.length; w++) {
    const heartbeat = (workers[w] as WorkerState).heartbeat;
    const ageMs = now - parseTimestampMs((workers[w] as WorkerState).received_at);
    workerAgeMs[w] = ageMs;
    workerBestVersion[w] = -1;
    // Without GPU awareness a live worker is used as is: no aging penalty.
    const factor = gpuAware
      ? stalenessFactor(ageMs, heartbeat.interval_ms, scoring.aging_floor)
      : ageMs <= EXCLUDED_AFTER_INTERVALS * heartbeat.interval_ms
        ? 1
        : 0;
    if (!(factor > 0)) {
      staleWorkers++;
      workerServiceMs[w] = Number.NaN;
      continue;
    }
    const serviceMs = expectedServiceMs(heartbeat, latency, fleetTokensPerSecond);
    workerServiceMs[w] = serviceMs;
    if (serviceMs > maxLatencyMs) continue;
    // The largest model whose cold load still meets the latency limit.
    const latencyCapMb =
      maxLatencyMs === Number.POSITIVE_INFINITY
        ? Number.POSITIVE_INFINITY
        : ((maxLatencyMs - serviceMs) * latency.load_mb_per_second) / 1000;
    const queueScore = 1 / (1 + heartbeat.queue_depth);
    const firstSlot = slotCount;
    const gpus = heartbeat.gpus;
    for (let g = 0; g < gpus.length; g++) {
      const gpu = gpus[g] as WorkerState["heartbeat"]["gpus"][number];
      const s = slotCount++;
      slotWorker[s] = w;
      slotGpu[s] = g;
      slotBestFree[s] = -1;
      slotBestLoaded[s] = -1;
      let capMb = latencyCapMb;
      if (gpuAware) {
        slotScore[s] = factor * gpuLoadScore(gpu, serviceMs, prepared.gpuWeights, scoring, latencyScaleMs);
        // Unknown free memory ([N/A]) is not counted as "not enough" (as in selectWorkerForModel).
        if (gpu.memory_free_mb !== null && gpu.memory_free_mb < capMb) capMb = gpu.memory_free_mb;
      } else {
        slotScore[s] = queueScore;
      }
      // Capacity and slot packed in one number, so a native numeric sort orders the GPUs.
      if (capMb >= 1) slotSortKeys[eligibleSlots++] = Math.min(Math.floor(capMb), CAPACITY_LIMIT_MB) * SLOT_RADIX + s;
    }
    for (const model of heartbeat.loaded_models) {
      let s = firstSlot;
      while (s < slotCount && gpus[slotGpu[s] ?? 0]?.index !== model.gpu_index) s++;
      if (s === slotCount) continue;
      loadedSlot[loadedCount] = s;
      loadedModels[loadedCount] = model;
      loadedCount++;
    }
  }
  slotSortKeys.subarray(0, eligibleSlots).sort();
  for (let j = 0; j < eligibleSlots; j++) {
    const key = slotSortKeys[j] ?? 0;
    const slot = key % SLOT_RADIX;
    sortedSlots[j] = slot;
    sortedCaps[j] = (key - slot) / SLOT_RADIX;
    bucketBest[j] = -1;
  }

  // 2. Versions: requirements, model score, and the best version per capacity bucket.
  const index = candidateIndexFor(candidates, prepared);
  const columns = category === undefined ? undefined : index.columns(category);
  const membership = columns?.membership;
  const benchmark = columns?.benchmark;
  const confidence = columns?.confidence;
  const memoryMb = index.memoryMb;
  const stagePreference = index.stagePreference;
  const capabilities = index.capabilities;
  const contextTokens = index.contextTokens;
  const required =
    (constraints?.requires?.halt_head === true ? CAPABILITY_HALT_HEAD : 0) |
    (constraints?.requires?.latent_mode === true ? CAPABILITY_LATENT_MODE : 0);
  const minContext = constraints?.requires?.min_context_tokens ?? 0;
  const maxMemoryMb = constraints?.max_gpu_memory_mb ?? Number.POSITIVE_INFINITY;
  const multiCategory = flags.multi_category;
  const benchmarkScoring = flags.benchmark_scoring;
  const versions = index.versions;
  const exclusions: RouteExclusions = {
    versions: {
      total: candidates.length,
      notInCategory: 0,
      notPrimaryCategory: 0,
      overMemoryLimit: 0,
      noHaltHead: 0,
      noLatentMode: 0,
      shortContext: 0,
    },
    workers: { total: workers.length, stale: staleWorkers, tooSmall: 0, tooSlow: 0 },
  };
  const excluded = exclusions.versions;
  let fittingVersions = 0;
  let smallestFittingMb = Number.POSITIVE_INFINITY;
  // Versions in ascending memory order meet GPUs in ascending capacity order: the first GPU
  // bucket that fits only moves forward.
  const byMemory = index.byMemory;
  let bucket = 0;
  for (let order = 0; order < byMemory.length; order++) {
    const i = byMemory[order] ?? 0;
    versionScore[i] = Number.NaN;
    if (membership !== undefined) {
      const member = membership[i] ?? NOT_IN_CATEGORY;
      if (multiCategory ? member === NOT_IN_CATEGORY : member !== PRIMARY_CATEGORY) {
        if (member === NOT_IN_CATEGORY) excluded.notInCategory++;
        else excluded.notPrimaryCategory++;
        continue;
      }
    }
    const memory = memoryMb[i] ?? 0;
    if (memory > maxMemoryMb) {
      excluded.overMemoryLimit++;
      continue;
    }
    if (required !== 0) {
      const has = capabilities[i] ?? 0;
      if ((has & required) !== required) {
        if ((required & CAPABILITY_HALT_HEAD) !== 0 && (has & CAPABILITY_HALT_HEAD) === 0) excluded.noHaltHead++;
        else excluded.noLatentMode++;
        continue;
      }
    }
    if ((contextTokens[i] ?? 0) < minContext) {
      excluded.shortContext++;
      continue;
    }
    let score = 1;
    if (benchmark !== undefined && confidence !== undefined) {
      score = benchmarkScoring ? (benchmark[i] ?? 0) : (stagePreference[i] ?? 0);
      if (multiCategory) score *= confidence[i] ?? 0;
    }
    versionScore[i] = score;
    fittingVersions++;
    if (memory < smallestFittingMb) smallestFittingMb = memory;
    while (bucket < eligibleSlots && (sortedCaps[bucket] ?? 0) < memory) bucket++;
    if (bucket < eligibleSlots) {
      const best = bucketBest[bucket] ?? -1;
      if (best < 0 || versionBetter(versions, i, best)) bucketBest[bucket] = i;
    }
  }

  // 3. Every GPU's best version: a running maximum over the buckets that fit on it, and the
  //    best of the versions it already holds.
  let running = -1;
  for (let j = 0; j < eligibleSlots; j++) {
    const best = bucketBest[j] ?? -1;
    if (best >= 0 && (running < 0 || versionBetter(versions, best, running))) running = best;
    slotBestFree[sortedSlots[j] ?? 0] = running;
  }
  for (let k = 0; k < loadedCount; k++) {
    const model = loadedModels[k] as LoadedModel;
    const i = index.find(model.name, model.version, model.sha256);
    if (i < 0 || Number.isNaN(versionScore[i] ?? Number.NaN)) continue;
    const s = loadedSlot[k] ?? 0;
    const best = slotBestLoaded[s] ?? -1;
    if (best < 0 || versionBetter(versions, i, best)) slotBestLoaded[s] = i;
  }

  // 4. Each GPU's best pair, then each worker's best GPU.
  const modelWeight = scoring.model_weight;
  const workerWeight = scoring.worker_weight;
  const bonus = scoring.loaded_bonus;
  for (let s = 0; s < slotCount; s++) {
    const w = slotWorker[s] ?? 0;
    const gpuPart = workerWeight * (slotScore[s] ?? 0);
    let version = slotBestFree[s] ?? -1;
    let loaded = false;
    let total = version >= 0 ? modelWeight * (versionScore[version] ?? 0) + gpuPart : Number.NEGATIVE_INFINITY;
    const held = slotBestLoaded[s] ?? -1;
    if (held >= 0) {
      const heldTotal = modelWeight * (versionScore[held] ?? 0) + gpuPart + bonus;
      if (heldTotal > total || (heldTotal === total && (held === version || versionBetter(versions, held, version)))) {
        version = held;
        loaded = true;
        total = heldTotal;
      }
    }
    if (version < 0) continue;
    const current = workerBestVersion[w] ?? -1;
    if (current >= 0) {
      const currentTotal = workerBestScore[w] ?? 0;
      if (total < currentTotal) continue;
      // Same score on two GPUs of one worker: the better version, then the lower GPU index.
      if (total === currentTotal) {
        if (version !== current && !versionBetter(versions, version, current)) continue;
        if (version === current && gpuIndexOf(workers, s) >= gpuIndexOf(workers, workerBestSlot[w] ?? 0)) continue;
      }
    }
    workerBestVersion[w] = version;
    workerBestSlot[w] = s;
    workerBestScore[w] = total;
    workerBestLoaded[w] = loaded ? 1 : 0;
  }

  // 5. Workers that can serve, best first (ties: worker id).
  let ordered = 0;
  for (let w = 0; w < workers.length; w++) {
    if ((workerBestVersion[w] ?? -1) < 0) continue;
    let at = ordered++;
    while (at > 0 && workerRanksBefore(workers, w, workerOrder[at - 1] ?? 0)) {
      workerOrder[at] = workerOrder[at - 1] ?? 0;
      at--;
    }
    workerOrder[at] = w;
  }

  if (ordered === 0) {
    countUnservingWorkers(input, exclusions, smallestFittingMb, maxLatencyMs);
    return err(explainFailure(input, exclusions, fittingVersions, smallestFittingMb));
  }

  const options: RouteOption[] = [];
  for (let r = 0; r < ordered; r++) options.push(optionOf(workers, versions, workerOrder[r] ?? 0, latency));
  const [best, ...fallbacks] = options as [RouteOption, ...RouteOption[]];
  const decision: RouteDecision = { ...best, reason: "", fallbacks };
  if (category !== undefined) {
    decision.category = category;
    const chosen = workerBestVersion[workerOrder[0] ?? 0] ?? 0;
    if (multiCategory && confidence !== undefined) decision.confidence = confidence[chosen] ?? 0;
    decision.primaryCategory = primaryCategoryOf(best.version) === category;
  }
  if (explain) decision.reason = explainDecision(decision, input, workers.length - staleWorkers);
  return ok(decision);
}

function gpuIndexOf(workers: readonly WorkerState[], slot: number): number {
  return workers[slotWorker[slot] ?? 0]?.heartbeat.gpus[slotGpu[slot] ?? 0]?.index ?? 0;
}

function workerRanksBefore(workers: readonly WorkerState[], a: number, b: number): boolean {
  const scoreA = workerBestScore[a] ?? 0;
  const scoreB = workerBestScore[b] ?? 0;
  if (scoreA !== scoreB) return scoreA > scoreB;
  return (workers[a]?.heartbeat.worker_id ?? "") < (workers[b]?.heartbeat.worker_id ?? "");
}

function optionOf(
  workers: readonly WorkerState[],
  versions: readonly ModelVersion[],
  w: number,
  latency: SelectionConfig["scoring"]["latency"],
): RouteOption {
  const heartbeat = (workers[w] as WorkerState).heartbeat;
  const slot = workerBestSlot[w] ?? 0;
  const gpu = heartbeat.gpus[slotGpu[slot] ?? 0];
  const versionIndex = workerBestVersion[w] ?? 0;
  const version = versions[versionIndex] as ModelVersion;
  const modelLoaded = workerBestLoaded[w] === 1;
  const ageMs = workerAgeMs[w] ?? 0;
  return {
    version,
    worker: {
      workerId: heartbeat.worker_id,
      url: heartbeat.url,
      gpuIndex: gpu?.index ?? 0,
      freeMemoryMb: gpu?.memory_free_mb ?? null,
      queueDepth: heartbeat.queue_depth,
      modelLoaded,
      inFlight: heartbeat.in_flight,
      heartbeatAgeMs: ageMs,
      freshness: heartbeatFreshness(ageMs, heartbeat.interval_ms) === "fresh" ? "fresh" : "aging",
      expectedLatencyMs: (workerServiceMs[w] ?? 0) + (modelLoaded ? 0 : coldLoadMs(version.memory_mb, latency)),
    },
    score: workerBestScore[w] ?? 0,
    modelScore: versionScore[versionIndex] ?? 0,
    workerScore: slotScore[slot] ?? 0,
  };
}

/**
 * Sorts the live workers that had no option into "too slow" (over the latency limit, or a
 * cold load would be) and "too small" (no GPU with the smallest fitting version's memory free).
 */
function countUnservingWorkers(
  input: SelectRouteInput,
  exclusions: RouteExclusions,
  smallestFittingMb: number,
  maxLatencyMs: number,
): void {
  for (let w = 0; w < input.workers.length; w++) {
    const serviceMs = workerServiceMs[w] ?? Number.NaN;
    if (Number.isNaN(serviceMs)) continue;
    let largestFreeMb = 0;
    for (const gpu of (input.workers[w] as WorkerState).heartbeat.gpus) {
      largestFreeMb = Math.max(largestFreeMb, gpu.memory_free_mb ?? Number.POSITIVE_INFINITY);
    }
    const fitsSomewhere = !input.flags.gpu_awareness || smallestFittingMb <= largestFreeMb;
    if (serviceMs > maxLatencyMs || fitsSomewhere) exclusions.workers.tooSlow++;
    else exclusions.workers.tooSmall++;
  }
}
