import {
  type ConversionJob,
  type ConversionProgressRequest,
  type ConversionRequestInput,
  err,
  type FailConversionRequest,
  ModelgateError,
  ok,
} from "@modelgate/shared";
import { type EdgeBindings, EdgeConfigFieldsSchema } from "../env.js";
import { LeasedJobQueue } from "../jobs/leased-job-queue.js";
import { toWire, type WireResult } from "../registry/wire-result.js";
import { type ConversionJobFilter, ConversionJobTable } from "./conversion-job-table.js";
import {
  applyProgress,
  type ConversionJobResult,
  cancelJob,
  claimJob,
  completeJob,
  expireLease,
  failJob,
  newConversionJob,
  renewLease,
} from "./conversion-jobs.js";

const DEFAULT_LEASE_MS = 30_000;

/** A claimed job and how long its lease lasts without a renewal. */
export interface ClaimedJob {
  job: ConversionJob;
  leaseMs: number;
}

/**
 * The conversion job queue: one instance (`idFromName("global")`) so every isolate sees the
 * same jobs; the lease handling shared with evaluations is in jobs/leased-job-queue.ts.
 */
export class ConversionQueue extends LeasedJobQueue<ConversionJob> {
  protected readonly jobs: ConversionJobTable;
  protected readonly noun = "Conversion job";
  private readonly leaseMs: number;

  constructor(ctx: DurableObjectState, env: EdgeBindings) {
    super(ctx, env);
    this.jobs = new ConversionJobTable(ctx.storage.sql);
    this.leaseMs = leaseMsFrom(env);
  }

  protected expire(job: ConversionJob, now: number): ConversionJob {
    return expireLease(job, now);
  }

  async enqueue(
    model: string,
    version: number,
    request: ConversionRequestInput,
    actor: string,
    now: number = Date.now(),
  ): Promise<WireResult<ConversionJob>> {
    // The same target twice at once is a double submission, not more work: point at the job.
    const overlapping = this.jobs
      .activeFor(model, version)
      .find((active) => active.targets.some((target) => request.targets.includes(target)));
    if (overlapping !== undefined) {
      const shared = overlapping.targets.filter((target) => request.targets.includes(target));
      return toWire(
        err(
          new ModelgateError(
            "conflict",
            `${model}@${version} is already being converted to ${shared.join(", ")} by ${overlapping.id} (${overlapping.status}); follow it at /v1/conversions/${overlapping.id} or cancel it first.`,
            [{ field: "targets", message: `${shared.join(", ")} already queued or running in ${overlapping.id}` }],
          ),
        ),
      );
    }
    const job = newConversionJob(`cj_${crypto.randomUUID()}`, model, version, request, actor, now);
    this.jobs.insert(job);
    return toWire(ok(job));
  }

  async get(id: string): Promise<WireResult<ConversionJob>> {
    return toWire(this.find(id));
  }

  async list(filter: ConversionJobFilter): Promise<ConversionJob[]> {
    return this.listJobs(filter);
  }

  /** The oldest queued job, leased to `workerId`; null when nothing is waiting. */
  async claim(workerId: string, now: number = Date.now()): Promise<ClaimedJob | null> {
    const oldest = this.oldestClaimable(now);
    const claimed = oldest ? claimJob(oldest, workerId, this.leaseMs, now) : undefined;
    if (claimed) this.jobs.update(claimed);
    await this.scheduleAlarm();
    return claimed ? { job: claimed, leaseMs: this.leaseMs } : null;
  }

  /** Stores the worker's report and renews its lease; a cancelled job comes back as such so the worker stops. */
  async progress(
    id: string,
    report: ConversionProgressRequest,
    now: number = Date.now(),
  ): Promise<WireResult<ConversionJob>> {
    const held = this.held(id, report.worker_id, "cancelled");
    if (!held.ok) return toWire(held);
    const next = applyProgress(held.value, report, this.leaseMs, now);
    if (next !== held.value) this.jobs.update(next);
    await this.scheduleAlarm();
    return toWire(ok(next));
  }

  /**
   * Confirms `workerId` holds a running job and renews its lease, before the edge checks the
   * files a finished job names and records them in the registry (a non-holder never gets there).
   * `repeating` lets a worker whose complete succeeded but whose answer was lost send it again.
   */
  async confirmLease(
    id: string,
    workerId: string,
    repeating?: "succeeded",
    now: number = Date.now(),
  ): Promise<WireResult<ConversionJob>> {
    const held = this.held(id, workerId, repeating);
    if (!held.ok) return toWire(held);
    const renewed = renewLease(held.value, this.leaseMs, now);
    if (renewed !== held.value) this.jobs.update(renewed);
    await this.scheduleAlarm();
    return toWire(ok(renewed));
  }

  async complete(
    id: string,
    workerId: string,
    result: ConversionJobResult,
    now: number = Date.now(),
  ): Promise<WireResult<ConversionJob>> {
    const held = this.held(id, workerId, "succeeded");
    if (!held.ok) return toWire(held);
    const done = completeJob(held.value, result, now);
    if (done !== held.value) this.jobs.update(done);
    await this.scheduleAlarm();
    return toWire(ok(done));
  }

  async fail(id: string, failure: FailConversionRequest, now: number = Date.now()): Promise<WireResult<ConversionJob>> {
    const held = this.held(id, failure.worker_id);
    if (!held.ok) return toWire(held);
    const failed = failJob(held.value, failure, now);
    this.jobs.update(failed);
    await this.scheduleAlarm();
    return toWire(ok(failed));
  }

  async cancel(id: string, actor: string, now: number = Date.now()): Promise<WireResult<ConversionJob>> {
    const found = this.find(id);
    if (!found.ok) return toWire(found);
    const cancelled = cancelJob(found.value, actor, now);
    if (!cancelled.ok) return toWire(cancelled);
    this.jobs.update(cancelled.value);
    await this.scheduleAlarm();
    return toWire(cancelled);
  }
}

/**
 * The lease length from the edge's variables. The request context has already refused an
 * invalid value with a 500 naming it, so the default here only covers calls made outside a request.
 */
function leaseMsFrom(env: EdgeBindings): number {
  const config = EdgeConfigFieldsSchema.pick({ MODELGATE_CONVERSION_LEASE_MS: true }).safeParse(env);
  return config.success ? config.data.MODELGATE_CONVERSION_LEASE_MS : DEFAULT_LEASE_MS;
}

export function conversionQueue(env: EdgeBindings): DurableObjectStub<ConversionQueue> {
  return env.CONVERSION_QUEUE.get(env.CONVERSION_QUEUE.idFromName("global"));
}
