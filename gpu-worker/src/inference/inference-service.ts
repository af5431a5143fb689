/**
 * The worker's inference service: makes sure a requested version is downloaded, verified and
 * loaded on a thread, runs generate / predict jobs there, and keeps the load figures that
 * /health and heartbeats report. Expected failures come back as Result values.
 */
import {
  err,
  type GenerateResponse,
  haltProbability,
  type LoadedModel,
  ModelgateError,
  type ModelVersion,
  ok,
  type PredictResponse,
  type Result,
  type RuntimeConfig,
  type WorkerGenerateRequest,
  type WorkerPredictRequest,
} from "@modelgate/shared";
import type { ArtifactCache } from "../artifacts/artifact-cache.js";
import { type Logger, silentLogger } from "../logger.js";
import { createByteLevelTokenizer } from "./byte-tokenizer.js";
import type { InferenceThreadPool } from "./inference-pool.js";
import { buildPredictTensor, probabilityRows } from "./predict-input.js";
import { resolveRuntimeConfig } from "./resolve-runtime-config.js";
import { argmax, randomSeed } from "./sampling.js";
import type { SessionSettings } from "./thread-protocol.js";
import { ThroughputWindow } from "./throughput-window.js";

export interface InferenceLoad {
  loadedModels: LoadedModel[];
  /** Requests accepted and not yet answered: waiting (for a download, a load or a thread) plus running. */
  queueDepth: number;
  /** Requests executing on an inference thread right now. */
  inFlight: number;
  /** Recent decode speed over finished generations. */
  tokensPerSecond: number;
}

/** What the HTTP app needs from inference; the real one is `InferenceService`. */
export interface InferenceEngine {
  generate(request: WorkerGenerateRequest): Promise<Result<GenerateResponse>>;
  predict(request: WorkerPredictRequest): Promise<Result<PredictResponse>>;
  load(): InferenceLoad;
}

export interface InferenceServiceOptions {
  workerId: string;
  pool: InferenceThreadPool;
  artifacts: ArtifactCache;
  /** DEFAULT_RUNTIME_CONFIG < runtime_config.json < env, resolved at start-up. */
  baseRuntimeConfig: RuntimeConfig;
  sessionSettings: SessionSettings;
  logger?: Logger;
}

interface LoadedSession {
  threadIndex: number;
  inputNames: string[];
  outputNames: string[];
  model: LoadedModel;
}

const HALT_OUTPUT = "halt_logits";

export class InferenceService implements InferenceEngine {
  readonly #options: InferenceServiceOptions;
  readonly #logger: Logger;
  /** Keyed by artifact sha256: one session per distinct file, shared by every name pointing at it. */
  readonly #sessions = new Map<string, Promise<Result<LoadedSession>>>();
  readonly #loaded = new Map<string, LoadedModel>();
  readonly #throughput = new ThroughputWindow();
  #active = 0;

  constructor(options: InferenceServiceOptions) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
  }

  /** Forget sessions that died with their thread; the next request loads them again. */
  forgetModels(modelKeys: readonly string[]): void {
    for (const key of modelKeys) {
      this.#sessions.delete(key);
      this.#loaded.delete(key);
    }
  }

  load(): InferenceLoad {
    return {
      loadedModels: [...this.#loaded.values()],
      queueDepth: this.#active,
      inFlight: this.#options.pool.runningRequests(),
      tokensPerSecond: this.#throughput.tokensPerSecond(),
    };
  }

  async generate(request: WorkerGenerateRequest): Promise<Result<GenerateResponse>> {
    this.#active++;
    try {
      return await this.#generate(request);
    } finally {
      this.#active--;
    }
  }

  async predict(request: WorkerPredictRequest): Promise<Result<PredictResponse>> {
    this.#active++;
    try {
      return await this.#predict(request);
    } finally {
      this.#active--;
    }
  }

  async #generate(request: WorkerGenerateRequest): Promise<Result<GenerateResponse>> {
    const { target } = request;
    if (target.kind !== "causal-lm" || target.tokenizer === undefined) {
      return err(wrongKind(target, "/v1/predict"));
    }
    const runtimeConfig = resolveRuntimeConfig(this.#options.baseRuntimeConfig, request);
    const session = await this.#ensureLoaded(target);
    if (!session.ok) return session;
    const { threadIndex, inputNames, outputNames } = session.value;
    const inputName = pickTensor(target.io.inputs, "input_ids", inputNames);
    const logitsName = pickTensor(
      target.io.outputs.filter((o) => o.name !== HALT_OUTPUT),
      "logits",
      outputNames,
    );
    if (!inputName || !logitsName) return err(contractMismatch(target));
    // Models without a halt head (or requests that switch it off) report null halt fields.
    const haltName = runtimeConfig.halt_head_enabled && outputNames.includes(HALT_OUTPUT) ? HALT_OUTPUT : null;
    const tokenizer = createByteLevelTokenizer(target.tokenizer);
    const promptIds = tokenizer.encodePrompt(request.prompt);
    const seed = request.seed ?? randomSeed();
    const outcome = await this.#options.pool.run(threadIndex, {
      type: "generate",
      modelKey: target.artifact.sha256,
      inputName,
      logitsName,
      haltName,
      promptIds,
      maxNewTokens: runtimeConfig.max_new_tokens,
      temperature: runtimeConfig.temperature,
      topK: request.top_k,
      topP: request.top_p,
      repetitionPenalty: request.repetition_penalty ?? 1,
      stopSequences: (request.stop ?? []).map((stop) => tokenizer.encodeText(stop)),
      textTokenLimit: tokenizer.textTokenLimit,
      seed,
      eosTokenId: tokenizer.eosTokenId,
    });
    if (!outcome.ok) return err(this.#runFailure(target, outcome.message));
    const { tokenIds, finishReason, haltLogits, inferenceTimeMs } = outcome.reply;
    const tokensPerSecond = inferenceTimeMs > 0 ? tokenIds.length / (inferenceTimeMs / 1000) : 0;
    this.#throughput.record(tokenIds.length, inferenceTimeMs);
    const latentStart = tokenizer.beginLatentTokenId;
    return ok({
      model: target.name,
      version: target.version,
      worker_id: this.#options.workerId,
      text: tokenizer.decode(tokenIds),
      token_ids: tokenIds,
      tokens_generated: tokenIds.length,
      prompt_tokens: promptIds.length,
      finish_reason: finishReason,
      halt_logits: haltLogits,
      halt_probability: haltLogits === null ? null : haltProbability(haltLogits),
      // One pass: refinement with judges is a later layer of the engine.
      refinement_loops: 1,
      latent_spans_used: latentStart === undefined ? 0 : tokenIds.filter((id) => id === latentStart).length,
      ces_tokens_total: promptIds.length + tokenIds.length,
      seed,
      inference_time_ms: round(inferenceTimeMs, 3),
      tokens_per_second: round(tokensPerSecond, 2),
      runtime_config: runtimeConfig,
    });
  }

  async #predict(request: WorkerPredictRequest): Promise<Result<PredictResponse>> {
    const { target } = request;
    if (target.kind !== "tensor") return err(wrongKind(target, "/v1/generate"));
    const tensor = buildPredictTensor(target.io, request.data);
    if (!tensor.ok) return tensor;
    const session = await this.#ensureLoaded(target);
    if (!session.ok) return session;
    const { threadIndex, inputNames, outputNames } = session.value;
    const outputName = pickTensor(target.io.outputs, "probabilities", outputNames);
    if (!inputNames.includes(tensor.value.inputName) || !outputName) return err(contractMismatch(target));
    const outcome = await this.#options.pool.run(threadIndex, {
      type: "predict",
      modelKey: target.artifact.sha256,
      inputName: tensor.value.inputName,
      outputName,
      rows: tensor.value.rows,
      features: tensor.value.features,
      values: tensor.value.values,
    });
    if (!outcome.ok) return err(this.#runFailure(target, outcome.message));
    const rows = probabilityRows(outcome.reply.dims, outcome.reply.values);
    if (!rows.ok) return rows;
    return ok({
      predictions: rows.value.map((row) => argmax(row)),
      probabilities: rows.value,
      model_version: `${target.name}@${target.version}`,
      model: target.name,
      version: target.version,
      worker_id: this.#options.workerId,
      inference_time_ms: round(outcome.reply.inferenceTimeMs, 3),
    });
  }

  /** Download (once), verify and load the version's artifact; concurrent callers share the work. */
  #ensureLoaded(target: ModelVersion): Promise<Result<LoadedSession>> {
    const key = target.artifact.sha256;
    let pending = this.#sessions.get(key);
    if (!pending) {
      pending = this.#loadSession(target);
      this.#sessions.set(key, pending);
      // A failed load is not remembered, so the next request tries again.
      void pending.then((result) => {
        if (!result.ok && this.#sessions.get(key) === pending) this.#sessions.delete(key);
      });
    }
    return pending;
  }

  async #loadSession(target: ModelVersion): Promise<Result<LoadedSession>> {
    const path = await this.#options.artifacts.ensureArtifact(target.artifact);
    if (!path.ok) return path;
    const { pool } = this.#options;
    const threadIndex = pool.chooseThreadForNewModel();
    const outcome = await pool.run(threadIndex, {
      type: "load",
      modelKey: target.artifact.sha256,
      path: path.value,
      settings: this.#options.sessionSettings,
    });
    if (!outcome.ok) {
      this.#logger.error("model failed to load", {
        model: `${target.name}@${target.version}`,
        reason: outcome.message,
      });
      return err(new ModelgateError("internal", `Model ${target.name}@${target.version} could not be loaded.`));
    }
    const model: LoadedModel = {
      name: target.name,
      version: target.version,
      sha256: target.artifact.sha256,
      memory_mb: target.memory_mb,
      gpu_index: 0,
    };
    this.#loaded.set(target.artifact.sha256, model);
    this.#logger.info("model loaded", {
      model: `${target.name}@${target.version}`,
      thread: threadIndex,
      ms: Math.round(outcome.reply.loadMs),
    });
    return ok({ threadIndex, inputNames: outcome.reply.inputNames, outputNames: outcome.reply.outputNames, model });
  }

  #runFailure(target: ModelVersion, reason: string): ModelgateError {
    // The thread's message can name files and native details: log it, keep it out of the response.
    this.#logger.error("inference failed", { model: `${target.name}@${target.version}`, reason });
    return new ModelgateError("internal", `Inference on ${target.name}@${target.version} failed on this worker.`);
  }
}

/** The contract tensor named `preferred`, else the first one, as long as the session has it. */
function pickTensor(specs: ReadonlyArray<{ name: string }>, preferred: string, available: readonly string[]) {
  const name = specs.find((s) => s.name === preferred)?.name ?? specs[0]?.name;
  return name !== undefined && available.includes(name) ? name : undefined;
}

function wrongKind(target: ModelVersion, route: string): ModelgateError {
  return new ModelgateError(
    "bad_request",
    `${target.name}@${target.version} is a ${target.kind} model; call ${route}.`,
    [{ field: "target.kind", message: `is ${target.kind}` }],
  );
}

function contractMismatch(target: ModelVersion): ModelgateError {
  return new ModelgateError(
    "internal",
    `Model ${target.name}@${target.version} does not have the inputs and outputs its registry contract lists.`,
  );
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
