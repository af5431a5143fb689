/**
 * The last minute of each worker's heartbeats, kept in the page for the fleet's sparklines: the
 * edge stores only the latest heartbeat, so the history is whatever this tab has seen. A point is
 * added per new heartbeat (a poll that finds the same `received_at` adds nothing, so polling
 * faster than the worker reports does not flatten the chart), and missing readings are skipped.
 */
import type { WorkerListEntry } from "@modelgate/shared";

/** About a minute at the fastest heartbeat interval (1 s). */
export const HISTORY_POINTS = 60;

export interface GpuHistory {
  utilization: number[];
  memoryUsedMb: number[];
  temperature: number[];
  power: number[];
}

export interface WorkerHistory {
  lastReceivedAt: string;
  queue: number[];
  inFlight: number[];
  tokensPerSecond: number[];
  /** By GPU index. */
  gpus: Record<number, GpuHistory>;
}

export type FleetHistory = Record<string, WorkerHistory>;

function append(series: readonly number[] | undefined, value: number | null): number[] {
  const kept = series ?? [];
  if (value === null || !Number.isFinite(value)) return [...kept];
  return [...kept.slice(-(HISTORY_POINTS - 1)), value];
}

const EMPTY_GPU: GpuHistory = { utilization: [], memoryUsedMb: [], temperature: [], power: [] };

function recordWorker(previous: WorkerHistory | undefined, entry: WorkerListEntry): WorkerHistory {
  if (previous?.lastReceivedAt === entry.received_at) return previous;
  const { heartbeat } = entry;
  const gpus: Record<number, GpuHistory> = {};
  for (const gpu of heartbeat.gpus) {
    const before = previous?.gpus[gpu.index] ?? EMPTY_GPU;
    gpus[gpu.index] = {
      utilization: append(before.utilization, gpu.utilization_gpu_pct),
      memoryUsedMb: append(before.memoryUsedMb, gpu.memory_used_mb),
      temperature: append(before.temperature, gpu.temperature_c),
      power: append(before.power, gpu.power_draw_w),
    };
  }
  return {
    lastReceivedAt: entry.received_at,
    queue: append(previous?.queue, heartbeat.queue_depth),
    inFlight: append(previous?.inFlight, heartbeat.in_flight),
    tokensPerSecond: append(previous?.tokensPerSecond, heartbeat.tokens_per_second),
    gpus,
  };
}

/** The history after one poll; workers the edge no longer lists are forgotten. */
export function recordFleet(history: FleetHistory, workers: readonly WorkerListEntry[]): FleetHistory {
  const next: FleetHistory = {};
  for (const entry of workers) {
    const id = entry.heartbeat.worker_id;
    next[id] = recordWorker(history[id], entry);
  }
  return next;
}
