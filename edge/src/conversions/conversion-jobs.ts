import {
  type ConversionJob,
  type ConversionJobError,
  type ConversionJobStatus,
  type ConversionProgressRequest,
  type ConversionRequestInput,
  err,
  type FailConversionRequest,
  ModelgateError,
  ok,
  type Result,
  TERMINAL_JOB_STATUSES,
} from "@modelgate/shared";

/**
 * A conversion job's life as pure transitions (the queue object stores what they return):
 * queued → running (claimed, leased) → succeeded | failed | cancelled, and running → queued
 * again when the worker stops renewing its lease and attempts remain.
 */

/** A finished job's short summary per format (ConversionJobResultSchema). */
export type ConversionJobResult = NonNullable<ConversionJob["result"]>;

/** Claims before a job whose workers keep disappearing is given up on. */
export const MAX_CONVERSION_ATTEMPTS = 3;

const iso = (ms: number) => new Date(ms).toISOString();

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

/** The worker's previous attempt leaves no step, detail or lease behind when the job waits again. */
function withoutAttempt(job: ConversionJob): ConversionJob {
  const { worker_id: _worker, lease_expires_at: _lease, step_detail: _detail, message: _message, ...rest } = job;
  return rest;
}

export function claimJob(job: ConversionJob, workerId: string, leaseMs: number, now: number): ConversionJob {
  return {
    ...withoutAttempt(job),
    status: "running",
    // Every pipeline starts by fetching the source; the worker reports finer steps as it goes.
    step: "download",
    progress: 0,
    worker_id: workerId,
    lease_expires_at: iso(now + leaseMs),
    attempts: job.attempts + 1,
    started_at: iso(now),
    updated_at: iso(now),
  };
}

/** A running job whose lease ran out: back to the queue, or failed once its attempts are spent. */
export function expireLease(job: ConversionJob, now: number): ConversionJob {
  const worker = job.worker_id ?? "unknown";
  const error: ConversionJobError = {
    step: job.step,
    message: `lease expired: worker ${worker} stopped renewing`,
    at: iso(now),
    worker_id: worker,
  };
  const errors = [...job.errors, error];
  if (job.attempts >= job.max_attempts) {
    return {
      ...job,
      lease_expires_at: undefined,
      status: "failed",
      errors,
      message: `gave up after ${job.attempts} attempts`,
      updated_at: iso(now),
      finished_at: iso(now),
    };
  }
  return {
    ...withoutAttempt(job),
    status: "queued",
    step: "queued",
    progress: 0,
    errors,
    message: `waiting for a worker (attempt ${job.attempts + 1} of ${job.max_attempts})`,
    updated_at: iso(now),
  };
}

/**
 * Whether `workerId` still holds the job: it is running under that worker's lease, or it is in
 * `alsoAccepted` having ended under that lease — a cancelled job, so the worker's next report
 * hears about the cancellation instead of a bare conflict; a succeeded one, so a complete
 * repeated after a lost answer gets the same answer again.
 */
export function checkLeaseHolder(
  job: ConversionJob,
  workerId: string,
  alsoAccepted?: ConversionJobStatus,
): Result<ConversionJob> {
  const held = job.worker_id === workerId;
  if (held && (job.status === "running" || job.status === alsoAccepted)) return ok(job);
  return err(new ModelgateError("conflict", leaseLostDetail(job, workerId)));
}

function leaseLostDetail(job: ConversionJob, workerId: string): string {
  const prefix = `Conversion job ${job.id} is not held by worker ${workerId}:`;
  if (job.status === "running") return `${prefix} its lease moved to worker ${job.worker_id ?? "unknown"}.`;
  if (job.status === "queued") return `${prefix} its lease expired and it is waiting for a worker.`;
  if (job.status === "cancelled") return `${prefix} the job was cancelled; stop working on it.`;
  return `${prefix} the job already ended (${job.status}).`;
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

/** Keeps the lease alive while the edge checks a finished job's files (which may take a while). */
export function renewLease(job: ConversionJob, leaseMs: number, now: number): ConversionJob {
  if (job.status !== "running") return job;
  return { ...job, lease_expires_at: iso(now + leaseMs), updated_at: iso(now) };
}

export function completeJob(job: ConversionJob, result: ConversionJobResult, now: number): ConversionJob {
  if (job.status === "succeeded") return job;
  return {
    ...job,
    lease_expires_at: undefined,
    status: "succeeded",
    step: "done",
    step_detail: undefined,
    progress: 1,
    message: undefined,
    result,
    updated_at: iso(now),
    finished_at: iso(now),
  };
}

export function failJob(job: ConversionJob, failure: FailConversionRequest, now: number): ConversionJob {
  const error: ConversionJobError = { ...failure.error, at: iso(now), worker_id: failure.worker_id };
  return {
    ...job,
    lease_expires_at: undefined,
    status: "failed",
    step: failure.error.step,
    errors: [...job.errors, error],
    message: failure.error.message.slice(0, 1000),
    updated_at: iso(now),
    finished_at: iso(now),
  };
}

/** Queued and running jobs stop at once; the running job's worker hears it on its next report. */
export function cancelJob(job: ConversionJob, actor: string, now: number): Result<ConversionJob> {
  if (TERMINAL_JOB_STATUSES.has(job.status)) {
    return err(new ModelgateError("conflict", `Conversion job ${job.id} already ended (${job.status}).`));
  }
  return ok({
    ...job,
    lease_expires_at: undefined,
    status: "cancelled",
    cancel_requested: true,
    message: `cancelled by ${actor}`,
    updated_at: iso(now),
    finished_at: iso(now),
  });
}
