/**
 * Claims evaluation jobs from the edge, one at a time, and runs every dataset line on every
 * target through the worker's own engine: `job.concurrency` generations in flight at once, so
 * the continuous-batching scheduler decodes them together. Lines are grouped in parts of
 * `chunk_lines`; each finished part is written to S3 and reported (which renews the lease), so
 * a worker taking the job over after this one died skips every part already reported. At the
 * end the parts become one results file, the report is computed from it, and the job completes.
 */
import { readFile } from "node:fs/promises";
import {
  type ClaimedEvaluation,
  type EvaluationChunk,
  type EvaluationJob,
  type EvaluationLine,
  type EvaluationReport,
  type EvaluationResult,
  evaluationKeys,
  parseEvaluationDataset,
  parseEvaluationResults,
  reportTargets,
} from "@modelgate/shared";
import type { ArtifactCache } from "../artifacts/artifact-cache.js";
import type { ObjectStore } from "../artifacts/object-store.js";
import { sha256Hex } from "../conversion/verification-gates.js";
import type { InferenceEngine } from "../inference/inference-service.js";
import { JobPoller } from "../jobs/job-poller.js";
import { type Logger, silentLogger } from "../logger.js";
import type { EdgeEvaluationClient } from "./edge-evaluation-client.js";
import { type EvaluationContext, evaluateLine, type LineTarget } from "./evaluate-line.js";

export interface EvaluationJobRunnerOptions {
  workerId: string;
  client: EdgeEvaluationClient;
  engine: InferenceEngine;
  artifacts: ArtifactCache;
  store: ObjectStore;
  /** The bucket results are written to (the edge reads them from its bucket). */
  bucket: string;
  /** How often an idle runner asks for work. */
  pollMs: number;
  logger?: Logger;
}

type JobEnd = "completed" | "failed" | "abandoned";

/** A finished part is reported this many times (backing off) while the edge is unreachable. */
const RECORD_ATTEMPTS = 5;
const RECORD_RETRY_MS = 500;

export class EvaluationJobRunner {
  readonly #options: EvaluationJobRunnerOptions;
  readonly #logger: Logger;
  readonly #poller: JobPoller<ClaimedEvaluation, JobEnd>;
  /** Aborts the generations of the job in hand. */
  #abort: AbortController | undefined;

  constructor(options: EvaluationJobRunnerOptions) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.#poller = new JobPoller({
      kind: "evaluation",
      pollMs: options.pollMs,
      logger: this.#logger,
      claim: () => options.client.claim(options.workerId),
      run: (claimed) => this.#run(claimed),
    });
  }

  start(): void {
    this.#poller.start();
  }

  /** Stops polling and abandons a job in hand without failing it: its lease runs out and another worker resumes it. */
  stop(): Promise<void> {
    return this.#poller.stop(() => this.#abort?.abort());
  }

  /**
   * A drain: claims nothing more and lets the job in hand run on; whatever the drain's deadline
   * leaves unfinished, `stop()` then abandons, and its recorded parts let the next worker resume.
   */
  finishAndStop(): Promise<void> {
    return this.#poller.finishAndStop();
  }

  /** Jobs this worker holds a lease on now (0 or 1), for heartbeats and drains. */
  get activeJobs(): number {
    return this.#poller.activeJobs;
  }

  /** Claims and runs one job if one is queued; resolves with how it ended (undefined: none). */
  runOnce(): Promise<JobEnd | undefined> {
    return this.#poller.runOnce();
  }

  async #run(claimed: ClaimedEvaluation): Promise<JobEnd> {
    const abort = new AbortController();
    this.#abort = abort;
    const lease = new EvaluationLease(this.#options.client, claimed, this.#options.workerId, this.#logger, () =>
      abort.abort(),
    );
    lease.start();
    try {
      return await this.#runLeased(claimed, lease, abort.signal);
    } finally {
      lease.stop();
      this.#abort = undefined;
    }
  }

  async #runLeased(claimed: ClaimedEvaluation, lease: EvaluationLease, signal: AbortSignal): Promise<JobEnd> {
    const { job } = claimed;
    const log = { job_id: job.id, targets: job.targets.map((target) => target.label).join(","), lines: job.lines };
    this.#logger.info("evaluation job claimed", { ...log, parts_done: job.chunks.length });
    const lines = await this.#readDataset(job);
    if (signal.aborted) return "abandoned";
    if (!lines.ok) return this.#fail(job, lines.error);

    const targets: LineTarget[] = job.targets.map((target, index) => {
      const served = claimed.served_targets[index];
      if (served === undefined) throw new Error(`no served version for target ${target.label}`);
      return { label: target.label, served };
    });
    const context: EvaluationContext = {
      job,
      judgeTargets: claimed.judge_targets,
      cawsTierCap: claimed.caws_tier_cap,
    };
    const started = Date.now();
    const limiter = new ConcurrencyLimiter(job.concurrency);
    const done = new Set(job.chunks.map((chunk) => chunk.index));
    const partCount = Math.ceil(job.lines / job.chunk_lines);
    const runPart = async (index: number): Promise<EvaluationChunk | undefined> => {
      const first = index * job.chunk_lines;
      const slice = lines.value.slice(first, first + job.chunk_lines);
      const rows = await Promise.all(
        slice.flatMap((line, offset) =>
          targets.map((target) =>
            limiter.run(() => evaluateLine(this.#options.engine, first + offset + 1, line, target, context, signal)),
          ),
        ),
      );
      if (signal.aborted) return undefined;
      const chunk = await this.#writePart(job, index, rows);
      await lease.record(chunk);
      return chunk;
    };
    const pending = Array.from({ length: partCount }, (_, index) => index).filter((index) => !done.has(index));
    let generated = 0;
    try {
      const parts = await Promise.all(pending.map(runPart));
      generated = parts.reduce((sum, part) => sum + (part?.results ?? 0), 0);
    } catch (error) {
      if (signal.aborted) return "abandoned";
      return this.#fail(job, `writing results failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (signal.aborted || lease.lost) {
      this.#logger.info("evaluation job abandoned", { ...log, reason: lease.lostReason ?? "stopped" });
      return "abandoned";
    }
    return this.#finish(lease.latestJob, targets, started, generated);
  }

  async #readDataset(
    job: EvaluationJob,
  ): Promise<{ ok: true; value: EvaluationLine[] } | { ok: false; error: string }> {
    const path = await this.#options.artifacts.ensureArtifact(job.dataset);
    if (!path.ok) return { ok: false, error: `the dataset could not be fetched: ${path.error.message}` };
    const parsed = parseEvaluationDataset(await readFile(path.value, "utf8"));
    if (!parsed.ok) return { ok: false, error: `the dataset no longer parses: ${parsed.problems[0]?.field}` };
    return { ok: true, value: parsed.lines };
  }

  async #writePart(job: EvaluationJob, index: number, rows: EvaluationResult[]): Promise<EvaluationChunk> {
    const bytes = Buffer.from(
      rows
        .map((row) => JSON.stringify(row))
        .join("\n")
        .concat("\n"),
    );
    const uri = `s3://${this.#options.bucket}/${evaluationKeys.part(job.id, index, job.attempts)}`;
    await this.#options.store.putObject(uri, bytes, {
      contentType: "application/x-ndjson",
      contentLength: bytes.length,
    });
    return { index, uri, sha256: sha256Hex(bytes), bytes: bytes.length, results: rows.length };
  }

  /** Every recorded part (this worker's and its predecessors'), in line order, as the results file and its report. */
  async #finish(job: EvaluationJob, targets: LineTarget[], started: number, generated: number): Promise<JobEnd> {
    const rows: EvaluationResult[] = [];
    for (const chunk of [...job.chunks].sort((a, b) => a.index - b.index)) {
      const path = await this.#options.artifacts.ensureArtifact(chunk);
      if (!path.ok) return this.#fail(job, `results part ${chunk.index} could not be read: ${path.error.message}`);
      rows.push(...parseEvaluationResults(await readFile(path.value, "utf8")));
    }
    const labels = targets.map((target) => target.label);
    const finishedAt = Date.now();
    const wallMs = finishedAt - started;
    const report: EvaluationReport = {
      job_id: job.id,
      dataset_sha256: job.dataset.sha256,
      lines: job.lines,
      targets: reportTargets(labels, rows),
      run: {
        started_at: new Date(started).toISOString(),
        finished_at: new Date(finishedAt).toISOString(),
        wall_ms: wallMs,
        requests_per_second: wallMs === 0 ? 0 : Math.round((generated / (wallMs / 1000)) * 100) / 100,
        attempts: Math.max(1, job.attempts),
      },
    };
    const results = await this.#put(
      evaluationKeys.results(job.id),
      rows
        .map((row) => JSON.stringify(row))
        .join("\n")
        .concat("\n"),
      "application/x-ndjson",
    );
    const reportFile = await this.#put(
      evaluationKeys.report(job.id),
      `${JSON.stringify(report, null, 2)}\n`,
      "application/json",
    );
    const completed = await this.#options.client.complete(job.id, {
      worker_id: this.#options.workerId,
      results,
      report: reportFile,
    });
    if (!completed.ok) return this.#fail(job, `the edge refused the result: ${completed.message}`);
    this.#logger.info("evaluation job completed", { job_id: job.id, rows: rows.length });
    return "completed";
  }

  async #put(key: string, text: string, contentType: string) {
    const bytes = Buffer.from(text);
    const uri = `s3://${this.#options.bucket}/${key}`;
    await this.#options.store.putObject(uri, bytes, { contentType, contentLength: bytes.length });
    return { uri, sha256: sha256Hex(bytes), bytes: bytes.length };
  }

  async #fail(job: EvaluationJob, message: string): Promise<JobEnd> {
    this.#logger.warn("evaluation job failed", { job_id: job.id, reason: message });
    const failed = await this.#options.client.fail(job.id, { worker_id: this.#options.workerId, message });
    if (!failed.ok) this.#logger.warn("reporting the failure failed", { job_id: job.id, reason: failed.message });
    return "failed";
  }
}

/**
 * Renews the lease every third of it, and records finished parts (which renews it too). A
 * refused renewal means the job is no longer ours — cancelled, or handed to another worker
 * after a stall — and stops the work at once.
 */
class EvaluationLease {
  #timer: NodeJS.Timeout | undefined;
  /** The job as the edge last answered it: its `chunks` are every part recorded so far. */
  latestJob: EvaluationJob;
  lost = false;
  lostReason: string | undefined;

  constructor(
    private readonly client: EdgeEvaluationClient,
    claimed: ClaimedEvaluation,
    private readonly workerId: string,
    private readonly logger: Logger,
    private readonly onLost: () => void,
  ) {
    this.latestJob = claimed.job;
    this.leaseMs = claimed.lease_ms;
  }

  private readonly leaseMs: number;

  start(): void {
    this.#timer = setInterval(() => void this.#send(undefined), Math.max(50, Math.floor(this.leaseMs / 3)));
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Reports a finished part, retrying while the edge is briefly unreachable. Throws when it is
   * never recorded or the edge refuses it as not fitting the job (an error in this worker);
   * returns quietly when the lease is lost (the work stops, a successor redoes the part).
   */
  async record(chunk: EvaluationChunk): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.#send(chunk);
      if (outcome !== "unreachable") return;
      if (attempt >= RECORD_ATTEMPTS)
        throw new Error(`part ${chunk.index} could not be recorded: the edge is unreachable`);
      await new Promise((resolve) => setTimeout(resolve, RECORD_RETRY_MS * attempt));
    }
  }

  async #send(chunk: EvaluationChunk | undefined): Promise<"sent" | "unreachable" | "lost"> {
    if (this.lost) return "lost";
    const answer = await this.client.progress(this.latestJob.id, {
      worker_id: this.workerId,
      ...(chunk === undefined ? {} : { chunk, message: `part ${chunk.index} written` }),
    });
    if (answer.ok && answer.value.status === "running") {
      // Answers can arrive out of order: keep the one that knows of more parts.
      if (answer.value.chunks.length >= this.latestJob.chunks.length) this.latestJob = answer.value;
      return "sent";
    }
    if (!answer.ok && (answer.status === 0 || answer.status >= 500)) {
      // The edge is briefly unreachable: keep working; the lease outlives a missed renewal or two.
      this.logger.warn("renewing an evaluation lease failed", { job_id: this.latestJob.id, reason: answer.message });
      return "unreachable";
    }
    if (!answer.ok && answer.status === 400 && chunk !== undefined) {
      throw new Error(`the edge refused part ${chunk.index}: ${answer.message}`);
    }
    this.lost = true;
    this.lostReason = answer.ok ? `the job is ${answer.value.status}` : answer.message;
    this.logger.info("evaluation lease lost; stopping the work", {
      job_id: this.latestJob.id,
      reason: this.lostReason,
    });
    this.stop();
    this.onLost();
    return "lost";
  }
}

/** At most `limit` tasks at once, started in the order they were asked for. */
class ConcurrencyLimiter {
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#running++;
    try {
      return await task();
    } finally {
      this.#running--;
      this.#waiting.shift()?.();
    }
  }
}
