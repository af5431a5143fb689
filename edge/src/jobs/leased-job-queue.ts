import { DurableObject } from "cloudflare:workers";
import { err, ModelgateError, ok, type Result } from "@modelgate/shared";
import type { EdgeBindings } from "../env.js";
import { checkLeaseHolder, type JobStatus, type LeasedJob } from "./job-leases.js";
import type { LeasedJobFilter, LeasedJobTable } from "./leased-job-table.js";

/**
 * What every leased-job queue object does the same way (one instance per kind, so every
 * isolate sees the same jobs): find a job, check who holds it, hand back jobs whose lease ran
 * out — before every claim, and from an alarm at the earliest expiry when no worker is claiming
 * — and answer lists and metrics. Each method reads and writes the table synchronously, without
 * an await in between, and a Durable Object runs one such turn at a time, so two simultaneous
 * claims can never take the same job. The kind supplies its table, its noun and how a job
 * looks once its lease expired.
 */
export abstract class LeasedJobQueue<J extends LeasedJob> extends DurableObject<EdgeBindings> {
  protected abstract readonly jobs: LeasedJobTable<J>;
  /** "Conversion job", "Evaluation job": how details name the kind. */
  protected abstract readonly noun: string;
  /** The job once its lease ran out (requeued or given up); see job-leases.ts `expireJobLease`. */
  protected abstract expire(job: J, now: number): J;

  /** Jobs per status and how long the oldest queued one has waited, for the edge's metrics. */
  async summary(now: number = Date.now()): Promise<{
    counts: Partial<Record<JobStatus, number>>;
    oldestQueuedAgeMs: number;
  }> {
    const oldest = this.jobs.oldestQueued();
    return {
      counts: this.jobs.countsByStatus(),
      oldestQueuedAgeMs: oldest ? Math.max(0, now - Date.parse(oldest.created_at)) : 0,
    };
  }

  /** Runs at the earliest lease expiry: a job whose worker died goes back even if no one claims. */
  override async alarm(): Promise<void> {
    this.handBackExpiredLeases(Date.now());
    await this.scheduleAlarm();
  }

  protected listJobs(filter: LeasedJobFilter): J[] {
    return this.jobs.list(filter);
  }

  protected find(id: string): Result<J> {
    const job = this.jobs.get(id);
    return job ? ok(job) : err(new ModelgateError("not_found", `No ${this.noun.toLowerCase()} ${id}.`));
  }

  protected held(id: string, workerId: string, alsoAccepted?: JobStatus): Result<J> {
    const found = this.find(id);
    return found.ok ? checkLeaseHolder(found.value, workerId, this.noun, alsoAccepted) : found;
  }

  /** Expired leases handed back first, then the oldest queued job (undefined: nothing waits). */
  protected oldestClaimable(now: number): J | undefined {
    this.handBackExpiredLeases(now);
    return this.jobs.oldestQueued();
  }

  protected handBackExpiredLeases(now: number): void {
    for (const job of this.jobs.runningWithLeaseBefore(now)) this.jobs.update(this.expire(job, now));
  }

  protected async scheduleAlarm(): Promise<void> {
    const next = this.jobs.earliestLeaseExpiry();
    if (next === undefined) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(next);
  }
}
