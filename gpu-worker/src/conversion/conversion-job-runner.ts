/**
 * Claims conversion jobs from the edge, one at a time, and sees each through: download the
 * source, run the pipeline in its own thread, keep the lease alive with progress, upload every
 * file content-addressed, then complete (or fail) the job. A job whose lease this worker loses
 * (cancelled, or handed to another worker after a stall) is abandoned at once.
 */
import { Worker } from "node:worker_threads";
import type { ClaimedConversion, ConversionJob } from "@modelgate/shared";
import type { ArtifactCache } from "../artifacts/artifact-cache.js";
import type { ObjectStore } from "../artifacts/object-store.js";
import { JobPoller } from "../jobs/job-poller.js";
import { type Logger, silentLogger } from "../logger.js";
import type { WorkerMetrics } from "../metrics/worker-metrics.js";
import type { PipelineOutput } from "./conversion-pipeline.js";
import type {
  FromConversionThread,
  PipelineProgress,
  RunConversionMessage,
  ToConversionThread,
} from "./conversion-thread-protocol.js";
import type { EdgeConversionClient } from "./edge-conversion-client.js";
import { publishPipelineOutput } from "./publish-pipeline-output.js";

/** Step changes are reported at most this often (renewals carry the rest). */
const PROGRESS_MIN_INTERVAL_MS = 500;

export const CONVERSION_THREAD_ENTRY = new URL("./conversion-thread-bootstrap.mjs", import.meta.url);

export interface ConversionJobRunnerOptions {
  workerId: string;
  client: EdgeConversionClient;
  artifacts: ArtifactCache;
  store: ObjectStore;
  /** The bucket converted files are written to (the edge checks they are in its bucket). */
  bucket: string;
  /** How often an idle runner asks for work. */
  pollMs: number;
  logger?: Logger;
  metrics?: WorkerMetrics | undefined;
}

type JobEnd = "completed" | "failed" | "abandoned";

export class ConversionJobRunner {
  readonly #options: ConversionJobRunnerOptions;
  readonly #logger: Logger;
  readonly #poller: JobPoller<ClaimedConversion, JobEnd>;
  /** Ends the pipeline thread in hand at once (the runner does not wait for it to exit). */
  #abandonThread: (() => void) | undefined;

  constructor(options: ConversionJobRunnerOptions) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.#poller = new JobPoller({
      kind: "conversion",
      pollMs: options.pollMs,
      logger: this.#logger,
      claim: () => options.client.claim(options.workerId),
      run: (claimed) => this.#run(claimed),
    });
  }

  start(): void {
    this.#poller.start();
  }

  /**
   * Stops polling and abandons a job in hand without failing it: its lease runs out and the
   * edge hands it to another worker, which is what a restart should mean for a long job.
   */
  stop(): Promise<void> {
    return this.#poller.stop(() => this.#abandonThread?.());
  }

  /**
   * A drain: claims nothing more and lets the job in hand run to its end (complete or fail),
   * unlike `stop()`, which abandons it to its lease.
   */
  finishAndStop(): Promise<void> {
    return this.#poller.finishAndStop();
  }

  /** Jobs this worker holds a lease on now (0 or 1), for heartbeats. */
  get activeJobs(): number {
    return this.#poller.activeJobs;
  }

  /** Claims and runs one job if one is queued; resolves with how it ended (undefined: none). */
  runOnce(): Promise<JobEnd | undefined> {
    return this.#poller.runOnce();
  }

  async #run(claimed: ClaimedConversion): Promise<JobEnd> {
    const metrics = this.#options.metrics;
    const lease = new LeaseKeeper(
      this.#options.client,
      claimed.job,
      this.#options.workerId,
      claimed.lease_ms,
      this.#logger,
      (step, seconds) => metrics?.conversionStepFinished(step, seconds),
    );
    let end: JobEnd | undefined;
    try {
      end = await this.#runLeased(claimed, lease);
      return end;
    } finally {
      lease.finishStep();
      if (end === "completed") metrics?.conversionJobEnded("succeeded");
      else if (end === "failed") metrics?.conversionJobEnded("failed");
      else metrics?.conversionJobEnded(lease.cancelled ? "cancelled" : "lease_lost");
    }
  }

  async #runLeased({ job, source }: ClaimedConversion, lease: LeaseKeeper): Promise<JobEnd> {
    const log = { job_id: job.id, model: `${job.model}@${job.version}`, targets: job.targets.join(",") };
    this.#logger.info("conversion job claimed", log);
    lease.report({ step: "download", progress: 0.01, message: `fetching ${source.artifact.uri}` });
    // Renewing from the start: downloading a multi-gigabyte model can outlast a lease by itself.
    lease.start(() => this.#abandonThread?.());
    await lease.flush();
    if (lease.lost) {
      lease.stop();
      return "abandoned";
    }

    const sourcePath = await this.#options.artifacts.ensureArtifact(source.artifact);
    if (lease.lost) {
      this.#logger.info("conversion job abandoned", { ...log, reason: lease.lostReason ?? "lease lost" });
      return "abandoned";
    }
    if (!sourcePath.ok) {
      lease.stop();
      return this.#fail(job, { step: "download", message: sourcePath.error.message });
    }
    // The tokenizer says whether the model has latent-span markers (the contract's latent_mode).
    const tokenizerFile = source.tokenizer?.type === "hf-tokenizer" ? source.tokenizer.tokenizer_json : undefined;
    const tokenizerPath = tokenizerFile ? await this.#options.artifacts.ensureArtifact(tokenizerFile) : undefined;
    if (tokenizerPath !== undefined && !tokenizerPath.ok) {
      lease.stop();
      return this.#fail(job, { step: "download", message: `tokenizer.json: ${tokenizerPath.error.message}` });
    }
    const output = await this.#runThread(
      {
        type: "run",
        job,
        source,
        sourcePath: sourcePath.value,
        ...(tokenizerPath?.ok ? { tokenizerPath: tokenizerPath.value } : {}),
        bucket: this.#options.bucket,
      },
      lease,
    );
    if (lease.lost || output === undefined) {
      lease.stop();
      this.#logger.info("conversion job abandoned", { ...log, reason: lease.lostReason ?? "stopped" });
      return "abandoned";
    }
    if ("crashed" in output) {
      lease.stop();
      return this.#fail(job, { step: lease.lastStep, message: `the pipeline crashed: ${output.crashed}` });
    }

    lease.report({ step: "upload", progress: 0.92, message: "writing artifacts to object storage" });
    const published = await publishPipelineOutput(output, job, {
      store: this.#options.store,
      bucket: this.#options.bucket,
    }).catch((error: unknown) => ({ error: error instanceof Error ? error.message : String(error) }));
    if ("error" in published) {
      lease.stop();
      return this.#fail(job, { step: "upload", message: `writing to object storage failed: ${published.error}` });
    }
    if (output.failure !== undefined) {
      lease.stop();
      return this.#fail(job, output.failure, published.sourceVerification);
    }
    lease.report({ step: "register", progress: 0.97, message: "recording the formats in the registry" });
    await lease.flush();
    lease.stop();
    if (lease.lost) return "abandoned";
    const completed = await this.#options.client.complete(job.id, {
      worker_id: this.#options.workerId,
      source_verification: published.sourceVerification,
      formats: published.formats,
    });
    if (!completed.ok) {
      return this.#fail(job, { step: "register", message: `the edge refused the result: ${completed.message}` });
    }
    this.#logger.info("conversion job completed", { ...log, status: completed.value.status });
    return "completed";
  }

  async #fail(
    job: ConversionJob,
    error: NonNullable<PipelineOutput["failure"]>,
    sourceVerification?: Awaited<ReturnType<typeof publishPipelineOutput>>["sourceVerification"],
  ): Promise<JobEnd> {
    this.#logger.warn("conversion job failed", { job_id: job.id, step: error.step, reason: error.message });
    const failed = await this.#options.client.fail(job.id, {
      worker_id: this.#options.workerId,
      error,
      ...(sourceVerification === undefined ? {} : { source_verification: sourceVerification }),
    });
    if (!failed.ok) this.#logger.warn("reporting the failure failed", { job_id: job.id, reason: failed.message });
    return "failed";
  }

  /** Runs the pipeline thread; undefined when it was terminated (lease lost or worker stopping). */
  #runThread(
    message: RunConversionMessage,
    lease: LeaseKeeper,
  ): Promise<PipelineOutput | { crashed: string } | undefined> {
    return new Promise((resolve) => {
      const thread = new Worker(CONVERSION_THREAD_ENTRY, { name: `conversion-${message.job.id}` });
      let settled = false;
      const settle = (value: PipelineOutput | { crashed: string } | undefined) => {
        if (settled) return;
        settled = true;
        this.#abandonThread = undefined;
        // Never terminate(): a thread stopped inside a native onnxruntime call aborts the whole
        // process. Asked to cancel, it stops at its next step boundary and exits by itself,
        // while the runner is already free for the next job.
        if (value === undefined) thread.postMessage({ type: "cancel" } satisfies ToConversionThread);
        resolve(value);
      };
      thread.on("message", (reply: FromConversionThread) => {
        if (reply.type === "progress") {
          const { type: _type, ...progress } = reply;
          lease.report(progress);
        } else if (reply.type === "done") settle(reply.output);
        else if (reply.type === "cancelled") settle(undefined);
        else settle({ crashed: reply.message });
      });
      thread.on("error", (error) => settle({ crashed: error.message }));
      thread.on("exit", () => settle(undefined));
      this.#abandonThread = () => settle(undefined);
      // The lease may have been lost between the download and now: do not start the work at all.
      if (lease.lost) settle(undefined);
      else thread.postMessage(message);
    });
  }
}

/**
 * Sends the latest progress every third of the lease (progress renews it). A refused renewal
 * means the job is no longer ours: cancelled, or handed to another worker.
 */
class LeaseKeeper {
  #latest: PipelineProgress;
  #timer: NodeJS.Timeout | undefined;
  #onLost: (() => void) | undefined;
  #sending: Promise<void> | undefined;
  #lastSentAt = 0;
  #stepStartedAt = performance.now();
  lost = false;
  lostReason: string | undefined;
  /** The edge said the job was cancelled (rather than handed to another worker). */
  cancelled = false;

  constructor(
    private readonly client: EdgeConversionClient,
    private readonly job: ConversionJob,
    private readonly workerId: string,
    private readonly leaseMs: number,
    private readonly logger: Logger,
    private readonly onStepFinished: (step: PipelineProgress["step"], seconds: number) => void,
  ) {
    this.#latest = { step: "download", progress: 0 };
  }

  /** Closes the step in progress (at the end of the job), so its time is counted too. */
  finishStep(): void {
    this.onStepFinished(this.#latest.step, (performance.now() - this.#stepStartedAt) / 1000);
  }

  get lastStep(): PipelineProgress["step"] {
    return this.#latest.step;
  }

  /**
   * Records the latest progress; a new step (or target) is also sent at once, at most every
   * PROGRESS_MIN_INTERVAL_MS, so someone following the job sees it move between renewals.
   */
  report(progress: PipelineProgress): void {
    const changed = progress.step !== this.#latest.step || progress.step_detail !== this.#latest.step_detail;
    if (progress.step !== this.#latest.step) {
      const now = performance.now();
      this.onStepFinished(this.#latest.step, (now - this.#stepStartedAt) / 1000);
      this.#stepStartedAt = now;
    }
    this.#latest = progress;
    if (changed && this.#timer !== undefined && Date.now() - this.#lastSentAt >= PROGRESS_MIN_INTERVAL_MS) {
      void this.flush();
    }
  }

  start(onLost: () => void): void {
    this.#onLost = onLost;
    const every = Math.max(50, Math.floor(this.leaseMs / 3));
    this.#timer = setInterval(() => void this.flush(), every);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Sends the latest progress now (one send at a time). */
  flush(): Promise<void> {
    this.#sending ??= this.#send().finally(() => {
      this.#sending = undefined;
    });
    return this.#sending;
  }

  async #send(): Promise<void> {
    if (this.lost) return;
    this.#lastSentAt = Date.now();
    const answer = await this.client.progress(this.job.id, { worker_id: this.workerId, ...this.#latest });
    if (answer.ok && answer.value.status === "running") return;
    if (!answer.ok && (answer.status === 0 || answer.status >= 500)) {
      // The edge is briefly unreachable: keep working; the lease outlives a missed renewal or two.
      this.logger.warn("renewing a conversion lease failed", { job_id: this.job.id, reason: answer.message });
      return;
    }
    this.lost = true;
    this.cancelled = answer.ok && answer.value.status === "cancelled";
    this.lostReason = answer.ok ? `the job is ${answer.value.status}` : answer.message;
    this.logger.info("conversion lease lost; stopping the work", { job_id: this.job.id, reason: this.lostReason });
    this.stop();
    this.#onLost?.();
  }
}
