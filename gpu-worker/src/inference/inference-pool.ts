/**
 * A small pool of inference threads. Each thread runs one job at a time and owns the sessions it
 * loaded, so jobs for a model queue on the thread holding it. Queues live here, on the main
 * side, which makes queue depth and in-flight counts exact.
 */
import { Worker } from "node:worker_threads";
import { type Logger, silentLogger } from "../logger.js";
import type { FromInferenceThread, JobReply, JobRequest, ReplyFor, ToInferenceThread } from "./thread-protocol.js";

export const INFERENCE_THREAD_ENTRY = new URL("./inference-thread-bootstrap.mjs", import.meta.url);

export type JobOutcome<T extends JobRequest["type"]> =
  | { ok: true; reply: ReplyFor<T> }
  | { ok: false; message: string };

interface QueuedJob {
  message: ToInferenceThread;
  settle(reply: JobReply): void;
}

interface ThreadSlot {
  index: number;
  worker: Worker;
  queue: QueuedJob[];
  running: QueuedJob | undefined;
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

  /** Jobs executing right now on some thread (model loads excluded). */
  runningRequests(): number {
    return this.#slots.filter((s) => s.running !== undefined && s.running.message.type !== "load").length;
  }

  /** The thread to load a new model on: fewest models, then shortest queue. */
  chooseThreadForNewModel(): number {
    const [best] = [...this.#slots].sort(
      (a, b) => a.models.size - b.models.size || this.#backlog(a) - this.#backlog(b) || a.index - b.index,
    );
    return best?.index ?? 0;
  }

  /** Queues a job on one thread; resolves when the thread answers (or dies). */
  run<T extends JobRequest["type"]>(
    threadIndex: number,
    request: Extract<JobRequest, { type: T }>,
  ): Promise<JobOutcome<T>> {
    const slot = this.#slots[threadIndex];
    if (!slot || this.#closing) return Promise.resolve({ ok: false, message: "inference pool is not running" });
    const message = withJobId(request, this.#nextJobId++);
    return new Promise((resolve) => {
      slot.queue.push({
        message,
        settle: (reply) => {
          if (reply.type === "failed") {
            resolve({ ok: false, message: reply.message });
            return;
          }
          if (reply.type === "loaded" && message.type === "load") slot.models.add(message.modelKey);
          resolve({ ok: true, reply: reply as ReplyFor<T> });
        },
      });
      this.#pump(slot);
    });
  }

  async close(): Promise<void> {
    this.#closing = true;
    const slots = this.#slots.splice(0);
    for (const slot of slots) this.#failAll(slot, "inference pool closed");
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  #backlog(slot: ThreadSlot): number {
    return slot.queue.length + (slot.running ? 1 : 0);
  }

  #pump(slot: ThreadSlot): void {
    if (slot.running) return;
    const next = slot.queue.shift();
    if (!next) return;
    slot.running = next;
    if (next.message.type === "predict") {
      // Transfer rather than copy the (possibly large) input tensor; the caller no longer needs it.
      slot.worker.postMessage(next.message, [next.message.values.buffer]);
    } else {
      slot.worker.postMessage(next.message);
    }
  }

  #spawn(index: number): Promise<void> {
    const worker = new Worker(INFERENCE_THREAD_ENTRY, { name: `inference-${index}` });
    const slot: ThreadSlot = { index, worker, queue: [], running: undefined, models: new Set() };
    this.#slots[index] = slot;
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on("message", (message: FromInferenceThread) => {
        if (message.type === "ready") {
          ready = true;
          resolve();
          return;
        }
        const job = slot.running;
        if (!job || job.message.jobId !== message.jobId) {
          this.#logger.error("inference thread answered an unknown job", { thread: index, jobId: message.jobId });
          return;
        }
        slot.running = undefined;
        job.settle(message);
        this.#pump(slot);
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
    const jobs = [...(slot.running ? [slot.running] : []), ...slot.queue.splice(0)];
    slot.running = undefined;
    slot.models.clear();
    for (const job of jobs) job.settle({ type: "failed", jobId: job.message.jobId, message: reason });
  }
}

function withJobId(request: JobRequest, jobId: number): ToInferenceThread {
  return { ...request, jobId };
}
