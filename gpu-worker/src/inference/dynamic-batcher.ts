/**
 * Dynamic batching for one tensor model (Triton's `dynamic_batching`): requests that arrive while
 * the model is busy, or within `max_queue_delay_us` of each other, are stacked along the batch
 * dimension into one `session.run` of up to `max_batch_size` rows, and the outputs are split back
 * per request. Requests stack only with requests of the same shape apart from the batch dimension
 * and the same outputs. One batch runs at a time per model (its session lives on one thread), so
 * under load the queue fills while a batch runs and the next batch is as large as it can be.
 *
 * Safety valves: a batch whose outputs do not have the batch's rows as their first dimension (the
 * contract said batch, the model disagrees) is answered by running each request alone, and
 * batching stops for that model; a batch that fails is retried request by request, so one bad
 * request fails alone.
 */
import { type BatchingPolicy, err, ModelgateError, type Result } from "@modelgate/shared";
import { type Logger, silentLogger } from "../logger.js";
import type { ThreadTensor } from "./thread-protocol.js";

export interface TensorJob {
  /** Each input's first dimension is the job's rows. */
  inputs: ThreadTensor[];
  outputNames: string[];
}

export interface BatchRun {
  outputs: ThreadTensor[];
  inferenceTimeMs: number;
}

export interface BatchedResult extends BatchRun {
  /** From submission until the run that served the job started. */
  queueTimeMs: number;
  /** Rows in that run (this job's and the others stacked with it). */
  batchRows: number;
}

/** Runs one (possibly stacked) job on the model's thread. */
export type RunTensors = (job: TensorJob) => Promise<Result<BatchRun>>;

interface Pending {
  job: TensorJob;
  rows: number;
  key: string;
  enqueuedAt: number;
  settle(result: Result<BatchedResult>): void;
}

/** Jobs stack when everything but the batch dimension agrees: types, other dims, outputs. */
function stackingKey(job: TensorJob): string {
  const inputs = [...job.inputs]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((input) => `${input.name}:${input.type}:${input.dims.slice(1).join("x")}`);
  return `${inputs.join("|")}>${job.outputNames.join("|")}`;
}

function rowsOf(job: TensorJob): number {
  return job.inputs[0]?.dims[0] ?? 0;
}

type Elements = ThreadTensor["data"];

/** One tensor of `total` rows from the jobs' tensors of `name`, in job order. */
function stack(name: string, tensors: readonly ThreadTensor[], total: number): ThreadTensor {
  const [first] = tensors;
  if (!first) throw new Error(`no tensor ${name} to stack`);
  const dims = [total, ...first.dims.slice(1)];
  if (Array.isArray(first.data)) {
    return { ...first, dims, data: tensors.flatMap((tensor) => tensor.data as string[]) };
  }
  const length = tensors.reduce((sum, tensor) => sum + tensor.data.length, 0);
  const Constructor = first.data.constructor as new (length: number) => Exclude<Elements, string[]>;
  const data = new Constructor(length);
  let offset = 0;
  for (const tensor of tensors) {
    (data as { set(values: ArrayLike<number | bigint>, offset: number): void }).set(
      tensor.data as ArrayLike<number | bigint>,
      offset,
    );
    offset += tensor.data.length;
  }
  return { ...first, dims, data };
}

/** Rows [from, from + rows) of an output whose first dimension is the batch, as a tensor of its own. */
function sliceRows(output: ThreadTensor, from: number, rows: number, total: number): ThreadTensor {
  const perRow = total === 0 ? 0 : output.data.length / total;
  const start = from * perRow;
  const end = start + rows * perRow;
  const data = Array.isArray(output.data) ? output.data.slice(start, end) : output.data.slice(start, end);
  return { ...output, dims: [rows, ...output.dims.slice(1)], data: data as Elements };
}

export interface DynamicBatcherOptions {
  policy: BatchingPolicy;
  run: RunTensors;
  logger?: Logger;
  /** For the logs: which model this batcher serves. */
  label?: string;
  now?: () => number;
  /** Told each run's rows and requests (metrics, tests). */
  onBatch?: (rows: number, requests: number) => void;
}

export class DynamicBatcher {
  readonly #options: DynamicBatcherOptions;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #queue: Pending[] = [];
  #running = false;
  #timer: { cancel(): void } | undefined;
  /** Set when the model's outputs turned out not to follow the batch: every job then runs alone. */
  #stackingOff = false;

  constructor(options: DynamicBatcherOptions) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Jobs waiting (not yet in a running batch). */
  get waiting(): number {
    return this.#queue.length;
  }

  submit(job: TensorJob): Promise<Result<BatchedResult>> {
    return new Promise((settle) => {
      this.#queue.push({ job, rows: rowsOf(job), key: stackingKey(job), enqueuedAt: this.#now(), settle });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#running || this.#queue.length === 0) return;
    const [head] = this.#queue;
    if (!head) return;
    const { maxBatchSize, maxQueueDelayUs, preferredBatchSizes } = this.#options.policy;
    // FIFO among the jobs that can stack with the oldest one, up to the largest batch.
    const group = this.#stackingOff ? [head] : this.#queue.filter((pending) => pending.key === head.key);
    const take: Pending[] = [];
    let rows = 0;
    for (const pending of group) {
      if (take.length > 0 && rows + pending.rows > maxBatchSize) break;
      take.push(pending);
      rows += pending.rows;
    }
    const full = rows >= maxBatchSize || take.length < group.length || this.#stackingOff;
    const waitedUs = (this.#now() - head.enqueuedAt) * 1000;
    if (full || waitedUs >= maxQueueDelayUs) {
      this.#dispatch(take);
      return;
    }
    // A preferred size that a prefix of the waiting jobs makes exactly goes now (the largest such).
    let prefixRows = 0;
    let preferredPrefix = 0;
    take.forEach((pending, index) => {
      prefixRows += pending.rows;
      if (preferredBatchSizes.includes(prefixRows)) preferredPrefix = index + 1;
    });
    if (preferredPrefix > 0) this.#dispatch(take.slice(0, preferredPrefix));
    else this.#arm(maxQueueDelayUs - waitedUs);
  }

  /** Wakes the scheduler when the oldest job's delay is up (one event-loop turn below a millisecond). */
  #arm(remainingUs: number): void {
    if (this.#timer) return;
    const wake = () => {
      this.#timer = undefined;
      this.#schedule();
    };
    if (remainingUs < 1000) {
      const handle = setImmediate(wake);
      this.#timer = { cancel: () => clearImmediate(handle) };
    } else {
      const handle = setTimeout(wake, remainingUs / 1000);
      this.#timer = { cancel: () => clearTimeout(handle) };
    }
  }

  #dispatch(take: Pending[]): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    const taken = new Set(take);
    for (let i = this.#queue.length - 1; i >= 0; i--) {
      const pending = this.#queue[i];
      if (pending && taken.has(pending)) this.#queue.splice(i, 1);
    }
    this.#running = true;
    this.#runBatch(take)
      .catch((error: unknown) => {
        this.#logger.error("a batch failed unexpectedly", { model: this.#options.label, error });
        const failure = new ModelgateError(
          "internal",
          `Inference on ${this.#options.label ?? "the model"} failed on this worker.`,
        );
        for (const pending of take) pending.settle(err(failure));
      })
      .finally(() => {
        this.#running = false;
        this.#schedule();
      });
  }

  async #runBatch(take: readonly Pending[]): Promise<void> {
    const started = this.#now();
    const rows = take.reduce((sum, pending) => sum + pending.rows, 0);
    const [only] = take;
    if (only && take.length === 1) {
      this.#options.onBatch?.(rows, 1);
      const result = await this.#options.run(only.job);
      only.settle(
        result.ok
          ? { ok: true, value: { ...result.value, queueTimeMs: started - only.enqueuedAt, batchRows: rows } }
          : result,
      );
      return;
    }
    const first = take[0]?.job;
    if (!first) return;
    const inputs = first.inputs.map((input) =>
      stack(
        input.name,
        take.map((pending) => pending.job.inputs.find((candidate) => candidate.name === input.name) ?? input),
        rows,
      ),
    );
    this.#options.onBatch?.(rows, take.length);
    const result = await this.#options.run({ inputs, outputNames: first.outputNames });
    if (!result.ok) {
      // One request's bad values (an index out of range) must not fail the others: each runs alone.
      return this.#runEachAlone(take, started);
    }
    const splittable = result.value.outputs.every((output) => output.dims[0] === rows && output.dims.length > 0);
    if (!splittable) {
      this.#stackingOff = true;
      this.#logger.warn("a model's outputs do not follow the batch dimension; batching it is off", {
        model: this.#options.label,
        rows,
        output_dims: result.value.outputs.map((output) => output.dims),
      });
      return this.#runEachAlone(take, started);
    }
    let from = 0;
    for (const pending of take) {
      const outputs = result.value.outputs.map((output) => sliceRows(output, from, pending.rows, rows));
      from += pending.rows;
      pending.settle({
        ok: true,
        value: {
          outputs,
          inferenceTimeMs: result.value.inferenceTimeMs,
          queueTimeMs: started - pending.enqueuedAt,
          batchRows: rows,
        },
      });
    }
  }

  async #runEachAlone(take: readonly Pending[], started: number): Promise<void> {
    for (const pending of take) {
      const result = await this.#options.run(pending.job);
      pending.settle(
        result.ok
          ? { ok: true, value: { ...result.value, queueTimeMs: started - pending.enqueuedAt, batchRows: pending.rows } }
          : result,
      );
    }
  }
}
