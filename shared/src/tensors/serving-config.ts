/**
 * How a version is served (Triton's model configuration, in the registry): whether concurrent
 * requests to a tensor model are stacked along the batch dimension and run as one, how large a
 * batch may grow and how long a request may wait for others. Mutable like the rest of a
 * version's metadata (`PATCH … {"serving": …}`), so a batch size can be tuned without a new
 * version.
 */
import { z } from "zod";
import type { IoContract } from "../model-version.js";
import { WorkerIdSchema, WorkerLabelsSchema } from "../worker-fleet.js";

export const DEFAULT_MAX_BATCH_SIZE = 64;
/**
 * Under 1 ms the worker waits one turn of its event loop instead of a timer (Node's timers have
 * millisecond resolution): requests that have already arrived join, nothing waits longer.
 */
export const DEFAULT_MAX_QUEUE_DELAY_US = 100;

export const DynamicBatchingSchema = z.strictObject({
  /** A batch of (a sum of rows equal to) one of these is sent at once, without waiting out the delay. */
  preferred_batch_sizes: z.array(z.int().min(1).max(4096)).max(16).optional(),
  /** How long the first request of a batch may wait for others (Triton's max_queue_delay_microseconds). */
  max_queue_delay_us: z.int().min(0).max(1_000_000).optional(),
});

/**
 * Which workers may hold a version (issue 17): every label in `worker_labels` must match the
 * worker's enrolment labels, and with `pinned_workers` only those ids qualify. `min_replicas`
 * matching workers are asked to preload it (warm), so the first request does not pay a cold load.
 * A version with labels or pins routes only to matching workers.
 */
export const PlacementSchema = z.strictObject({
  min_replicas: z.int().min(0).max(256).optional(),
  worker_labels: WorkerLabelsSchema.optional(),
  pinned_workers: z
    .array(WorkerIdSchema)
    .min(1)
    .max(64)
    .refine((ids) => new Set(ids).size === ids.length, "must not repeat a worker id")
    .optional(),
});
export type Placement = z.infer<typeof PlacementSchema>;

export const ServingConfigSchema = z
  .strictObject({
    /** Where the version may run and how many workers keep it warm. */
    placement: PlacementSchema.optional(),
    /**
     * Rows (the sum of the requests' first dimensions) one run may take; 0 says the first
     * dimension is not a batch dimension, which turns dynamic batching off (Triton's meaning).
     */
    max_batch_size: z.int().min(0).max(4096).optional(),
    /** `false` turns dynamic batching off; an object tunes it. On by default where the contract allows. */
    dynamic_batching: z.union([z.literal(false), DynamicBatchingSchema]).optional(),
  })
  .superRefine((config, ctx) => {
    const max = config.max_batch_size;
    const preferred = config.dynamic_batching === false ? [] : (config.dynamic_batching?.preferred_batch_sizes ?? []);
    if (max !== undefined && max > 0) {
      preferred.forEach((size, index) => {
        if (size > max) {
          ctx.addIssue({
            code: "custom",
            path: ["dynamic_batching", "preferred_batch_sizes", index],
            message: `must not exceed max_batch_size (${max})`,
          });
        }
      });
    }
  });
export type ServingConfig = z.infer<typeof ServingConfigSchema>;

export interface BatchingPolicy {
  maxBatchSize: number;
  maxQueueDelayUs: number;
  /** Ascending, unique. */
  preferredBatchSizes: number[];
}

export type BatchingDecision = { on: true; policy: BatchingPolicy } | { on: false; reason: string };

/**
 * The batch dimension of a contract: every input's and output's first dimension is dynamic,
 * and the inputs name it alike (`batch`, `N`, or all anonymous). A model whose first dimension
 * is something else (a VAD's `[2, batch, 128]` state, a fixed `[1, …]` input) has none, and
 * stacking its requests along that dimension would be wrong.
 */
export function batchDimensionOf(io: IoContract): string | undefined {
  const firstOf = (shape: readonly (number | string)[]) => shape[0];
  const inputDims = io.inputs.map((input) => firstOf(input.shape));
  const [first] = inputDims;
  if (typeof first !== "string") return undefined;
  if (!inputDims.every((dim) => dim === first)) return undefined;
  if (!io.outputs.every((output) => typeof firstOf(output.shape) === "string")) return undefined;
  return first;
}

/** Whether (and how) the worker batches requests to this version; the registry's `serving` over the defaults. */
export function batchingDecisionFor(version: {
  io: IoContract;
  serving?: ServingConfig | undefined;
}): BatchingDecision {
  const serving = version.serving ?? {};
  if (serving.max_batch_size === 0) return { on: false, reason: "serving.max_batch_size is 0" };
  if (serving.dynamic_batching === false) return { on: false, reason: "serving.dynamic_batching is false" };
  if (batchDimensionOf(version.io) === undefined) {
    return {
      on: false,
      reason: "the first dimension of the model's inputs and outputs is not one dynamic batch dimension",
    };
  }
  const maxBatchSize = serving.max_batch_size ?? DEFAULT_MAX_BATCH_SIZE;
  const tuning = serving.dynamic_batching ?? {};
  const preferred = [...new Set(tuning.preferred_batch_sizes ?? [])].filter((size) => size <= maxBatchSize);
  return {
    on: true,
    policy: {
      maxBatchSize,
      maxQueueDelayUs: tuning.max_queue_delay_us ?? DEFAULT_MAX_QUEUE_DELAY_US,
      preferredBatchSizes: preferred.sort((a, b) => a - b),
    },
  };
}
