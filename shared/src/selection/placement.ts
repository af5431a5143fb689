/**
 * Placement (issue 17): the per-(version, worker) eligibility rule that the route selector
 * applies, and which matching workers are asked to keep a version warm. Pure: the edge's pool
 * attaches each worker's enrolment labels to its state, the registry holds the placement in the
 * version's `serving` config.
 */
import type { WorkerState } from "../gpu.js";
import type { ModelVersion } from "../model-version.js";
import { isWorkerLive } from "../select-worker.js";
import type { Placement } from "../tensors/serving-config.js";

/** The placement that restricts where a version runs; undefined when any worker may serve it. */
export function restrictingPlacementOf(version: ModelVersion): Placement | undefined {
  const placement = version.serving?.placement;
  if (placement === undefined) return undefined;
  const hasLabels = Object.keys(placement.worker_labels ?? {}).length > 0;
  return hasLabels || placement.pinned_workers !== undefined ? placement : undefined;
}

/** Whether the worker may serve a version with this placement: pinned (if pins are set) and every label matches. */
export function workerMatchesPlacement(placement: Placement | undefined, state: WorkerState): boolean {
  if (placement === undefined) return true;
  const id = state.heartbeat.worker_id;
  if (placement.pinned_workers !== undefined && !placement.pinned_workers.includes(id)) return false;
  const labels = state.labels ?? {};
  for (const [name, value] of Object.entries(placement.worker_labels ?? {})) {
    if (labels[name] !== value) return false;
  }
  return true;
}

/** `labels gpu=a10,zone=eu; pinned w1,w2` — how errors, reasons and the CLI name a placement. */
export function describePlacement(placement: Placement): string {
  const parts: string[] = [];
  const labels = Object.entries(placement.worker_labels ?? {});
  if (labels.length > 0) parts.push(`labels ${labels.map(([name, value]) => `${name}=${value}`).join(",")}`);
  if (placement.pinned_workers !== undefined) parts.push(`pinned ${placement.pinned_workers.join(",")}`);
  if (placement.min_replicas !== undefined) parts.push(`min_replicas ${placement.min_replicas}`);
  return parts.length > 0 ? parts.join("; ") : "any worker";
}

function holds(state: WorkerState, version: ModelVersion): boolean {
  return state.heartbeat.loaded_models.some(
    (model) => model.name === version.name && model.version === version.version,
  );
}

/**
 * Which workers should hold which versions: for each version with `min_replicas` > 0, that many
 * live matching workers (all of them when fewer match). Workers that already hold it come
 * first, then by worker id, so the choice is stable from one heartbeat to the next and a warm
 * replica is not traded for a cold one. Returns worker id → versions to preload.
 */
export function preloadAssignments(
  versions: readonly ModelVersion[],
  workers: readonly WorkerState[],
  now: number,
): Map<string, ModelVersion[]> {
  const assignments = new Map<string, ModelVersion[]>();
  const live = workers.filter((state) => isWorkerLive(state, now));
  for (const version of versions) {
    const wanted = version.serving?.placement?.min_replicas ?? 0;
    if (wanted === 0) continue;
    const placement = restrictingPlacementOf(version);
    const chosen = live
      .filter((state) => workerMatchesPlacement(placement, state))
      .sort((a, b) => {
        const warmFirst = Number(holds(b, version)) - Number(holds(a, version));
        return warmFirst !== 0 ? warmFirst : a.heartbeat.worker_id.localeCompare(b.heartbeat.worker_id);
      })
      .slice(0, wanted);
    for (const state of chosen) {
      const id = state.heartbeat.worker_id;
      assignments.set(id, [...(assignments.get(id) ?? []), version]);
    }
  }
  return assignments;
}

/** Where a version is warm now: the ids of live workers whose heartbeat lists it as loaded. */
export function warmReplicasOf(version: ModelVersion, workers: readonly WorkerState[], now: number): string[] {
  return workers
    .filter((state) => isWorkerLive(state, now) && holds(state, version))
    .map((state) => state.heartbeat.worker_id);
}
