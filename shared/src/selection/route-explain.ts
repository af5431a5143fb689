/**
 * The words of a routing decision: the one-line reason a person reads (and the
 * `x-modelgate-route-reason` header carries), and the failure that says what was left out.
 */
import { ModelgateError } from "../errors.js";
import type { RouteDecision, RouteExclusions, SelectRouteInput } from "./select-route.js";
import { describeDisabledFlags } from "./selection-flags.js";
import { EXCLUDED_AFTER_INTERVALS } from "./worker-score.js";

export type RouteFailureReason = "no_candidates" | "no_version_fits" | "no_worker_available";

const STATUS_CODE_OF = {
  no_candidates: "not_found",
  no_version_fits: "bad_request",
  no_worker_available: "no_worker_available",
} as const;

/**
 * A failed selection. `reason` is for programs: `no_candidates` (nothing to route to: 404),
 * `no_version_fits` (the request's requirements rule every version out: 400),
 * `no_worker_available` (no live worker can take any fitting version: 503).
 */
export class RouteSelectionError extends ModelgateError {
  readonly reason: RouteFailureReason;
  readonly exclusions: RouteExclusions;

  constructor(reason: RouteFailureReason, detail: string, exclusions: RouteExclusions) {
    super(STATUS_CODE_OF[reason], detail);
    this.name = "RouteSelectionError";
    this.reason = reason;
    this.exclusions = exclusions;
  }
}

const REASON_MAX = 299;

/** Printable ASCII only, at most 299 characters: the reason travels as an HTTP header. */
export function headerSafe(text: string): string {
  const ascii = text.replace(/[^\x20-\x7e]/g, "?");
  return ascii.length <= REASON_MAX ? ascii : `${ascii.slice(0, REASON_MAX - 3)}...`;
}

const fixed = (value: number, digits = 2): string => value.toFixed(digits);

/**
 * e.g. `auto:code -> coder@3 (bench x conf 0.90 primary = 0.74) on gpu-a gpu 1: loaded, queue 0,
 * in-flight 1, 38000 MB free, util 12%, 54C, fresh, ~2560 ms; score 0.812; 15/16 workers live,
 * 14 fallback(s)`.
 */
export function explainDecision(decision: RouteDecision, input: SelectRouteInput, liveWorkers: number): string {
  const { version, worker } = decision;
  let model = "";
  if (decision.category !== undefined) {
    const basis = input.flags.benchmark_scoring ? "bench" : `stage ${version.stage}`;
    const confidence =
      decision.confidence === undefined
        ? ""
        : ` x conf ${fixed(decision.confidence)} ${decision.primaryCategory ? "primary" : "secondary"}`;
    model = ` (${basis}${confidence} = ${fixed(decision.modelScore)})`;
  }
  const target = decision.category === undefined ? "" : `auto:${decision.category} -> `;
  const figures = [
    worker.modelLoaded ? "loaded" : "cold",
    `queue ${worker.queueDepth}`,
    `in-flight ${worker.inFlight}`,
  ];
  if (input.flags.gpu_awareness) {
    const gpu = input.workers
      .find((state) => state.heartbeat.worker_id === worker.workerId)
      ?.heartbeat.gpus.find((g) => g.index === worker.gpuIndex);
    if (gpu !== undefined) {
      figures.push(gpu.memory_free_mb === null ? "free memory unknown" : `${Math.round(gpu.memory_free_mb)} MB free`);
      if (gpu.utilization_gpu_pct !== null) figures.push(`util ${Math.round(gpu.utilization_gpu_pct)}%`);
      if (gpu.temperature_c !== null) figures.push(`${Math.round(gpu.temperature_c)}C`);
    }
  }
  figures.push(worker.freshness === "fresh" ? "fresh" : `aging ${Math.round(worker.heartbeatAgeMs)} ms`);
  figures.push(`~${Math.round(worker.expectedLatencyMs)} ms`);
  const disabled = describeDisabledFlags(input.flags);
  return headerSafe(
    `${target}${version.name}@${version.version}${model} on ${worker.workerId} gpu ${worker.gpuIndex}: ` +
      `${figures.join(", ")}; score ${fixed(decision.score, 3)}; ${liveWorkers}/${input.workers.length} workers live, ` +
      `${decision.fallbacks.length} fallback(s)${disabled ? `; off: ${disabled}` : ""}`,
  );
}

export function explainFailure(
  input: SelectRouteInput,
  exclusions: RouteExclusions,
  fittingVersions: number,
  smallestFittingMb: number,
): RouteSelectionError {
  const { candidates, category, constraints } = input;
  const single = candidates.length === 1 ? candidates[0] : undefined;
  const what =
    category !== undefined
      ? `auto:${category}`
      : single !== undefined
        ? `${single.name}@${single.version}`
        : `${candidates.length} versions`;
  if (candidates.length === 0) {
    return new RouteSelectionError("no_candidates", `No servable version for ${what}.`, exclusions);
  }
  if (fittingVersions === 0) {
    const v = exclusions.versions;
    const why: string[] = [];
    if (v.notInCategory > 0) why.push(`${v.notInCategory} not in category ${category}`);
    if (v.notPrimaryCategory > 0) {
      why.push(`${v.notPrimaryCategory} only as a secondary category (multi_category is off)`);
    }
    if (v.overMemoryLimit > 0) {
      why.push(`${v.overMemoryLimit} need more than max_gpu_memory_mb ${constraints?.max_gpu_memory_mb}`);
    }
    if (v.noHaltHead > 0) why.push(`${v.noHaltHead} without a halt head`);
    if (v.noLatentMode > 0) why.push(`${v.noLatentMode} without latent mode`);
    if (v.shortContext > 0) {
      why.push(`${v.shortContext} with fewer than ${constraints?.requires?.min_context_tokens} context tokens`);
    }
    const requirements = v.overMemoryLimit + v.noHaltHead + v.noLatentMode + v.shortContext > 0;
    return new RouteSelectionError(
      requirements ? "no_version_fits" : "no_candidates",
      `No version of ${what} fits the request: of ${v.total}, ${why.join(", ")}.`,
      exclusions,
    );
  }
  const w = exclusions.workers;
  if (w.total === 0) {
    return new RouteSelectionError(
      "no_worker_available",
      `No worker can serve ${what}: none is registered.`,
      exclusions,
    );
  }
  const why: string[] = [];
  if (w.stale > 0) why.push(`${w.stale} stale (no heartbeat for over ${EXCLUDED_AFTER_INTERVALS} intervals)`);
  if (w.tooSmall > 0) why.push(`${w.tooSmall} without ${smallestFittingMb} MB free on any GPU`);
  if (w.tooSlow > 0) {
    why.push(`${w.tooSlow} over the ${constraints?.max_expected_latency_ms} ms expected-latency limit`);
  }
  return new RouteSelectionError(
    "no_worker_available",
    `No worker can serve ${what}: of ${w.total} worker(s), ${why.join(", ")}.`,
    exclusions,
  );
}
