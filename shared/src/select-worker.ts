import type { WorkerState } from "./gpu.js";
import type { ModelVersion } from "./model-version.js";

/** A worker is routable while its last heartbeat is younger than this many intervals. */
export const STALE_AFTER_INTERVALS = 3;

export function heartbeatAgeMs(state: WorkerState, now: number): number {
  return now - Date.parse(state.received_at);
}

/** The explicit staleness rule: older than 3 of the worker's own intervals → not routed to. */
export function isWorkerLive(state: WorkerState, now: number): boolean {
  return heartbeatAgeMs(state, now) <= STALE_AFTER_INTERVALS * state.heartbeat.interval_ms;
}

export interface WorkerChoice {
  workerId: string;
  url: string;
  gpuIndex: number;
  freeMemoryMb: number | null;
  queueDepth: number;
  modelLoaded: boolean;
}

export interface WorkerSelection {
  choice: WorkerChoice;
  fallbacks: WorkerChoice[];
  reason: string;
}

export type WorkerSelectionFailure = { reason: string };

/**
 * Picks a live worker for one model version: only GPUs with enough free memory (or that
 * already hold the model), then the shortest queue, then a worker that has the model loaded,
 * then the most free memory. Returns the rest in the same order as fallbacks.
 */
export function selectWorkerForModel(
  workers: readonly WorkerState[],
  version: Pick<ModelVersion, "name" | "version" | "memory_mb" | "artifact">,
  now: number,
): { ok: true; selection: WorkerSelection } | { ok: false; failure: WorkerSelectionFailure } {
  const live = workers.filter((w) => isWorkerLive(w, now));
  if (live.length === 0) {
    const stale = workers.length - live.length;
    return { ok: false, failure: { reason: `no live workers (${stale} stale)` } };
  }
  const candidates: WorkerChoice[] = [];
  for (const { heartbeat } of live) {
    for (const gpu of heartbeat.gpus) {
      const modelLoaded = heartbeat.loaded_models.some(
        (m) => m.name === version.name && m.sha256 === version.artifact.sha256 && m.gpu_index === gpu.index,
      );
      // Unknown free memory (nvidia-smi said [N/A]) is not counted as "not enough".
      const fits = modelLoaded || gpu.memory_free_mb === null || gpu.memory_free_mb >= version.memory_mb;
      if (!fits) continue;
      candidates.push({
        workerId: heartbeat.worker_id,
        url: heartbeat.url,
        gpuIndex: gpu.index,
        freeMemoryMb: gpu.memory_free_mb,
        queueDepth: heartbeat.queue_depth,
        modelLoaded,
      });
    }
  }
  if (candidates.length === 0) {
    return {
      ok: false,
      failure: { reason: `no live worker has ${version.memory_mb} MB free for ${version.name}@${version.version}` },
    };
  }
  candidates.sort(
    (a, b) =>
      a.queueDepth - b.queueDepth ||
      Number(b.modelLoaded) - Number(a.modelLoaded) ||
      (b.freeMemoryMb ?? 0) - (a.freeMemoryMb ?? 0) ||
      a.workerId.localeCompare(b.workerId),
  );
  // One entry per worker in the fallback list: retrying another GPU of a failed worker helps little.
  const seen = new Set<string>();
  const ordered: WorkerChoice[] = [];
  for (const candidate of candidates) {
    if (seen.has(candidate.workerId)) continue;
    seen.add(candidate.workerId);
    ordered.push(candidate);
  }
  const [choice, ...fallbacks] = ordered;
  if (!choice) return { ok: false, failure: { reason: "no candidate" } };
  const memory = choice.freeMemoryMb === null ? "unknown free memory" : `${Math.round(choice.freeMemoryMb)} MB free`;
  const reason = `worker ${choice.workerId} gpu ${choice.gpuIndex}: queue ${choice.queueDepth}, ${memory}, ${
    choice.modelLoaded ? "model loaded" : "model not loaded"
  }; ${live.length} live worker(s), ${ordered.length} fit`;
  return { ok: true, selection: { choice, fallbacks, reason } };
}
