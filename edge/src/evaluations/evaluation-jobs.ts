import {
  type CawsTier,
  EVALUATION_CHUNK_LINES,
  type EvaluationChunk,
  type EvaluationJob,
  type EvaluationJobError,
  type EvaluationJobRecord,
  type EvaluationProgressRequest,
  type EvaluationRequestInput,
  type EvaluationTarget,
  type FailEvaluationRequest,
  type ModelVersion,
} from "@modelgate/shared";
import { endJob, expireJobLease, iso, leaseExpiredMessage, MAX_JOB_ATTEMPTS } from "../jobs/job-leases.js";

/**
 * An evaluation job's life on top of the lease rules every leased job follows
 * (jobs/job-leases.ts). Unlike a conversion, its work is checkpointed: each finished results
 * part is recorded once by index, so a worker taking over after a lease expired skips every
 * recorded part — nothing is lost and nothing is counted twice — and `completed` is always the
 * sum of the recorded parts.
 */

export const EVALUATION_NOUN = "Evaluation job";

/** What the submission resolved: each target's served version and every model judge's scorer. */
export interface ResolvedEvaluation {
  lines: number;
  targets: Array<{ target: EvaluationTarget; served: ModelVersion }>;
  judgeTargets: Record<string, ModelVersion>;
  cawsTierCap?: CawsTier | undefined;
}

export function newEvaluationJob(
  id: string,
  request: EvaluationRequestInput,
  resolved: ResolvedEvaluation,
  actor: string,
  now: number,
): EvaluationJobRecord {
  const at = iso(now);
  const { dataset, judge, runtime_config, max_new_tokens, temperature, seed, name } = request;
  return {
    id,
    ...(name === undefined ? {} : { name }),
    dataset,
    lines: resolved.lines,
    targets: resolved.targets.map(({ target }) => target),
    ...(judge === undefined ? {} : { judge }),
    ...(runtime_config === undefined ? {} : { runtime_config }),
    ...(max_new_tokens === undefined ? {} : { max_new_tokens }),
    ...(temperature === undefined ? {} : { temperature }),
    ...(seed === undefined ? {} : { seed }),
    concurrency: request.concurrency,
    chunk_lines: EVALUATION_CHUNK_LINES,
    status: "queued",
    completed: 0,
    total: resolved.lines * resolved.targets.length,
    progress: 0,
    chunks: [],
    errors: [],
    attempts: 0,
    max_attempts: MAX_JOB_ATTEMPTS,
    cancel_requested: false,
    created_at: at,
    created_by: actor,
    updated_at: at,
    served_targets: resolved.targets.map(({ served }) => served),
    judge_targets: resolved.judgeTargets,
    ...(resolved.cawsTierCap === undefined ? {} : { caws_tier_cap: resolved.cawsTierCap }),
  };
}

/** The job as callers see it: the served version documents and tier cap stay in the queue. */
export function publicEvaluationJob(record: EvaluationJobRecord): EvaluationJob {
  const { served_targets: _served, judge_targets: _judges, caws_tier_cap: _cap, ...job } = record;
  return job;
}

/** A running job whose lease ran out: its recorded parts stay, so the next worker resumes after them. */
export function expireEvaluationLease(job: EvaluationJobRecord, now: number): EvaluationJobRecord {
  const error: EvaluationJobError = {
    message: leaseExpiredMessage(job),
    at: iso(now),
    worker_id: job.worker_id ?? "unknown",
  };
  return expireJobLease({ ...job, errors: [...job.errors, error] }, now, (waiting) => waiting);
}

/** Parts of a job: how many there are, and the line range (1-based, inclusive) of one. */
export function chunkCount(job: Pick<EvaluationJob, "lines" | "chunk_lines">): number {
  return Math.ceil(job.lines / job.chunk_lines);
}

export function chunkLineRange(job: Pick<EvaluationJob, "lines" | "chunk_lines">, index: number): [number, number] {
  const first = index * job.chunk_lines + 1;
  return [first, Math.min(job.lines, first + job.chunk_lines - 1)];
}

/** Rows a complete part holds: every line of its range on every target. */
export function expectedChunkResults(
  job: Pick<EvaluationJob, "lines" | "chunk_lines" | "targets">,
  index: number,
): number {
  const [first, last] = chunkLineRange(job, index);
  return (last - first + 1) * job.targets.length;
}

/**
 * Progress renews the lease; a reported part is recorded once by its index (a repeat after a
 * lost answer, or a part an earlier worker already recorded, changes nothing). On a job that is
 * no longer running nothing changes, so the worker learns it must stop.
 */
export function applyEvaluationProgress(
  job: EvaluationJobRecord,
  report: EvaluationProgressRequest,
  leaseMs: number,
  now: number,
): EvaluationJobRecord {
  if (job.status !== "running") return job;
  const chunks = withChunk(job.chunks, report.chunk);
  const completed = chunks.reduce((sum, chunk) => sum + chunk.results, 0);
  return {
    ...job,
    chunks,
    completed,
    progress: Math.min(1, completed / job.total),
    ...(report.message === undefined ? {} : { message: report.message }),
    lease_expires_at: iso(now + leaseMs),
    updated_at: iso(now),
  };
}

function withChunk(chunks: EvaluationChunk[], chunk: EvaluationChunk | undefined): EvaluationChunk[] {
  if (chunk === undefined || chunks.some((recorded) => recorded.index === chunk.index)) return chunks;
  return [...chunks, chunk].sort((a, b) => a.index - b.index);
}

export function completeEvaluationJob(
  job: EvaluationJobRecord,
  result: NonNullable<EvaluationJob["result"]>,
  now: number,
): EvaluationJobRecord {
  if (job.status === "succeeded") return job;
  const { message: _message, ...ended } = endJob(job, "succeeded", now);
  return { ...ended, completed: job.total, progress: 1, result };
}

export function failEvaluationJob(
  job: EvaluationJobRecord,
  failure: FailEvaluationRequest,
  now: number,
): EvaluationJobRecord {
  const error: EvaluationJobError = { message: failure.message, at: iso(now), worker_id: failure.worker_id };
  return { ...endJob(job, "failed", now), errors: [...job.errors, error], message: failure.message.slice(0, 1000) };
}
