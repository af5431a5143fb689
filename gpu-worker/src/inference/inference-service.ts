/**
 * The worker's inference service: checks a request before any inference, makes sure its
 * versions are loaded (ModelResidency), runs seed 000's refinement loop over generations on the
 * inference threads, and keeps the load figures that /health and heartbeats report. Expected
 * failures come back as Result values.
 */
import type {
  GenerateResponse,
  LoadedModel,
  ModelVersion,
  PredictResponse,
  Result,
  RuntimeConfig,
  WorkerGenerateRequest,
  WorkerPredictRequest,
} from "@modelgate/shared";
import { err, ModelgateError, ok } from "@modelgate/shared";
import type { ArtifactCache } from "../artifacts/artifact-cache.js";
import { type Logger, silentLogger } from "../logger.js";
import { type InferenceEndpoint, modelLabelsOf, type WorkerMetrics } from "../metrics/worker-metrics.js";
import { roundTo } from "../numbers.js";
import { type GenerationEvent, GenerationRunner } from "./generation-runner.js";
import { wrongKind } from "./inference-errors.js";
import type { InferenceThreadPool } from "./inference-pool.js";
import { ModelResidency } from "./model-residency.js";
import { buildPredictTensor, probabilityRows } from "./predict-input.js";
import { argmax } from "./sampling.js";
import { TensorInference, type TensorRequest, type TensorResult } from "./tensor-inference.js";
import type { SessionSettings } from "./thread-protocol.js";
import { ThroughputWindow } from "./throughput-window.js";

export interface InferenceLoad {
  loadedModels: LoadedModel[];
  /** Requests accepted and not yet answered: waiting (for a download, a load or a thread) plus running. */
  queueDepth: number;
  /** Jobs on an inference thread right now. */
  inFlight: number;
  /** Recent decode speed over finished generations. */
  tokensPerSecond: number;
}

export type { GenerationEvent } from "./generation-runner.js";

/** What the HTTP app needs from inference; the real one is `InferenceService`. */
export interface InferenceEngine {
  /** The checks `generate` makes before any inference, for callers that must answer 4xx before streaming. */
  checkGenerate(request: WorkerGenerateRequest): Result<void>;
  /** `signal` aborts when the caller went away: the generation stops and frees its batch slot. */
  generate(
    request: WorkerGenerateRequest,
    onEvent?: (event: GenerationEvent) => void,
    signal?: AbortSignal,
  ): Promise<Result<GenerateResponse>>;
  predict(request: WorkerPredictRequest): Promise<Result<PredictResponse>>;
  /** A tensor model on typed tensors (`/v1/infer`), dynamically batched where its contract allows. */
  infer(request: TensorRequest): Promise<Result<TensorResult>>;
  load(): InferenceLoad;
}

export interface InferenceServiceOptions {
  workerId: string;
  pool: InferenceThreadPool;
  artifacts: ArtifactCache;
  /** DEFAULT_RUNTIME_CONFIG < runtime_config.json < env, resolved at start-up. */
  baseRuntimeConfig: RuntimeConfig;
  sessionSettings: SessionSettings;
  /** Memory the loaded models may take together; idle ones are evicted beyond it. */
  modelMemoryBudgetMb?: number;
  logger?: Logger;
  metrics?: WorkerMetrics | undefined;
}

const DEFAULT_MEMORY_BUDGET_MB = 16 * 1024;

export class InferenceService implements InferenceEngine {
  readonly #options: InferenceServiceOptions;
  readonly #logger: Logger;
  readonly #residency: ModelResidency;
  readonly #generation: GenerationRunner;
  readonly #tensors: TensorInference;
  readonly #throughput = new ThroughputWindow();
  #active = 0;

  constructor(options: InferenceServiceOptions) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.#residency = new ModelResidency({
      pool: options.pool,
      artifacts: options.artifacts,
      sessionSettings: options.sessionSettings,
      memoryBudgetMb: options.modelMemoryBudgetMb ?? DEFAULT_MEMORY_BUDGET_MB,
      logger: this.#logger,
      metrics: options.metrics,
    });
    this.#generation = new GenerationRunner({
      workerId: options.workerId,
      pool: options.pool,
      residency: this.#residency,
      baseRuntimeConfig: options.baseRuntimeConfig,
      logger: this.#logger,
      metrics: options.metrics,
    });
    this.#tensors = new TensorInference({ pool: options.pool, residency: this.#residency, logger: this.#logger });
  }

  /** Loaded models with their format (the metrics' `modelgate_model_loaded`). */
  residentModels(): Array<{ model: LoadedModel; format: string }> {
    return this.#residency.residentModels();
  }

  /**
   * Loads the versions placement asks this worker to keep warm (the edge's heartbeat answer,
   * issue 17) through the same residency a request uses, one after another so warming never
   * competes with itself for memory. Versions already resident or loading are skipped; a
   * failed load is logged and tried again on the next heartbeat.
   */
  async preload(targets: readonly ModelVersion[]): Promise<void> {
    for (const target of targets) {
      if (this.#residency.holds(target)) continue;
      const loaded = await this.#residency.withModel(target, async () => ok(undefined));
      if (loaded.ok) this.#logger.info("preloaded for placement", { model: target.name, version: target.version });
      else {
        this.#logger.warn("preload for placement failed", {
          model: target.name,
          version: target.version,
          error: loaded.error.message,
        });
      }
    }
  }

  /** Forget sessions that died with their thread; the next request loads them again. */
  forgetModels(modelKeys: readonly string[]): void {
    this.#residency.forget(modelKeys);
  }

  load(): InferenceLoad {
    return {
      loadedModels: this.#residency.loadedModels(),
      queueDepth: this.#active,
      inFlight: this.#options.pool.runningRequests(),
      tokensPerSecond: this.#throughput.tokensPerSecond(),
    };
  }

  checkGenerate(request: WorkerGenerateRequest): Result<void> {
    const checked = this.#generation.check(request);
    if (!checked.ok) this.#countRequest("generate", request.target, checked, 0);
    return checked;
  }

  async generate(
    request: WorkerGenerateRequest,
    onEvent?: (event: GenerationEvent) => void,
    signal?: AbortSignal,
  ): Promise<Result<GenerateResponse>> {
    this.#active++;
    const started = performance.now();
    try {
      const result = await this.#generation.generate(request, onEvent, signal);
      if (result.ok) {
        const generated = result.value.loops.reduce((sum, loop) => sum + loop.tokens, 0);
        this.#throughput.record(generated, result.value.inference_time_ms);
      }
      this.#countRequest("generate", request.target, result, (performance.now() - started) / 1000);
      return result;
    } finally {
      this.#active--;
    }
  }

  async predict(request: WorkerPredictRequest): Promise<Result<PredictResponse>> {
    this.#active++;
    const started = performance.now();
    try {
      const result = await this.#predict(request);
      this.#countRequest("predict", request.target, result, (performance.now() - started) / 1000);
      return result;
    } finally {
      this.#active--;
    }
  }

  async infer(request: TensorRequest): Promise<Result<TensorResult>> {
    this.#active++;
    const started = performance.now();
    try {
      const result = await this.#tensors.run(request);
      this.#countRequest("infer", request.target, result, (performance.now() - started) / 1000);
      return result;
    } finally {
      this.#active--;
    }
  }

  #countRequest(endpoint: InferenceEndpoint, target: ModelVersion, result: Result<unknown>, seconds: number): void {
    this.#options.metrics?.requestFinished(
      endpoint,
      modelLabelsOf(target),
      result.ok ? { ok: true } : { ok: false, code: result.error.code },
      seconds,
    );
  }

  /** Rows of features as one float32 tensor through the tensor path (so it batches too); class rows back. */
  async #predict(request: WorkerPredictRequest): Promise<Result<PredictResponse>> {
    const { target } = request;
    if (target.kind !== "tensor") return err(wrongKind(target, "/v1/generate"));
    const tensor = buildPredictTensor(target.io, request.data);
    if (!tensor.ok) return tensor;
    const outputName = (target.io.outputs.find((o) => o.name === "probabilities") ?? target.io.outputs[0])?.name;
    const result = await this.#tensors.run({
      target,
      inputs: [
        {
          name: tensor.value.inputName,
          type: "float32",
          dims: [tensor.value.rows, tensor.value.features],
          data: tensor.value.values,
        },
      ],
      ...(outputName === undefined ? {} : { outputs: [outputName] }),
    });
    if (!result.ok) return result;
    const [output] = result.value.outputs;
    if (!output || !(output.data instanceof Float32Array)) {
      return err(
        new ModelgateError("internal", `${target.name}@${target.version}'s output is not float32 class scores.`),
      );
    }
    const rows = probabilityRows(output.dims, output.data);
    if (!rows.ok) return rows;
    return ok({
      predictions: rows.value.map((row) => argmax(row)),
      probabilities: rows.value,
      model_version: `${target.name}@${target.version}`,
      model: target.name,
      version: target.version,
      worker_id: this.#options.workerId,
      inference_time_ms: roundTo(result.value.inferenceTimeMs, 3),
    });
  }
}
