import type {
  ConversionJob,
  ConversionJobError,
  ConversionProgressRequest,
  ConversionRequestInput,
  FailConversionRequest,
  Result,
} from "@modelgate/shared";
import {
  cancelLeasedJob,
  endJob,
  expireJobLease,
  checkLeaseHolder as holderOf,
  iso,
  leaseExpiredMessage,
  leaseJob,
  MAX_JOB_ATTEMPTS,
} from "../jobs/job-leases.js";

export { renewLease } from "../jobs/job-leases.js";

/**
 * A conversion job's life on top of the lease rules every leased job follows (jobs/job-leases.ts):
 * the pipeline step and progress, reset whenever the job waits for a worker again.
 */

/** A finished job's short summary per format (ConversionJobResultSchema). */
export type ConversionJobResult = NonNullable<ConversionJob["result"]>;

/** Claims before a job whose workers keep disappearing is given up on. */
export const MAX_CONVERSION_ATTEMPTS = MAX_JOB_ATTEMPTS;

const NOUN = "Conversion job";

export function newConversionJob(
  id: string,
  model: string,
  version: number,
  request: ConversionRequestInput,
  actor: string,
  now: number,
): ConversionJob {
  const at = iso(now);
  return {
    id,
    model,
    version,
    targets: request.targets,
    shapes: request.shapes,
    primary: request.primary,
    thresholds: request.thresholds,
    status: "queued",
    step: "queued",
    progress: 0,
    errors: [],
    attempts: 0,
    max_attempts: MAX_CONVERSION_ATTEMPTS,
    cancel_requested: false,
    created_at: at,
    created_by: actor,
    updated_at: at,
  };
}

export function claimJob(job: ConversionJob, workerId: string, leaseMs: number, now: number): ConversionJob {
  const { step_detail: _detail, ...leased } = leaseJob(job, workerId, leaseMs, now);
  // Every pipeline starts by fetching the source; the worker reports finer steps as it goes.
  return { ...leased, step: "download", progress: 0 };
}

/** A running job whose lease ran out: back to the queue, or failed once its attempts are spent. */
export function expireLease(job: ConversionJob, now: number): ConversionJob {
  const error: ConversionJobError = {
    step: job.step,
    message: leaseExpiredMessage(job),
    at: iso(now),
    worker_id: job.worker_id ?? "unknown",
  };
  const withError = { ...job, errors: [...job.errors, error] };
  return expireJobLease(withError, now, ({ step_detail: _detail, ...waiting }) => ({
    ...waiting,
    step: "queued",
    progress: 0,
  }));
}

/** See jobs/job-leases.ts: the worker holds the job, or it ended as `alsoAccepted` under its lease. */
export function checkLeaseHolder(
  job: ConversionJob,
  workerId: string,
  alsoAccepted?: ConversionJob["status"],
): Result<ConversionJob> {
  return holderOf(job, workerId, NOUN, alsoAccepted);
}

/** Progress renews the lease; on a cancelled job it changes nothing (the worker learns it must stop). */
export function applyProgress(
  job: ConversionJob,
  report: ConversionProgressRequest,
  leaseMs: number,
  now: number,
): ConversionJob {
  if (job.status !== "running") return job;
  return {
    ...job,
    step: report.step,
    step_detail: report.step_detail,
    progress: report.progress,
    message: report.message,
    lease_expires_at: iso(now + leaseMs),
    updated_at: iso(now),
  };
}

export function completeJob(job: ConversionJob, result: ConversionJobResult, now: number): ConversionJob {
  if (job.status === "succeeded") return job;
  return {
    ...endJob(job, "succeeded", now),
    step: "done",
    step_detail: undefined,
    progress: 1,
    message: undefined,
    result,
  };
}

export function failJob(job: ConversionJob, failure: FailConversionRequest, now: number): ConversionJob {
  const error: ConversionJobError = { ...failure.error, at: iso(now), worker_id: failure.worker_id };
  return {
    ...endJob(job, "failed", now),
    step: failure.error.step,
    errors: [...job.errors, error],
    message: failure.error.message.slice(0, 1000),
  };
}

/** Queued and running jobs stop at once; the running job's worker hears it on its next report. */
export function cancelJob(job: ConversionJob, actor: string, now: number): Result<ConversionJob> {
  return cancelLeasedJob(job, actor, NOUN, now);
}
