/**
 * Seed 000's generate_simple / generate_with_refinement on the worker: checks a request before
 * any inference, resolves its runtime configuration and judge, and runs the refinement loop,
 * each loop one generation job on the model's inference thread (where it joins the model's
 * decode batch). A `model` judge runs the registered scorer on its own thread.
 */
import {
  type ConstraintSpec,
  constraintFieldProblems,
  err,
  type GenerateResponse,
  haltProbability,
  ModelgateError,
  type ModelVersion,
  ok,
  parseToolCalls,
  type RefinementLoop,
  type Result,
  type RuntimeConfig,
  type WorkerGenerateRequest,
} from "@modelgate/shared";
import { compileConstraint } from "../engine/constraints/compile-constraint.js";
import { createJudge, type Judge } from "../engine/judges.js";
import { type LoopGeneration, type PromptForm, runRefinement } from "../engine/refinement.js";
import type { Logger } from "../logger.js";
import { modelLabelsOf, type WorkerMetrics } from "../metrics/worker-metrics.js";
import { roundTo } from "../numbers.js";
import { contextTooSmall, inferenceFailure, wrongKind } from "./inference-errors.js";
import type { InferenceThreadPool } from "./inference-pool.js";
import type { ModelResidency, ResidentModel } from "./model-residency.js";
import { resolveRuntimeConfig } from "./resolve-runtime-config.js";
import { randomSeed } from "./sampling.js";

/** What a streaming caller hears while a generation runs. */
export type GenerationEvent = { type: "text"; loop: number; text: string } | { type: "loop"; loop: RefinementLoop };

export interface GenerationRunnerOptions {
  workerId: string;
  pool: InferenceThreadPool;
  residency: ModelResidency;
  /** DEFAULT_RUNTIME_CONFIG < runtime_config.json < env, resolved at start-up. */
  baseRuntimeConfig: RuntimeConfig;
  logger: Logger;
  metrics?: WorkerMetrics | undefined;
}

/** What one loop's generation left behind besides what the refinement loop reports. */
interface LoopDetail {
  tokenIds: number[];
  haltLogits: [number, number] | null;
  latentSpansUsed: number;
  inferenceTimeMs: number;
}

export class GenerationRunner {
  readonly #options: GenerationRunnerOptions;

  constructor(options: GenerationRunnerOptions) {
    this.#options = options;
  }

  /** The checks `generate` makes before any inference, for callers that must answer 4xx before streaming. */
  check(request: WorkerGenerateRequest): Result<void> {
    const checked = this.#check(request);
    return checked.ok ? ok(undefined) : checked;
  }

  /** Everything a request can get wrong, checked before any model is loaded or run. */
  #check(
    request: WorkerGenerateRequest,
  ): Result<{ runtimeConfig: RuntimeConfig; judge: Judge | undefined; constraint: ConstraintSpec | undefined }> {
    const { target } = request;
    if (target.kind !== "causal-lm" || target.tokenizer === undefined) {
      return err(wrongKind(target, target.kind === "tensor" ? "/v1/predict" : "a judge"));
    }
    const runtimeConfig = resolveRuntimeConfig(this.#options.baseRuntimeConfig, request);
    const limit = target.max_context_tokens;
    if (limit !== undefined && runtimeConfig.max_new_tokens >= limit) {
      return err(contextTooSmall(target, runtimeConfig.max_new_tokens, limit));
    }
    const constraint = constraintOf(request);
    if (constraint !== undefined) {
      // Compiled (and cached) here so an unsupported or unsatisfiable constraint is a 400 before
      // any inference; the inference thread compiles the same spec from its own cache.
      const compiled = compileConstraint(constraint.spec);
      if (!compiled.ok) {
        const problems = constraintFieldProblems(compiled.problems, constraint.field);
        const named = problems.map((p) => `${p.field}: ${p.message}`).join("; ");
        return err(new ModelgateError("validation_failed", `The constraint cannot be enforced: ${named}`, problems));
      }
    }
    const judge = this.#createJudge(request);
    if (!judge.ok) return judge;
    return ok({ runtimeConfig, judge: judge.value, constraint: constraint?.spec });
  }

  async generate(
    request: WorkerGenerateRequest,
    onEvent: ((event: GenerationEvent) => void) | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Result<GenerateResponse>> {
    const { target } = request;
    const checked = this.#check(request);
    if (!checked.ok) return checked;
    const { runtimeConfig, judge, constraint } = checked.value;
    const prompt: PromptForm =
      request.messages !== undefined
        ? { kind: "messages", messages: request.messages }
        : { kind: "text", text: request.prompt ?? "" };
    const seed = request.seed ?? randomSeed();
    const details: LoopDetail[] = [];
    const startedAt = performance.now();
    const outcome = await this.#options.residency.withModel(target, async (model) =>
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
            constraint,
            model,
            seed,
            prompt: loopPrompt,
            loop,
            details,
            onEvent,
            signal,
            startedAt,
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
    const halted = runtimeConfig.halt_head_enabled ? finalDetail.haltLogits : null;
    const answer: GenerateResponse = {
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
      ...toolCallsOf(constraint, final.text),
      latent_spans_used: details.reduce((sum, detail) => sum + detail.latentSpansUsed, 0),
      // Seed 000's context-efficiency count: every token read or written, over every loop.
      ces_tokens_total: loops.reduce((sum, loop) => sum + loop.prompt_tokens + loop.tokens, 0),
      seed,
      inference_time_ms: roundTo(timeTotal, 3),
      tokens_per_second: roundTo(timeTotal > 0 ? generatedTotal / (timeTotal / 1000) : 0, 2),
      runtime_config: runtimeConfig,
    };
    this.#options.metrics?.generationAnswered(modelLabelsOf(target), answer, request.judge?.type);
    return ok(answer);
  }

  /** One loop's generation on the model's thread. */
  async #generateOnce(input: {
    request: WorkerGenerateRequest;
    runtimeConfig: RuntimeConfig;
    constraint: ConstraintSpec | undefined;
    model: ResidentModel;
    seed: number;
    prompt: PromptForm;
    loop: number;
    details: LoopDetail[];
    onEvent: ((event: GenerationEvent) => void) | undefined;
    signal: AbortSignal | undefined;
    /** When the request reached the runner (`performance.now()`), for the time to first token. */
    startedAt: number;
  }): Promise<Result<LoopGeneration>> {
    const { request, runtimeConfig, model, loop, onEvent } = input;
    const { target } = request;
    const postedAt = performance.now();
    const outcome = await this.#options.pool.run(
      model.threadIndex,
      {
        type: "generate",
        modelKey: target.artifact.sha256,
        prompt: input.prompt,
        settings: {
          maxNewTokens: runtimeConfig.max_new_tokens,
          minNewTokens: request.min_new_tokens,
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
        constraint: input.constraint,
        tools: input.constraint?.type === "tool_calls" ? input.constraint.tools : undefined,
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
      if (outcome.code === "constraint_invalid") {
        return err(
          new ModelgateError("validation_failed", "The constraint cannot be enforced.", [
            { field: "constraint", message: outcome.message },
          ]),
        );
      }
      if (outcome.code === "context_overflow") {
        return err(
          new ModelgateError("bad_request", `The request does not fit ${target.name}@${target.version}'s context.`, [
            { field: loop === 1 ? "max_new_tokens" : "runtime_config.max_refinement_loops", message: outcome.message },
          ]),
        );
      }
      return err(inferenceFailure(this.#options.logger, target, outcome.message));
    }
    const reply = outcome.reply;
    const metrics = this.#options.metrics;
    if (metrics) {
      const labels = modelLabelsOf(target);
      metrics.loopGenerated(labels, reply.timing, reply.executions);
      // The first token of the answer: model load and thread hand-over, then the thread's queue and prefill.
      if (loop === 1) metrics.timeToFirstToken(labels, (postedAt - input.startedAt + reply.timing.firstTokenMs) / 1000);
    }
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
    return this.#options.residency.withModel(scorer, async (model) => {
      const outcome = await this.#options.pool.run(model.threadIndex, {
        type: "score",
        modelKey: scorer.artifact.sha256,
        text,
      });
      if (!outcome.ok) return err(inferenceFailure(this.#options.logger, scorer, outcome.message));
      return ok(outcome.reply.score);
    });
  }
}

/** The request's constraint and the field it came from: `constraint`, or a json_schema judge with `enforce`. */
function constraintOf(request: WorkerGenerateRequest): { spec: ConstraintSpec; field: string } | undefined {
  if (request.constraint !== undefined) return { spec: request.constraint, field: "constraint" };
  const judge = request.judge;
  if (judge?.type === "json_schema" && judge.enforce === true) {
    return { spec: { type: "json_schema", schema: judge.schema }, field: "judge" };
  }
  return undefined;
}

/** Under a tool_calls constraint, the answer's calls (none when it answered in plain text). */
function toolCallsOf(constraint: ConstraintSpec | undefined, text: string): Pick<GenerateResponse, "tool_calls"> {
  if (constraint?.type !== "tool_calls") return {};
  const calls = parseToolCalls(text);
  return calls === undefined ? {} : { tool_calls: calls };
}
