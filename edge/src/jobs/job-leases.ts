import {
  type ConversionJobStatus,
  err,
  ModelgateError,
  ok,
  type Result,
  TERMINAL_JOB_STATUSES,
} from "@modelgate/shared";

/**
 * The lease rules every leased job follows (conversions and evaluations), as pure transitions
 * the queue objects store: queued → running (claimed: leased to one worker, renewed by its
 * reports) → succeeded | failed | cancelled, and running → queued again when the worker stops
 * renewing and attempts remain. Each kind adds its own fields (steps, progress) on top.
 */

export type JobStatus = ConversionJobStatus;

/** The fields the lease rules read and write; both job kinds have them with these meanings. */
export interface LeasedJob {
  id: string;
  status: JobStatus;
  worker_id?: string | undefined;
  lease_expires_at?: string | undefined;
  attempts: number;
  max_attempts: number;
  cancel_requested: boolean;
  message?: string | undefined;
  created_at: string;
  updated_at: string;
  started_at?: string | undefined;
  finished_at?: string | undefined;
}

/** Claims before a job whose workers keep disappearing is given up on. */
export const MAX_JOB_ATTEMPTS = 3;

export const iso = (ms: number) => new Date(ms).toISOString();

/** The worker's previous attempt leaves no lease or message behind when the job waits again. */
export function withoutLease<J extends LeasedJob>(job: J): J {
  const { worker_id: _worker, lease_expires_at: _lease, message: _message, ...rest } = job;
  return rest as J;
}

/** A queued job leased to `workerId` for `leaseMs`. */
export function leaseJob<J extends LeasedJob>(job: J, workerId: string, leaseMs: number, now: number): J {
  return {
    ...withoutLease(job),
    status: "running",
    worker_id: workerId,
    lease_expires_at: iso(now + leaseMs),
    attempts: job.attempts + 1,
    started_at: iso(now),
    updated_at: iso(now),
  };
}

/** Why a lease ended, for the job's error list. */
export function leaseExpiredMessage(job: LeasedJob): string {
  return `lease expired: worker ${job.worker_id ?? "unknown"} stopped renewing`;
}

/**
 * A running job whose lease ran out: `requeued` when attempts remain (the kind resets its own
 * progress fields), else failed with `gave up after N attempts`.
 */
export function expireJobLease<J extends LeasedJob>(job: J, now: number, requeued: (job: J) => J): J {
  if (job.attempts >= job.max_attempts) {
    return {
      ...job,
      lease_expires_at: undefined,
      status: "failed",
      message: `gave up after ${job.attempts} attempts`,
      updated_at: iso(now),
      finished_at: iso(now),
    };
  }
  return {
    ...requeued(withoutLease(job)),
    status: "queued",
    message: `waiting for a worker (attempt ${job.attempts + 1} of ${job.max_attempts})`,
    updated_at: iso(now),
  };
}

/**
 * Whether `workerId` still holds the job: it is running under that worker's lease, or it is in
 * `alsoAccepted` having ended under that lease — a cancelled job, so the worker's next report
 * hears about the cancellation instead of a bare conflict; a succeeded one, so a complete
 * repeated after a lost answer gets the same answer again. `noun` names the kind in the detail.
 */
export function checkLeaseHolder<J extends LeasedJob>(
  job: J,
  workerId: string,
  noun: string,
  alsoAccepted?: JobStatus,
): Result<J> {
  const held = job.worker_id === workerId;
  if (held && (job.status === "running" || job.status === alsoAccepted)) return ok(job);
  return err(new ModelgateError("conflict", leaseLostDetail(job, workerId, noun)));
}

function leaseLostDetail(job: LeasedJob, workerId: string, noun: string): string {
  const prefix = `${noun} ${job.id} is not held by worker ${workerId}:`;
  if (job.status === "running") return `${prefix} its lease moved to worker ${job.worker_id ?? "unknown"}.`;
  if (job.status === "queued") return `${prefix} its lease expired and it is waiting for a worker.`;
  if (job.status === "cancelled") return `${prefix} the job was cancelled; stop working on it.`;
  return `${prefix} the job already ended (${job.status}).`;
}

/** Keeps a running job's lease alive (a report, or the edge checking a finished job's files). */
export function renewLease<J extends LeasedJob>(job: J, leaseMs: number, now: number): J {
  if (job.status !== "running") return job;
  return { ...job, lease_expires_at: iso(now + leaseMs), updated_at: iso(now) };
}

/** Queued and running jobs stop at once; the running job's worker hears it on its next report. */
export function cancelLeasedJob<J extends LeasedJob>(job: J, actor: string, noun: string, now: number): Result<J> {
  if (TERMINAL_JOB_STATUSES.has(job.status)) {
    return err(new ModelgateError("conflict", `${noun} ${job.id} already ended (${job.status}).`));
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

/** A job that ended: no lease left, the end time set. */
export function endJob<J extends LeasedJob>(job: J, status: "succeeded" | "failed", now: number): J {
  return { ...job, lease_expires_at: undefined, status, updated_at: iso(now), finished_at: iso(now) };
}
