/**
 * `POST /v1/models/:name/versions/:version/replica-tests` (seed 003's `models test`, issue 17):
 * one smoke generation or prediction on every live worker that may serve the version, each
 * reported on its own, so an operator sees which replica is broken rather than one pass/fail.
 */
import { z } from "zod";
import { freeText } from "./free-text.js";
import { WorkerIdSchema } from "./worker-fleet.js";

export const ReplicaTestResultSchema = z.strictObject({
  worker_id: WorkerIdSchema,
  ok: z.boolean(),
  /** The worker's HTTP status; null when it could not be reached, timed out or failed with a 5xx (`error` says which). */
  status: z.int().nullable(),
  /** From sending the request to the whole answer read. */
  latency_ms: z.number().min(0),
  /** Whether the worker's last heartbeat listed the version as loaded (a cold replica also loads it). */
  warm: z.boolean(),
  error: freeText({ max: 500 }).optional(),
});
export type ReplicaTestResult = z.infer<typeof ReplicaTestResultSchema>;

export const ReplicaTestReportSchema = z.strictObject({
  model: z.string(),
  version: z.int().min(1),
  /** `labels gpu=a10; min_replicas 2`, or `any worker`. */
  placement: z.string(),
  /** Every replica answered well. */
  ok: z.boolean(),
  results: z.array(ReplicaTestResultSchema),
});
export type ReplicaTestReport = z.infer<typeof ReplicaTestReportSchema>;
