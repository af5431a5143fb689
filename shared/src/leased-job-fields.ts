import { z } from "zod";
import { freeText } from "./free-text.js";

/**
 * The fields every leased job has (conversions and evaluations), with the same meaning: who
 * holds it until when, how many claims it took, and when it was created, started and ended.
 * The edge's lease rules (edge/src/jobs/job-leases.ts) read and write exactly these.
 */
export const LeasedJobFieldsShape = {
  message: z.string().max(1000).optional(),
  /** Claims so far; a job whose worker stops renewing its lease is handed to another worker. */
  attempts: z.int().min(0),
  max_attempts: z.int().min(1),
  worker_id: z.string().max(128).optional(),
  lease_expires_at: z.iso.datetime().optional(),
  cancel_requested: z.boolean(),
  created_at: z.iso.datetime(),
  created_by: z.string(),
  updated_at: z.iso.datetime(),
  started_at: z.iso.datetime().optional(),
  finished_at: z.iso.datetime().optional(),
};

/** What a worker sends to claim a job of either kind. */
/** The worker names itself in every request; free text, but one line without control characters. */
export const WorkerIdTextSchema = freeText({ max: 128, min: 1 });

export const ClaimJobRequestSchema = z.strictObject({ worker_id: WorkerIdTextSchema });
