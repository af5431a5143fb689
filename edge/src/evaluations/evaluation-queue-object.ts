import {
  type ClaimedEvaluation,
  type EvaluationJob,
  type EvaluationJobRecord,
  EvaluationJobRecordSchema,
  type EvaluationJobStatus,
  type EvaluationProgressRequest,
  type EvaluationRequestInput,
  err,
  type FailEvaluationRequest,
  ModelgateError,
  ok,
} from "@modelgate/shared";
import { type EdgeBindings, EdgeConfigFieldsSchema } from "../env.js";
import { cancelLeasedJob, leaseJob, renewLease } from "../jobs/job-leases.js";
import { LeasedJobQueue } from "../jobs/leased-job-queue.js";
import { LeasedJobTable } from "../jobs/leased-job-table.js";
import { toWire, type WireResult } from "../registry/wire-result.js";
import {
  applyEvaluationProgress,
  chunkCount,
  completeEvaluationJob,
  EVALUATION_NOUN,
  expectedChunkResults,
  expireEvaluationLease,
  failEvaluationJob,
  newEvaluationJob,
  publicEvaluationJob,
  type ResolvedEvaluation,
} from "./evaluation-jobs.js";

const DEFAULT_LEASE_MS = 30_000;

export interface EvaluationListFilter {
  status?: EvaluationJobStatus | undefined;
  limit: number;
}

/**
 * The evaluation job queue: one instance (`idFromName("global")`), the same leased-job queue
 * as conversions (jobs/leased-job-queue.ts) with its own table. Jobs are filed under their
 * first target's model.
 */
export class EvaluationQueue extends LeasedJobQueue<EvaluationJobRecord> {
  protected readonly jobs: LeasedJobTable<EvaluationJobRecord>;
  protected readonly noun = EVALUATION_NOUN;
  private readonly leaseMs: number;

  constructor(ctx: DurableObjectState, env: EdgeBindings) {
    super(ctx, env);
    this.jobs = new LeasedJobTable(ctx.storage.sql, {
      table: "evaluation_jobs",
      schema: EvaluationJobRecordSchema,
      modelOf: (job) => job.targets[0]?.model ?? "",
    });
    const config = EdgeConfigFieldsSchema.pick({ MODELGATE_EVALUATION_LEASE_MS: true }).safeParse(env);
    this.leaseMs = config.success ? config.data.MODELGATE_EVALUATION_LEASE_MS : DEFAULT_LEASE_MS;
  }

  protected expire(job: EvaluationJobRecord, now: number): EvaluationJobRecord {
    return expireEvaluationLease(job, now);
  }

  async enqueue(
    request: EvaluationRequestInput,
    resolved: ResolvedEvaluation,
    actor: string,
    now: number = Date.now(),
  ): Promise<EvaluationJob> {
    const job = newEvaluationJob(`ej_${crypto.randomUUID()}`, request, resolved, actor, now);
    this.jobs.insert(job);
    return publicEvaluationJob(job);
  }

  async get(id: string): Promise<WireResult<EvaluationJob>> {
    const found = this.find(id);
    return toWire(found.ok ? ok(publicEvaluationJob(found.value)) : found);
  }

  async list(filter: EvaluationListFilter): Promise<EvaluationJob[]> {
    return this.listJobs(filter).map(publicEvaluationJob);
  }

  /** The oldest queued job, leased to `workerId`, with what the worker needs to run it; null when none waits. */
  async claim(workerId: string, now: number = Date.now()): Promise<ClaimedEvaluation | null> {
    const oldest = this.oldestClaimable(now);
    const claimed = oldest ? leaseJob(oldest, workerId, this.leaseMs, now) : undefined;
    if (claimed) this.jobs.update(claimed);
    await this.scheduleAlarm();
    if (!claimed) return null;
    return {
      job: publicEvaluationJob(claimed),
      served_targets: claimed.served_targets,
      judge_targets: claimed.judge_targets,
      ...(claimed.caws_tier_cap === undefined ? {} : { caws_tier_cap: claimed.caws_tier_cap }),
      lease_ms: this.leaseMs,
    };
  }

  /**
   * Renews the lease and records a finished part. A part outside the job, or one short of its
   * rows, is refused (422) so `completed` can only ever count real rows; a cancelled job comes
   * back as such so the worker stops.
   */
  async progress(
    id: string,
    report: EvaluationProgressRequest,
    now: number = Date.now(),
  ): Promise<WireResult<EvaluationJob>> {
    const held = this.held(id, report.worker_id, "cancelled");
    if (!held.ok) return toWire(held);
    const chunk = report.chunk;
    if (chunk !== undefined) {
      const problem =
        chunk.index >= chunkCount(held.value)
          ? `the job has parts 0 to ${chunkCount(held.value) - 1}`
          : chunk.results !== expectedChunkResults(held.value, chunk.index)
            ? `part ${chunk.index} holds ${expectedChunkResults(held.value, chunk.index)} results (its lines on every target)`
            : undefined;
      if (problem !== undefined) {
        return toWire(
          err(
            new ModelgateError("validation_failed", `Part ${chunk.index} does not fit job ${id}.`, [
              { field: chunk.index >= chunkCount(held.value) ? "chunk.index" : "chunk.results", message: problem },
            ]),
          ),
        );
      }
    }
    const next = applyEvaluationProgress(held.value, report, this.leaseMs, now);
    if (next !== held.value) this.jobs.update(next);
    await this.scheduleAlarm();
    return toWire(ok(publicEvaluationJob(next)));
  }

  /**
   * Confirms `workerId` holds the running job (or, repeating a complete whose answer was lost,
   * completed it) and renews the lease while the edge checks the files; every part must be recorded.
   */
  async confirmLease(
    id: string,
    workerId: string,
    repeating?: "succeeded",
    now: number = Date.now(),
  ): Promise<WireResult<EvaluationJob>> {
    const held = this.held(id, workerId, repeating);
    if (!held.ok) return toWire(held);
    if (held.value.status === "running" && held.value.chunks.length < chunkCount(held.value)) {
      return toWire(
        err(
          new ModelgateError(
            "conflict",
            `Job ${id} has ${held.value.chunks.length} of ${chunkCount(held.value)} parts recorded; report every part before completing.`,
          ),
        ),
      );
    }
    const renewed = renewLease(held.value, this.leaseMs, now);
    if (renewed !== held.value) this.jobs.update(renewed);
    await this.scheduleAlarm();
    return toWire(ok(publicEvaluationJob(renewed)));
  }

  async complete(
    id: string,
    workerId: string,
    result: NonNullable<EvaluationJob["result"]>,
    now: number = Date.now(),
  ): Promise<WireResult<EvaluationJob>> {
    const held = this.held(id, workerId, "succeeded");
    if (!held.ok) return toWire(held);
    const done = completeEvaluationJob(held.value, result, now);
    if (done !== held.value) this.jobs.update(done);
    await this.scheduleAlarm();
    return toWire(ok(publicEvaluationJob(done)));
  }

  async fail(id: string, failure: FailEvaluationRequest, now: number = Date.now()): Promise<WireResult<EvaluationJob>> {
    const held = this.held(id, failure.worker_id);
    if (!held.ok) return toWire(held);
    const failed = failEvaluationJob(held.value, failure, now);
    this.jobs.update(failed);
    await this.scheduleAlarm();
    return toWire(ok(publicEvaluationJob(failed)));
  }

  async cancel(id: string, actor: string, now: number = Date.now()): Promise<WireResult<EvaluationJob>> {
    const found = this.find(id);
    if (!found.ok) return toWire(found);
    const cancelled = cancelLeasedJob(found.value, actor, EVALUATION_NOUN, now);
    if (!cancelled.ok) return toWire(cancelled);
    this.jobs.update(cancelled.value);
    await this.scheduleAlarm();
    return toWire(ok(publicEvaluationJob(cancelled.value)));
  }
}

/** The queue's methods as callers use them over RPC. */
export type EvaluationQueueApi = Pick<
  EvaluationQueue,
  "enqueue" | "get" | "list" | "claim" | "progress" | "confirmLease" | "complete" | "fail" | "cancel" | "summary"
>;

/**
 * The queue's stub, typed as the class. The RPC types cannot express the jobs' JSON Schema
 * judges (`unknown` values inside plain JSON), and would make every answer `unknown`; the values
 * themselves are plain JSON, which RPC carries as they are.
 */
export function evaluationQueue(env: EdgeBindings): EvaluationQueueApi {
  return env.EVALUATION_QUEUE.get(env.EVALUATION_QUEUE.idFromName("global")) as unknown as EvaluationQueueApi;
}
