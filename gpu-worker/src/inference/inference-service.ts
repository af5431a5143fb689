/**
 * The worker's inference service: checks a request before any inference, makes sure its
 * versions are loaded (ModelResidency), runs seed 000's refinement loop over generations on the
 * inference threads, and keeps the load figures that /health and heartbeats report. Expected
 * failures come back as Result values.
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
  type RefinementLoop,
  type Result,
  type RuntimeConfig,
  type WorkerGenerateRequest,
  type WorkerPredictRequest,
} from "@modelgate/shared";
import type { ArtifactCache } from "../artifacts/artifact-cache.js";
import { createJudge, type Judge } from "../engine/judges.js";
import { type LoopGeneration, type PromptForm, runRefinement } from "../engine/refinement.js";
import { type Logger, silentLogger } from "../logger.js";
import type { InferenceThreadPool } from "./inference-pool.js";
import { ModelResidency, type ResidentModel } from "./model-residency.js";
import { buildPredictTensor, probabilityRows } from "./predict-input.js";
import { resolveRuntimeConfig } from "./resolve-runtime-config.js";
import { argmax, randomSeed } from "./sampling.js";
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

/** What a streaming caller hears while a generation runs. */
export type GenerationEvent = { type: "text"; loop: number; text: string } | { type: "loop"; loop: RefinementLoop };

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
}

/** What one loop's generation left behind besides what the refinement loop reports. */
interface LoopDetail {
  tokenIds: number[];
  haltLogits: [number, number] | null;
  latentSpansUsed: number;
  inferenceTimeMs: number;
}

const DEFAULT_MEMORY_BUDGET_MB = 16 * 1024;

export class InferenceService implements InferenceEngine {
  readonly #options: InferenceServiceOptions;
  readonly #logger: Logger;
  readonly #residency: ModelResidency;
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
    });
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

  async generate(
    request: WorkerGenerateRequest,
    onEvent?: (event: GenerationEvent) => void,
    signal?: AbortSignal,
  ): Promise<Result<GenerateResponse>> {
    this.#active++;
    try {
      return await this.#generate(request, onEvent, signal);
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

  checkGenerate(request: WorkerGenerateRequest): Result<void> {
    const checked = this.#check(request);
    return checked.ok ? ok(undefined) : checked;
  }

  /** Everything a request can get wrong, checked before any model is loaded or run. */
  #check(request: WorkerGenerateRequest): Result<{ runtimeConfig: RuntimeConfig; judge: Judge | undefined }> {
    const { target } = request;
    if (target.kind !== "causal-lm" || target.tokenizer === undefined) {
      return err(wrongKind(target, target.kind === "tensor" ? "/v1/predict" : "a judge"));
    }
    const runtimeConfig = resolveRuntimeConfig(this.#options.baseRuntimeConfig, request);
    const limit = target.max_context_tokens;
    if (limit !== undefined && runtimeConfig.max_new_tokens >= limit) {
      return err(contextTooSmall(target, runtimeConfig.max_new_tokens, limit));
    }
    const judge = this.#createJudge(request);
    if (!judge.ok) return judge;
    return ok({ runtimeConfig, judge: judge.value });
  }

  async #generate(
    request: WorkerGenerateRequest,
    onEvent: ((event: GenerationEvent) => void) | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Result<GenerateResponse>> {
    const { target } = request;
    const checked = this.#check(request);
    if (!checked.ok) return checked;
    const { runtimeConfig, judge } = checked.value;
    const prompt: PromptForm =
      request.messages !== undefined
        ? { kind: "messages", messages: request.messages }
        : { kind: "text", text: request.prompt ?? "" };
    const seed = request.seed ?? randomSeed();
    const details: LoopDetail[] = [];
    const outcome = await this.#residency.withModel(target, async (model) =>
      runRefinement({
        prompt,
        maxLoops: runtimeConfig.max_refinement_loops,
        judgeScoreThreshold: runtimeConfig.judge_score_threshold,
        haltProbabilityThreshold: runtimeConfig.halt_probability_threshold,
        judge,
        generate: (loopPrompt, loop) =>
          this.#generateOnce({
            request,
            runtimeConfig,
            model,
            seed,
            prompt: loopPrompt,
            loop,
            details,
            onEvent,
            signal,
          }),
        ...(onEvent ? { onLoop: (loop: RefinementLoop) => onEvent({ type: "loop", loop }) } : {}),
      }),
    );
    if (!outcome.ok) return outcome;
    const { loops, final, stopReason } = outcome.value;
    const finalDetail = details[final.loop - 1];
    if (!finalDetail) return err(new ModelgateError("internal", "The final refinement loop left no result."));
    const generatedTotal = loops.reduce((sum, loop) => sum + loop.tokens, 0);
    const timeTotal = details.reduce((sum, detail) => sum + detail.inferenceTimeMs, 0);
    this.#throughput.record(generatedTotal, timeTotal);
    const halted = runtimeConfig.halt_head_enabled ? finalDetail.haltLogits : null;
    return ok({
      model: target.name,
      version: target.version,
      worker_id: this.#options.workerId,
      text: final.text,
      token_ids: finalDetail.tokenIds,
      tokens_generated: final.tokens,
      prompt_tokens: final.prompt_tokens,
      finish_reason: final.finish_reason,
      halt_logits: halted,
      halt_probability: halted === null ? null : haltProbability(halted),
      refinement_loops: loops.length,
      loops,
      stop_reason: stopReason,
      latent_spans_used: details.reduce((sum, detail) => sum + detail.latentSpansUsed, 0),
      // Seed 000's context-efficiency count: every token read or written, over every loop.
      ces_tokens_total: loops.reduce((sum, loop) => sum + loop.prompt_tokens + loop.tokens, 0),
      seed,
      inference_time_ms: round(timeTotal, 3),
      tokens_per_second: round(timeTotal > 0 ? generatedTotal / (timeTotal / 1000) : 0, 2),
      runtime_config: runtimeConfig,
    });
  }

  /** One loop's generation on the model's thread. */
  async #generateOnce(input: {
    request: WorkerGenerateRequest;
    runtimeConfig: RuntimeConfig;
    model: ResidentModel;
    seed: number;
    prompt: PromptForm;
    loop: number;
    details: LoopDetail[];
    onEvent: ((event: GenerationEvent) => void) | undefined;
    signal: AbortSignal | undefined;
  }): Promise<Result<LoopGeneration>> {
    const { request, runtimeConfig, model, loop, onEvent } = input;
    const { target } = request;
    const outcome = await this.#options.pool.run(
      model.threadIndex,
      {
        type: "generate",
        modelKey: target.artifact.sha256,
        prompt: input.prompt,
        settings: {
          maxNewTokens: runtimeConfig.max_new_tokens,
          temperature: runtimeConfig.temperature,
          topK: request.top_k,
          topP: request.top_p,
          repetitionPenalty: request.repetition_penalty ?? 1,
          stop: request.stop ?? [],
          // Each loop draws its own stream of random numbers, all fixed by the request's seed.
          seed: (input.seed + loop - 1) >>> 0,
          latent: {
            enabled: runtimeConfig.latent_mode_enabled,
            maxSpans: runtimeConfig.max_latent_spans,
            maxLength: runtimeConfig.max_latent_length,
            include: request.include_latent ?? false,
          },
        },
        contextLimit: target.max_context_tokens,
        // A refinement prompt is longer than the request's: later loops get what room is left.
        shrinkToFit: loop > 1,
        stream: onEvent !== undefined,
      },
      { onText: onEvent ? (text) => onEvent({ type: "text", loop, text }) : undefined, signal: input.signal },
    );
    if (!outcome.ok) {
      if (outcome.code === "cancelled") {
        return err(new ModelgateError("bad_request", "The caller went away; the generation was stopped."));
      }
      if (outcome.code === "context_overflow") {
        return err(
          new ModelgateError("bad_request", `The request does not fit ${target.name}@${target.version}'s context.`, [
            { field: loop === 1 ? "max_new_tokens" : "runtime_config.max_refinement_loops", message: outcome.message },
          ]),
        );
      }
      return err(this.#runFailure(target, outcome.message));
    }
    const reply = outcome.reply;
    input.details[loop - 1] = {
      tokenIds: reply.tokenIds,
      haltLogits: reply.haltLogits,
      latentSpansUsed: reply.latentSpansUsed,
      inferenceTimeMs: reply.inferenceTimeMs,
    };
    const halt = runtimeConfig.halt_head_enabled && reply.haltLogits ? haltProbability(reply.haltLogits) : null;
    return ok({
      text: reply.text,
      tokens: reply.tokenIds.length,
      promptTokens: reply.promptTokens,
      haltProbability: halt,
      finishReason: reply.finishReason,
    });
  }

  #createJudge(request: WorkerGenerateRequest): Result<Judge | undefined> {
    const spec = request.judge;
    if (spec === undefined) return ok(undefined);
    if (spec.type !== "model") return createJudge(spec);
    const scorer = request.judge_target;
    if (scorer === undefined || scorer.kind !== "scorer") {
      return err(
        new ModelgateError("bad_request", `The judge model ${spec.model} is not a scorer.`, [
          { field: "judge.model", message: "must name a model of kind scorer" },
        ]),
      );
    }
    return createJudge(spec, {
      scoreWithModel: (prompt, answer) => this.#score(scorer, `${prompt}\n${answer}`),
    });
  }

  /** Runs a scorer version on text; its `score` output is the judge's score. */
  #score(scorer: ModelVersion, text: string): Promise<Result<number>> {
    return this.#residency.withModel(scorer, async (model) => {
      const outcome = await this.#options.pool.run(model.threadIndex, {
        type: "score",
        modelKey: scorer.artifact.sha256,
        text,
      });
      if (!outcome.ok) return err(this.#runFailure(scorer, outcome.message));
      return ok(outcome.reply.score);
    });
  }

  async #predict(request: WorkerPredictRequest): Promise<Result<PredictResponse>> {
    const { target } = request;
    if (target.kind !== "tensor") return err(wrongKind(target, "/v1/generate"));
    const tensor = buildPredictTensor(target.io, request.data);
    if (!tensor.ok) return tensor;
    return this.#residency.withModel(target, async (model) => {
      const outputName = pickTensor(target.io.outputs, "probabilities", model.outputNames);
      if (!model.inputNames.includes(tensor.value.inputName) || !outputName) return err(contractMismatch(target));
      const outcome = await this.#options.pool.run(model.threadIndex, {
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
    });
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

function wrongKind(target: ModelVersion, use: string): ModelgateError {
  return new ModelgateError(
    "bad_request",
    `${target.name}@${target.version} is a ${target.kind} model; use it with ${use}.`,
    [{ field: "target.kind", message: `is ${target.kind}` }],
  );
}

function contextTooSmall(target: ModelVersion, maxNewTokens: number, limit: number): ModelgateError {
  return new ModelgateError(
    "bad_request",
    `max_new_tokens ${maxNewTokens} leaves no room for a prompt in ${target.name}@${target.version}'s ${limit}-token context.`,
    [{ field: "max_new_tokens", message: `must be less than the model's context length (${limit})` }],
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
