/**
 * The edge's gauges, read live when Prometheus scrapes (exact at that moment, never sampled):
 * each worker's heartbeat age, liveness and circuit from the WorkerPool, how many workers routing
 * would send each Production version to (the same `selectRoute` the request path runs), and the
 * conversion queue's counts.
 */
import {
  DEFAULT_SELECTION_CONFIG,
  EDGE_METRICS,
  isWorkerLive,
  type MetricDefinition,
  selectRoute,
  VersionSearchQuerySchema,
  type WorkerState,
} from "@modelgate/shared";
import { conversionQueue } from "../conversions/conversion-queue-object.js";
import type { EdgeBindings } from "../env.js";
import type { WorkerCircuit } from "../pool/worker-pool-object.js";
import { workerPoolStub } from "../pool/worker-pool-object.js";
import { registryCoordinator } from "../registry/registry-access.js";
import { unwrapWire } from "../registry/wire-result.js";
import { servedTarget } from "../routing/served-format.js";
import type { RenderedSeries } from "./prometheus-text.js";

export type GaugeFamilies = Map<MetricDefinition, RenderedSeries[]>;

const CIRCUIT_STATES = [
  ["closed", "closed"],
  ["open", "open"],
  ["half-open", "half_open"],
] as const;

const CONVERSION_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"] as const;

/** Every gauge family; a source that fails leaves its families empty rather than failing the scrape. */
export async function readFleetGauges(env: EdgeBindings, now: number): Promise<GaugeFamilies> {
  const families: GaugeFamilies = new Map();
  const add = (metric: MetricDefinition, labelValues: string[], value: number) => {
    const list = families.get(metric) ?? [];
    list.push({ labelValues, value });
    families.set(metric, list);
  };
  const pool = workerPoolStub(env.WORKER_POOL);
  // Per-worker gauges cover the whole fleet (a cordoned worker is still up); production coverage
  // counts only the workers routing may use.
  const [view, fleet, production, conversions] = await Promise.allSettled([
    pool.routingView(now),
    pool.fleetView(now),
    productionVersions(env),
    conversionQueue(env).summary(now),
  ]);
  if (view.status === "fulfilled" && fleet.status === "fulfilled") {
    const { workers, circuits } = view.value;
    for (const state of fleet.value.workers) {
      const id = state.heartbeat.worker_id;
      add(EDGE_METRICS.heartbeatAge, [id], Math.max(0, now - Date.parse(state.received_at)) / 1000);
      add(EDGE_METRICS.workerLive, [id], isWorkerLive(state, now) ? 1 : 0);
      add(EDGE_METRICS.workerLoadedModels, [id], state.heartbeat.loaded_models.length);
      const position = fleet.value.circuits[id]?.position ?? "closed";
      for (const [state, label] of CIRCUIT_STATES)
        add(EDGE_METRICS.circuitState, [id, label], position === state ? 1 : 0);
    }
    if (production.status === "fulfilled") {
      const routable = routableWorkers(workers, circuits);
      for (const version of production.value) {
        const decided = selectRoute({
          candidates: [version],
          workers: routable,
          now,
          config: DEFAULT_SELECTION_CONFIG,
          flags: view.value.flags,
        });
        const liveWorkers = decided.ok ? 1 + decided.value.fallbacks.length : 0;
        add(EDGE_METRICS.productionLiveWorkers, [version.name, String(version.version)], liveWorkers);
      }
    }
  }
  if (conversions.status === "fulfilled") {
    for (const status of CONVERSION_STATUSES) {
      add(EDGE_METRICS.conversionJobs, [status], conversions.value.counts[status] ?? 0);
    }
    add(EDGE_METRICS.conversionOldestQueuedAge, [], conversions.value.oldestQueuedAgeMs / 1000);
  }
  return families;
}

/** As routing filters them: open circuits are out; half-open ones may still take a probe. */
function routableWorkers(workers: readonly WorkerState[], circuits: Record<string, WorkerCircuit>): WorkerState[] {
  return workers.filter((w) => circuits[w.heartbeat.worker_id]?.position !== "open");
}

/** Every Production version of every kind, as routing would serve it (its serving format). */
async function productionVersions(env: EdgeBindings) {
  const query = VersionSearchQuerySchema.parse({ stage: "Production", limit: 1000 });
  const page = unwrapWire(await registryCoordinator(env).search(query));
  return page.items.flatMap(({ aliases: _aliases, ...version }) => {
    const served = servedTarget(version, undefined, "model");
    return served.ok ? [served.value] : [];
  });
}
