/**
 * A small pool of inference threads. Each thread owns the sessions it loaded, so jobs for a
 * model go to the thread holding it. Jobs are handed over at once: the thread batches the
 * generations of one model (continuous batching) and runs other jobs between decode steps.
 */
import { Worker } from "node:worker_threads";
import { type Logger, silentLogger } from "../logger.js";
import {
  type FromInferenceThread,
  type JobFailureCode,
  type JobReply,
  type JobRequest,
  type ReplyFor,
  type ToInferenceThread,
  transferablesOf,
} from "./thread-protocol.js";

export const INFERENCE_THREAD_ENTRY = new URL("./inference-thread-bootstrap.mjs", import.meta.url);

export type JobOutcome<T extends JobRequest["type"]> =
  | { ok: true; reply: ReplyFor<T> }
  | { ok: false; message: string; code?: JobFailureCode | undefined };

interface PendingJob {
  message: ToInferenceThread;
  settle(reply: JobReply): void;
  onText: ((text: string) => void) | undefined;
}

interface ThreadSlot {
  index: number;
  worker: Worker;
  /** Jobs handed to the thread and not yet answered, by job id. */
  pending: Map<number, PendingJob>;
  /** Model keys (sha256) whose sessions this thread holds. */
  models: Set<string>;
}

export interface InferencePoolOptions {
  threads: number;
  logger?: Logger;
  /** Called when a thread died and its sessions are gone, so callers forget where they were. */
  onModelsLost?: (modelKeys: string[]) => void;
}

export class InferenceThreadPool {
  readonly #slots: ThreadSlot[] = [];
  readonly #logger: Logger;
  readonly #options: InferencePoolOptions;
  #nextJobId = 1;
  #closing = false;

  constructor(options: InferencePoolOptions) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
  }

  /** Starts every thread and waits until each has loaded ONNX Runtime. */
  async start(): Promise<void> {
    const count = Math.max(1, this.#options.threads);
    await Promise.all(Array.from({ length: count }, (_, index) => this.#spawn(index)));
  }

  get threadCount(): number {
    return this.#slots.length;
  }

  /** Jobs on some thread right now (model loads and unloads excluded). */
  runningRequests(): number {
    let count = 0;
    for (const slot of this.#slots) {
      for (const job of slot.pending.values())
        if (job.message.type !== "load" && job.message.type !== "unload") count++;
    }
    return count;
  }

  /** The thread to load a new model on: fewest models, then shortest queue. */
  chooseThreadForNewModel(): number {
    const [best] = [...this.#slots].sort(
      (a, b) => a.models.size - b.models.size || this.#backlog(a) - this.#backlog(b) || a.index - b.index,
    );
    return best?.index ?? 0;
  }

  /**
   * Hands a job to one thread; resolves when the thread answers (or dies). `onText` receives a
   * generation's visible text as it appears (streaming); aborting `signal` asks the thread to
   * stop the job, which then fails with code "cancelled".
   */
  run<T extends JobRequest["type"]>(
    threadIndex: number,
    request: Extract<JobRequest, { type: T }>,
    options: { onText?: ((text: string) => void) | undefined; signal?: AbortSignal | undefined } = {},
  ): Promise<JobOutcome<T>> {
    const slot = this.#slots[threadIndex];
    if (!slot || this.#closing) return Promise.resolve({ ok: false, message: "inference pool is not running" });
    if (options.signal?.aborted) return Promise.resolve({ ok: false, message: "cancelled", code: "cancelled" });
    const message = withJobId(request, this.#nextJobId++);
    const { onText, signal } = options;
    const cancel = () => slot.worker.postMessage({ type: "cancel", jobId: message.jobId } satisfies ToInferenceThread);
    signal?.addEventListener("abort", cancel, { once: true });
    return new Promise((resolve) => {
      slot.pending.set(message.jobId, {
        message,
        onText,
        settle: (reply) => {
          signal?.removeEventListener("abort", cancel);
          if (reply.type === "failed") {
            resolve({ ok: false, message: reply.message, code: reply.code });
            return;
          }
          if (reply.type === "loaded" && message.type === "load") slot.models.add(message.modelKey);
          if (reply.type === "unloaded" && message.type === "unload") slot.models.delete(message.modelKey);
          resolve({ ok: true, reply: reply as ReplyFor<T> });
        },
      });
      if (message.type === "infer") {
        // Transfer rather than copy the (possibly large) input tensors; the caller no longer needs them.
        slot.worker.postMessage(message, transferablesOf(message.inputs));
      } else {
        slot.worker.postMessage(message);
      }
    });
  }

  async close(): Promise<void> {
    this.#closing = true;
    const slots = this.#slots.splice(0);
    for (const slot of slots) this.#failAll(slot, "inference pool closed");
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  #backlog(slot: ThreadSlot): number {
    return slot.pending.size;
  }

  #spawn(index: number): Promise<void> {
    const worker = new Worker(INFERENCE_THREAD_ENTRY, { name: `inference-${index}` });
    const slot: ThreadSlot = { index, worker, pending: new Map(), models: new Set() };
    this.#slots[index] = slot;
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on("message", (message: FromInferenceThread) => {
        if (message.type === "ready") {
          ready = true;
          resolve();
          return;
        }
        const job = slot.pending.get(message.jobId);
        if (!job) {
          this.#logger.error("inference thread answered an unknown job", { thread: index, jobId: message.jobId });
          return;
        }
        if (message.type === "text") {
          job.onText?.(message.text);
          return;
        }
        slot.pending.delete(message.jobId);
        job.settle(message);
      });
      worker.on("error", (error) => {
        this.#logger.error("inference thread crashed", { thread: index, error });
        if (!ready) reject(error);
      });
      worker.on("exit", (code) => {
        if (this.#closing || this.#slots[index] !== slot) return;
        this.#logger.error("inference thread exited; starting a new one", { thread: index, code });
        const lost = [...slot.models];
        this.#failAll(slot, "the inference thread stopped while running this request");
        this.#options.onModelsLost?.(lost);
        if (ready) {
          this.#spawn(index).catch((error: unknown) =>
            this.#logger.error("could not restart inference thread", { thread: index, error }),
          );
        }
      });
    });
  }

  #failAll(slot: ThreadSlot, reason: string): void {
    const jobs = [...slot.pending.values()];
    slot.pending.clear();
    slot.models.clear();
    for (const job of jobs) job.settle({ type: "failed", jobId: job.message.jobId, message: reason });
  }
}

function withJobId(request: JobRequest, jobId: number): ToInferenceThread {
  return { ...request, jobId };
}
