/**
 * How a worker's heartbeat becomes a score: the staleness rule, the GPU figures, and the
 * expected latency of one more request. Pure functions; `selectRoute` inlines the same
 * formulas in its hot loop through `gpuLoadScore` and `expectedServiceMs`.
 */
import { z } from "zod";
import type { GpuSnapshot, WorkerHeartbeat } from "../gpu.js";
import { STALE_AFTER_INTERVALS } from "../select-worker.js";

/** A heartbeat at most this many of the worker's own intervals old is used as is. */
export const FRESH_WITHIN_INTERVALS = 1;
/** Older than this many intervals: the worker is not routed to (same rule as `isWorkerLive`). */
export const EXCLUDED_AFTER_INTERVALS = STALE_AFTER_INTERVALS;

const unit = z.number().min(0).max(1);
const weight = z.number().min(0).max(100);

export const WorkerScoringSchema = z.strictObject({
  /** score = model_weight × model score + worker_weight × worker score (+ loaded_bonus). */
  model_weight: weight.default(0.6),
  worker_weight: weight.default(0.4),
  /**
   * Added to a (version, GPU) pair whose GPU already holds the version: no cold load. With the
   * defaults it outweighs up to about two queued requests on an otherwise idle worker.
   */
  loaded_bonus: weight.default(0.05),
  /** Weights of the worker score's parts (normalised by their sum). */
  gpu_weights: z
    .strictObject({
      latency: weight.default(0.4),
      free_memory: weight.default(0.2),
      utilization: weight.default(0.25),
      temperature: weight.default(0.15),
    })
    .refine((w) => w.latency + w.free_memory + w.utilization + w.temperature > 0, "at least one weight above 0")
    .prefault({}),
  /** Temperature part: 1 at or below `cool`, 0 at or above `hot`, linear between. */
  temperature_c: z
    .strictObject({ cool: z.number().default(60), hot: z.number().default(90) })
    .refine((t) => t.cool < t.hot, "cool must be below hot")
    .prefault({}),
  /** Worker-score factor at 3 intervals; 1 at 1 interval, linear between (the aging penalty). */
  aging_floor: unit.default(0.5),
  latency: z
    .strictObject({
      /** Tokens one request is assumed to generate (runtime_config's max_new_tokens default). */
      expected_request_tokens: z.int().min(1).max(1_000_000).default(256),
      /** Used while a worker reports 0 tokens/s (idle, nothing measured yet). */
      assumed_tokens_per_second: z.number().gt(0).default(100),
      /** How fast a worker loads a model it does not hold (local cache → GPU). */
      load_mb_per_second: z.number().gt(0).default(1000),
      /**
       * Expected latency at which the latency part of the worker score is 0.5, while no worker
       * has reported a throughput; once one has, the scale is one request's time at the fleet's
       * best rate, so queues weigh as much on a fast small model as on a slow large one.
       */
      latency_scale_ms: z.number().gt(0).default(5000),
    })
    .prefault({}),
});
export type WorkerScoring = z.infer<typeof WorkerScoringSchema>;

export type Freshness = "fresh" | "aging" | "stale";

/**
 * The staleness rule. `age ≤ 1 interval` → fresh; `1 < age ≤ 3 intervals` → aging;
 * `age > 3 intervals` → stale (excluded). A heartbeat from the future (clock skew) is fresh.
 */
export function heartbeatFreshness(ageMs: number, intervalMs: number): Freshness {
  if (ageMs <= FRESH_WITHIN_INTERVALS * intervalMs) return "fresh";
  if (ageMs <= EXCLUDED_AFTER_INTERVALS * intervalMs) return "aging";
  return "stale";
}

/**
 * The factor the worker score is multiplied by: 1 while fresh, falling linearly to
 * `agingFloor` at 3 intervals, 0 (excluded) past that — or for an unreadable age.
 */
export function stalenessFactor(ageMs: number, intervalMs: number, agingFloor: number): number {
  if (ageMs <= FRESH_WITHIN_INTERVALS * intervalMs) return 1;
  if (ageMs <= EXCLUDED_AFTER_INTERVALS * intervalMs) {
    const agingSpan = (EXCLUDED_AFTER_INTERVALS - FRESH_WITHIN_INTERVALS) * intervalMs;
    return 1 - ((1 - agingFloor) * (ageMs - FRESH_WITHIN_INTERVALS * intervalMs)) / agingSpan;
  }
  return 0;
}

/**
 * Expected time to serve one more request on this worker, without a model load:
 * `1000 × T × (queue_depth + in_flight + 1) / rate` ms, where T is the expected tokens per
 * request and rate the worker's recent tokens/s. A worker that reports 0 has served nothing
 * lately (just started, or idle): it is credited with the fleet's best recent rate
 * (`fleetTokensPerSecond`), else `assumed_tokens_per_second` — assuming it slow would keep a
 * fresh worker out of traffic for good. The work ahead of the request plus its own, at the
 * worker's aggregate throughput.
 */
export function expectedServiceMs(
  heartbeat: Pick<WorkerHeartbeat, "queue_depth" | "in_flight" | "tokens_per_second">,
  latency: WorkerScoring["latency"],
  fleetTokensPerSecond = 0,
): number {
  const unknownRate = fleetTokensPerSecond > 0 ? fleetTokensPerSecond : latency.assumed_tokens_per_second;
  const rate = heartbeat.tokens_per_second > 0 ? heartbeat.tokens_per_second : unknownRate;
  return (1000 * latency.expected_request_tokens * (heartbeat.queue_depth + heartbeat.in_flight + 1)) / rate;
}

/** The latency part's scale: one request at the fleet's best rate, or `latency_scale_ms` without one. */
export function latencyScaleFor(fleetTokensPerSecond: number, latency: WorkerScoring["latency"]): number {
  return fleetTokensPerSecond > 0
    ? (1000 * latency.expected_request_tokens) / fleetTokensPerSecond
    : latency.latency_scale_ms;
}

/** Time to load a model the GPU does not hold: `1000 × memory_mb / load_mb_per_second` ms. */
export function coldLoadMs(memoryMb: number, latency: WorkerScoring["latency"]): number {
  return (1000 * memoryMb) / latency.load_mb_per_second;
}

/** The worker score's weights, divided by their sum once per configuration. */
export interface NormalisedGpuWeights {
  readonly latency: number;
  readonly freeMemory: number;
  readonly utilization: number;
  readonly temperature: number;
}

export function normaliseGpuWeights(weights: WorkerScoring["gpu_weights"]): NormalisedGpuWeights {
  const sum = weights.latency + weights.free_memory + weights.utilization + weights.temperature;
  return {
    latency: weights.latency / sum,
    freeMemory: weights.free_memory / sum,
    utilization: weights.utilization / sum,
    temperature: weights.temperature / sum,
  };
}

/** A figure nvidia-smi could not read counts as this: neither good nor bad. */
const UNKNOWN_PART = 0.5;

/**
 * The worker score (0–1) of one GPU before the staleness factor: a weighted mean of
 * - latency: `1 / (1 + serviceMs / latency_scale_ms)`;
 * - free memory: `memory_free_mb / memory_total_mb`;
 * - utilization: `1 − utilization_gpu_pct / 100`;
 * - temperature: `(hot − t) / (hot − cool)`, clamped to 0–1.
 */
export function gpuLoadScore(
  gpu: GpuSnapshot,
  serviceMs: number,
  weights: NormalisedGpuWeights,
  scoring: Pick<WorkerScoring, "temperature_c" | "latency">,
  latencyScaleMs: number = scoring.latency.latency_scale_ms,
): number {
  const latencyPart = 1 / (1 + serviceMs / latencyScaleMs);
  const free = gpu.memory_free_mb;
  const total = gpu.memory_total_mb;
  const memoryPart = free !== null && total !== null && total > 0 ? Math.min(1, free / total) : UNKNOWN_PART;
  const utilization = gpu.utilization_gpu_pct;
  const utilizationPart = utilization === null ? UNKNOWN_PART : 1 - utilization / 100;
  const temperature = gpu.temperature_c;
  const { cool, hot } = scoring.temperature_c;
  const temperaturePart =
    temperature === null ? UNKNOWN_PART : Math.min(1, Math.max(0, (hot - temperature) / (hot - cool)));
  return (
    weights.latency * latencyPart +
    weights.freeMemory * memoryPart +
    weights.utilization * utilizationPart +
    weights.temperature * temperaturePart
  );
}

const digit = (text: string, at: number): number => text.charCodeAt(at) - 48;
const DIGIT_POSITIONS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22];

/**
 * Milliseconds since the epoch of an ISO-8601 timestamp. The form `toISOString` writes
 * (`YYYY-MM-DDTHH:MM:SS.sssZ`, what heartbeats carry) is read with integer arithmetic, about
 * 3× faster than `Date.parse`, which handles everything else.
 */
export function parseTimestampMs(text: string): number {
  if (text.length !== 24 || text.charCodeAt(10) !== 84 || text.charCodeAt(19) !== 46 || text.charCodeAt(23) !== 90) {
    return Date.parse(text);
  }
  for (const at of DIGIT_POSITIONS) {
    const value = digit(text, at);
    if (value < 0 || value > 9) return Date.parse(text);
  }
  const month = digit(text, 5) * 10 + digit(text, 6);
  const day = digit(text, 8) * 10 + digit(text, 9);
  const hour = digit(text, 11) * 10 + digit(text, 12);
  const minute = digit(text, 14) * 10 + digit(text, 15);
  const second = digit(text, 17) * 10 + digit(text, 18);
  // Days past the 28th depend on the month: leave their validation to Date.parse.
  if (month < 1 || month > 12 || day < 1 || day > 28 || hour > 23 || minute > 59 || second > 59) {
    return Date.parse(text);
  }
  // Days from 1970-01-01 to the date (H. Hinnant's days_from_civil, years starting in March).
  const year =
    digit(text, 0) * 1000 + digit(text, 1) * 100 + digit(text, 2) * 10 + digit(text, 3) - (month <= 2 ? 1 : 0);
  const era = Math.floor(year / 400);
  const yearOfEra = year - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  const days = era * 146097 + dayOfEra - 719468;
  const millis = digit(text, 20) * 100 + digit(text, 21) * 10 + digit(text, 22);
  return ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis;
}
