/**
 * One dataset line on one target: the generate request the engine runs (the line's own judge
 * and constraint, else the evaluation's judge; the evaluation's generation settings), and the
 * results row made from its answer, scored against the line's `expected`.
 */
import {
  type CawsTier,
  type EvaluationExpectation,
  type EvaluationJob,
  type EvaluationLine,
  type EvaluationResult,
  err,
  expectationKind,
  type GenerateResponse,
  type ModelVersion,
  ok,
  type Result,
  type WorkerGenerateRequest,
  WorkerGenerateRequestSchema,
} from "@modelgate/shared";
import { createJudge } from "../engine/judges.js";
import type { InferenceEngine } from "../inference/inference-service.js";

export interface LineTarget {
  label: string;
  served: ModelVersion;
}

export interface EvaluationContext {
  job: EvaluationJob;
  judgeTargets: Record<string, ModelVersion>;
  cawsTierCap?: CawsTier | undefined;
}

/** The engine's request for a line on a target; a line the engine would refuse is a value, not a throw. */
export function generateRequestFor(
  line: EvaluationLine,
  target: LineTarget,
  context: EvaluationContext,
): Result<WorkerGenerateRequest, string> {
  const { job } = context;
  const judge = line.judge ?? job.judge;
  const judgeTarget = judge?.type === "model" ? context.judgeTargets[judge.model] : undefined;
  const parsed = WorkerGenerateRequestSchema.safeParse({
    model: target.label,
    ...(line.prompt === undefined ? {} : { prompt: line.prompt }),
    ...(line.messages === undefined ? {} : { messages: line.messages }),
    ...(job.max_new_tokens === undefined ? {} : { max_new_tokens: job.max_new_tokens }),
    ...(job.temperature === undefined ? {} : { temperature: job.temperature }),
    ...(job.seed === undefined ? {} : { seed: job.seed }),
    ...(job.runtime_config === undefined ? {} : { runtime_config: job.runtime_config }),
    ...(judge === undefined ? {} : { judge }),
    ...(line.constraint === undefined ? {} : { constraint: line.constraint }),
    target: target.served,
    ...(judgeTarget === undefined ? {} : { judge_target: judgeTarget }),
    ...(context.cawsTierCap === undefined ? {} : { caws_tier_cap: context.cawsTierCap }),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return err(`the line cannot be run: ${issue ? `${issue.path.join(".")} ${issue.message}` : "invalid request"}`);
  }
  return ok(parsed.data);
}

/** Runs the line on the target through the engine (batched with whatever else runs) and scores the answer. */
export async function evaluateLine(
  engine: InferenceEngine,
  lineNumber: number,
  line: EvaluationLine,
  target: LineTarget,
  context: EvaluationContext,
  signal?: AbortSignal,
): Promise<EvaluationResult> {
  const base = { line: lineNumber, ...(line.id === undefined ? {} : { id: line.id }), target: target.label };
  const request = generateRequestFor(line, target, context);
  if (!request.ok) return errorRow(base, request.error, 0);
  const started = performance.now();
  const checked = engine.checkGenerate(request.value);
  const answer = checked.ok ? await engine.generate(request.value, undefined, signal) : checked;
  const latencyMs = performance.now() - started;
  if (!answer.ok) return errorRow(base, answer.error.message, latencyMs);
  return resultRow(base, line, answer.value, latencyMs);
}

type RowBase = Pick<EvaluationResult, "line" | "id" | "target">;

function errorRow(base: RowBase, message: string, latencyMs: number): EvaluationResult {
  return {
    ...base,
    text: "",
    error: message.slice(0, 1000),
    refinement_loops: 0,
    judge_score: null,
    judge_passed: null,
    halt_probability: null,
    latent_spans_used: 0,
    ces_tokens_total: 0,
    tokens_generated: 0,
    latency_ms: round(latencyMs),
    passed: false,
  };
}

const round = (value: number) => Math.round(value * 1000) / 1000;

async function resultRow(
  base: RowBase,
  line: EvaluationLine,
  answer: GenerateResponse,
  latencyMs: number,
): Promise<EvaluationResult> {
  // The answer returned is the best-scored loop's; its score is the best any loop reached.
  const scores = answer.loops.flatMap((loop) => (loop.judge_score === null ? [] : [loop.judge_score]));
  const judgeScore = scores.length === 0 ? null : Math.max(...scores);
  const judgePassed = judgeScore === null ? null : judgeScore >= answer.runtime_config.judge_score_threshold;
  const expected = line.expected === undefined ? undefined : await scoreExpected(line.expected, answer.text, line);
  const checks = [judgePassed, expected?.value].filter((check): check is boolean => typeof check === "boolean");
  return {
    ...base,
    text: answer.text,
    finish_reason: answer.finish_reason,
    stop_reason: answer.stop_reason,
    refinement_loops: answer.refinement_loops,
    judge_score: judgeScore,
    judge_passed: judgePassed,
    halt_probability: answer.halt_probability,
    latent_spans_used: answer.latent_spans_used,
    ces_tokens_total: answer.ces_tokens_total,
    tokens_generated: answer.tokens_generated,
    latency_ms: round(latencyMs),
    ...(expected === undefined ? {} : { [expected.field]: expected.value }),
    passed: checks.length === 0 ? null : checks.every(Boolean),
  };
}

const FIELD_FOR_KIND = { exact_match: "exact_match", regex: "regex_match", schema: "schema_valid" } as const;

/** 1 or 0 against `expected`: exact text (whitespace around it ignored), a regex match, or valid JSON under a schema. */
async function scoreExpected(
  expected: EvaluationExpectation,
  text: string,
  line: EvaluationLine,
): Promise<{ field: (typeof FIELD_FOR_KIND)[keyof typeof FIELD_FOR_KIND]; value: boolean }> {
  const field = FIELD_FOR_KIND[expectationKind(expected)];
  if (typeof expected === "string") return { field, value: text.trim() === expected.trim() };
  const judge = createJudge(expected);
  if (!judge.ok) return { field, value: false };
  const verdict = await judge.value.score(text, { prompt: line.prompt ?? "" });
  return { field, value: verdict.ok && verdict.value.score === 1 };
}
