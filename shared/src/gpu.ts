import { z } from "zod";
import { freeText } from "./free-text.js";
import { ModelVersionSchema } from "./model-version.js";
import {
  WorkerControlSchema,
  WorkerDrainStateSchema,
  WorkerIdentityViewSchema,
  WorkerLabelsSchema,
} from "./worker-fleet.js";

/** Seed 002: the GPU monitor samples every 1–10 s, 5 s by default. */
export const GPU_MONITOR_INTERVAL_MS = { min: 1000, max: 10000, default: 5000 } as const;

/** Missing readings (`[N/A]`, `[Not Supported]`) are `null`, never a made-up zero. */
export const GpuSnapshotSchema = z.strictObject({
  index: z.int().min(0),
  uuid: freeText({ max: 128 }),
  name: freeText({ max: 256 }),
  /** `cuda` for a real GPU read from nvidia-smi, `cpu` when the worker runs on the host CPU. */
  device: z.enum(["cuda", "cpu"]),
  utilization_gpu_pct: z.number().min(0).max(100).nullable(),
  utilization_memory_pct: z.number().min(0).max(100).nullable(),
  memory_used_mb: z.number().min(0).nullable(),
  memory_total_mb: z.number().min(0).nullable(),
  memory_free_mb: z.number().min(0).nullable(),
  temperature_c: z.number().nullable(),
  power_draw_w: z.number().min(0).nullable(),
  power_limit_w: z.number().min(0).nullable(),
});
export type GpuSnapshot = z.infer<typeof GpuSnapshotSchema>;

export const LoadedModelSchema = z.strictObject({
  name: freeText({ max: 200 }),
  version: z.int().min(1),
  sha256: freeText({ max: 64 }),
  memory_mb: z.number().min(0),
  gpu_index: z.int().min(0),
});
export type LoadedModel = z.infer<typeof LoadedModelSchema>;

export const WorkerHeartbeatSchema = z.strictObject({
  worker_id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "must be 1–64 characters of A-Z, a-z, 0-9, '.', '_' or '-'"),
  /** Base URL the edge forwards to, e.g. http://10.0.0.7:8790 */
  url: z.url({ protocol: /^https?$/ }),
  sent_at: z.iso.datetime(),
  interval_ms: z.int().min(GPU_MONITOR_INTERVAL_MS.min).max(GPU_MONITOR_INTERVAL_MS.max),
  gpus: z.array(GpuSnapshotSchema).min(1).max(64),
  loaded_models: z.array(LoadedModelSchema).max(256),
  queue_depth: z.int().min(0),
  in_flight: z.int().min(0),
  tokens_per_second: z.number().min(0),
  version: freeText({ max: 64 }).optional(),
  /** Conversion jobs this worker holds a lease on (a drain waits for them too). */
  conversion_jobs: z.int().min(0).optional(),
  /** The worker is shutting down (SIGTERM): it finishes what it has and takes nothing new. */
  draining: z.boolean().optional(),
});
export type WorkerHeartbeat = z.infer<typeof WorkerHeartbeatSchema>;

/** How the pool stores a worker: the last heartbeat and when the edge received it. */
export const WorkerStateSchema = z.strictObject({
  heartbeat: WorkerHeartbeatSchema,
  received_at: z.iso.datetime(),
  /**
   * The worker's enrolment labels, attached by the pool when it hands the fleet to routing (a
   * heartbeat cannot set them: a worker does not choose its own placement). Absent: no labels.
   */
  labels: WorkerLabelsSchema.optional(),
});
export type WorkerState = z.infer<typeof WorkerStateSchema>;

/** The edge's answer to a heartbeat. */
export const HeartbeatAcceptedSchema = z.strictObject({
  worker_id: WorkerHeartbeatSchema.shape.worker_id,
  received_at: z.iso.datetime(),
  /**
   * Versions placement asks this worker to keep warm (a version's `serving.placement.min_replicas`,
   * issue 17): the worker loads those it does not hold yet, as a request would.
   */
  preload: z.array(ModelVersionSchema).max(64).default([]),
});
export type HeartbeatAccepted = z.output<typeof HeartbeatAcceptedSchema>;

export const WorkerListEntrySchema = WorkerStateSchema.extend({
  age_ms: z.number(),
  live: z.boolean(),
  /** The edge's circuit breaker for this worker: open means failing forwards keep it out of routing. */
  circuit: z.enum(["closed", "open", "half-open"]).optional(),
  /** Enrolled workers' identity (absent for workers that heartbeat with the legacy shared token). */
  identity: WorkerIdentityViewSchema.optional(),
  control: WorkerControlSchema.optional(),
  /** Whether it takes new work, and how far a cordon or drain has got. */
  drain_state: WorkerDrainStateSchema.optional(),
});
export type WorkerListEntry = z.infer<typeof WorkerListEntrySchema>;
