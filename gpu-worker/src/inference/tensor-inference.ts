/**
 * Tensor models on the worker: a request's typed tensors (decoded from the edge's frame, or built
 * from `/v1/predict` rows) checked against the contract and the loaded session, then run on the
 * model's inference thread, through its dynamic batcher when the version allows batching.
 */
import {
  type BatchingDecision,
  type BatchingPolicy,
  batchingDecisionFor,
  checkInputsAgainstContract,
  checkRequestedOutputs,
  err,
  ModelgateError,
  type ModelVersion,
  ok,
  type Result,
  v2DatatypeOf,
} from "@modelgate/shared";
import { type Logger, silentLogger } from "../logger.js";
import { DynamicBatcher, type TensorJob } from "./dynamic-batcher.js";
import { contractMismatch, inferenceFailure, wrongKind } from "./inference-errors.js";
import type { InferenceThreadPool } from "./inference-pool.js";
import type { ModelResidency, ResidentModel } from "./model-residency.js";
import type { ThreadTensor } from "./thread-protocol.js";

export interface TensorRequest {
  target: ModelVersion;
  inputs: ThreadTensor[];
  /** Contract outputs to compute; all of them when absent. */
  outputs?: string[] | undefined;
}

export interface TensorResult {
  outputs: ThreadTensor[];
  inferenceTimeMs: number;
  queueTimeMs: number;
  /** Rows in the run that served the request. */
  batchRows: number;
}

export interface TensorInferenceOptions {
  pool: InferenceThreadPool;
  residency: ModelResidency;
  logger?: Logger;
  /** Told each run's rows and requests (dynamic batching's effect, for metrics and tests). */
  onBatch?: (target: ModelVersion, rows: number, requests: number) => void;
}

/** Batchers kept at most (one per model and serving policy); the oldest idle ones go first. */
const MAX_BATCHERS = 256;

export class TensorInference {
  readonly #options: TensorInferenceOptions;
  readonly #logger: Logger;
  /** Per model and policy (a PATCHed `serving` takes effect at once; the old batcher drains). */
  readonly #batchers = new Map<string, { batcher: DynamicBatcher; holder: { model: ResidentModel } }>();

  constructor(options: TensorInferenceOptions) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
  }

  async run(request: TensorRequest): Promise<Result<TensorResult>> {
    const { target } = request;
    if (target.kind !== "tensor")
      return err(wrongKind(target, target.kind === "causal-lm" ? "/v1/generate" : "/v1/generate as a judge"));
    const checked = checkInputsAgainstContract(
      target,
      request.inputs.map((input) => ({ name: input.name, datatype: v2DatatypeOf(input.type), shape: input.dims })),
    );
    if (!checked.ok) return checked;
    const outputNames = request.outputs ?? target.io.outputs.map((output) => output.name);
    const outputsChecked = checkRequestedOutputs(target, outputNames);
    if (!outputsChecked.ok) return outputsChecked;
    const nul = nulInBytesInput(request.inputs);
    if (nul) return err(new ModelgateError("bad_request", nul));
    return this.#options.residency.withModel(target, async (model) => {
      const missing = [...request.inputs.map((input) => input.name), ...outputNames].filter(
        (name) => !model.inputNames.includes(name) && !model.outputNames.includes(name),
      );
      if (missing.length > 0) return err(contractMismatch(target));
      const job: TensorJob = { inputs: request.inputs, outputNames };
      const decision = this.#decisionFor(target);
      const started = performance.now();
      if (!decision.on) {
        this.#options.onBatch?.(target, request.inputs[0]?.dims[0] ?? 0, 1);
        const result = await this.#runOnThread(target, model, job);
        if (!result.ok) return result;
        const queueTimeMs = Math.max(0, performance.now() - started - result.value.inferenceTimeMs);
        return ok({ ...result.value, queueTimeMs, batchRows: request.inputs[0]?.dims[0] ?? 0 });
      }
      return this.#batcherFor(target, model, decision.policy).submit(job);
    });
  }

  /** Per version document: the route hands the same parsed target to every request of a version. */
  readonly #decisions = new WeakMap<ModelVersion, BatchingDecision>();

  #decisionFor(target: ModelVersion): BatchingDecision {
    let decision = this.#decisions.get(target);
    if (!decision) {
      decision = batchingDecisionFor(target);
      this.#decisions.set(target, decision);
    }
    return decision;
  }

  #runOnThread(target: ModelVersion, model: ResidentModel, job: TensorJob) {
    return this.#options.pool
      .run(model.threadIndex, {
        type: "infer",
        modelKey: target.artifact.sha256,
        inputs: job.inputs,
        outputNames: job.outputNames,
      })
      .then(
        (outcome): Result<{ outputs: ThreadTensor[]; inferenceTimeMs: number }> =>
          outcome.ok
            ? ok({ outputs: outcome.reply.outputs, inferenceTimeMs: outcome.reply.inferenceTimeMs })
            : outcome.code === "invalid_input"
              ? err(
                  new ModelgateError(
                    "bad_request",
                    `${target.name}@${target.version} refused these inputs: ${outcome.message}`,
                  ),
                )
              : err(inferenceFailure(this.#logger, target, outcome.message)),
      );
  }

  #batcherFor(target: ModelVersion, model: ResidentModel, policy: BatchingPolicy): DynamicBatcher {
    const key = `${target.artifact.sha256}:${policy.maxBatchSize}/${policy.maxQueueDelayUs}/${policy.preferredBatchSizes.join(",")}`;
    let entry = this.#batchers.get(key);
    if (!entry) {
      if (this.#batchers.size >= MAX_BATCHERS) {
        const idle = [...this.#batchers].find(([, candidate]) => candidate.batcher.waiting === 0);
        if (idle) this.#batchers.delete(idle[0]);
      }
      // The thread is looked up per batch: a model loaded again after its thread died lives elsewhere.
      const holder = { model };
      const batcher = new DynamicBatcher({
        policy,
        label: `${target.name}@${target.version}`,
        logger: this.#logger,
        run: (job) => this.#runOnThread(target, holder.model, job),
        onBatch: (rows, requests) => this.#options.onBatch?.(target, rows, requests),
      });
      entry = { batcher, holder };
      this.#batchers.set(key, entry);
    }
    entry.holder.model = model;
    return entry.batcher;
  }
}

/** onnxruntime's string tensors are C strings: a BYTES element with a zero byte would be cut short. */
function nulInBytesInput(inputs: readonly ThreadTensor[]): string | undefined {
  for (const input of inputs) {
    if (!Array.isArray(input.data)) continue;
    const index = input.data.findIndex((element) => element.includes("\u0000"));
    if (index >= 0) {
      return `input '${input.name}': BYTES element ${index} contains a zero byte, which onnxruntime's string tensors cannot hold.`;
    }
  }
  return undefined;
}
