/**
 * Seed 000's generate_with_refinement (and generate_simple, which is the same loop without a
 * judge): generate, let the judge score the answer, and while it fails, the halt head does not
 * say stop and the loop budget lasts, generate again from the original prompt plus the latest
 * answer and the judge's feedback.
 *
 * Pure apart from the injected `generate` (the model) and the judge; the budget arrives already
 * clamped by the CAWS tier.
 */
import {
  type ChatMessage,
  err,
  ModelgateError,
  ok,
  type RefinementLoop,
  type RefinementStopReason,
  type Result,
} from "@modelgate/shared";
import type { Judge } from "./judges.js";

/** A prompt as the caller gave it: raw text (no template) or chat messages (the model's template). */
export type PromptForm = { kind: "text"; text: string } | { kind: "messages"; messages: ChatMessage[] };

/** One generation, as the model runner reports it. */
export interface LoopGeneration {
  /** The visible answer (latent spans already hidden or kept, as the request asked). */
  text: string;
  tokens: number;
  promptTokens: number;
  /** The halt head's probability after this answer; null when the model has none or it is off. */
  haltProbability: number | null;
  finishReason: "length" | "eos" | "stop";
}

export interface RefinementInput {
  prompt: PromptForm;
  /** The loop budget, already clamped by the CAWS tier; at least 1. */
  maxLoops: number;
  judgeScoreThreshold: number;
  haltProbabilityThreshold: number;
  /** Undefined: one loop, no scoring (seed 000's generate_simple). */
  judge: Judge | undefined;
  generate(prompt: PromptForm, loop: number): Promise<Result<LoopGeneration>>;
  /** Called after each loop is scored, e.g. to stream progress. */
  onLoop?(loop: RefinementLoop): void;
}

export interface RefinementOutcome {
  /** Every loop that ran, in order; `loops.length` never exceeds `maxLoops`. */
  loops: RefinementLoop[];
  /** The answer to return. */
  final: RefinementLoop;
  stopReason: RefinementStopReason;
}

/** The line after the feedback in a chat refinement turn. */
export const REFINEMENT_INSTRUCTION = "Please give an improved answer.";

/**
 * The next loop's prompt. Always built from the ORIGINAL prompt plus only the latest answer and
 * its feedback — never from the previous refinement prompt — so a prompt's length stays bounded
 * by original + one answer + one feedback however many loops run, and older, worse answers do
 * not anchor the model.
 *
 * Text form (deterministic, no trailing spaces):
 * ```
 * <original text>
 *
 * Previous answer:
 * <previous answer>
 *
 * Feedback: <feedback>
 *
 * Improved answer:
 * ```
 * followed by one newline. Messages form: the original messages, then
 * `{ role: "assistant", content: <previous answer> }` and
 * `{ role: "user", content: "Feedback: <feedback>\nPlease give an improved answer." }`.
 */
export function buildRefinementPrompt(original: PromptForm, previousAnswer: string, feedback: string): PromptForm {
  if (original.kind === "text") {
    return {
      kind: "text",
      text: `${original.text}\n\nPrevious answer:\n${previousAnswer}\n\nFeedback: ${feedback}\n\nImproved answer:\n`,
    };
  }
  return {
    kind: "messages",
    messages: [
      ...original.messages,
      { role: "assistant", content: previousAnswer },
      { role: "user", content: `Feedback: ${feedback}\n${REFINEMENT_INSTRUCTION}` },
    ],
  };
}

/**
 * The prompt as one string, for judges that read it (a scorer model): the text itself, or each
 * message as `<role>: <content>` on its own line.
 */
export function promptAsText(prompt: PromptForm): string {
  if (prompt.kind === "text") return prompt.text;
  return prompt.messages.map((message) => `${message.role}: ${message.content}`).join("\n");
}

export async function runRefinement(input: RefinementInput): Promise<Result<RefinementOutcome>> {
  const { maxLoops, judge } = input;
  if (!Number.isInteger(maxLoops) || maxLoops < 1) {
    return err(
      new ModelgateError("internal", `The refinement loop budget must be a positive integer, not ${maxLoops}`),
    );
  }
  const judgeContext = { prompt: promptAsText(input.prompt) };
  const loops: RefinementLoop[] = [];
  let prompt = input.prompt;

  for (let loopNumber = 1; loopNumber <= maxLoops; loopNumber++) {
    const generated = await input.generate(prompt, loopNumber);
    if (!generated.ok) return generated;
    const generation = generated.value;

    if (judge === undefined) {
      const loop = recordLoop(loopNumber, generation, null, null);
      loops.push(loop);
      input.onLoop?.(loop);
      return ok({ loops, final: loop, stopReason: "no_judge" });
    }

    const judged = await judge.score(generation.text, judgeContext);
    if (!judged.ok) return judged;
    const verdict = judged.value;
    const loop = recordLoop(loopNumber, generation, verdict.score, verdict.feedback);
    loops.push(loop);
    input.onLoop?.(loop);

    if (verdict.score >= input.judgeScoreThreshold) return ok({ loops, final: loop, stopReason: "judge_passed" });
    if (generation.haltProbability !== null && generation.haltProbability >= input.haltProbabilityThreshold) {
      // The model says it is done: its last answer stands, as seed 000's halt head intends.
      return ok({ loops, final: loop, stopReason: "halted" });
    }
    if (loopNumber === maxLoops) return ok({ loops, final: bestLoop(loops, loop), stopReason: "max_loops" });

    const feedback = verdict.feedback ?? `The answer scored ${verdict.score}, below ${input.judgeScoreThreshold}.`;
    prompt = buildRefinementPrompt(input.prompt, generation.text, feedback);
  }
  // Unreachable: the last iteration returns `max_loops` at the latest.
  return err(new ModelgateError("internal", "The refinement loop ended without a stop reason"));
}

function recordLoop(
  loop: number,
  generation: LoopGeneration,
  judgeScore: number | null,
  judgeFeedback: string | null,
): RefinementLoop {
  return {
    loop,
    text: generation.text,
    tokens: generation.tokens,
    prompt_tokens: generation.promptTokens,
    halt_probability: generation.haltProbability,
    judge_score: judgeScore,
    judge_feedback: judgeFeedback,
    finish_reason: generation.finishReason,
  };
}

/**
 * When the budget runs out nothing passed, and refining is not monotone — a later loop can fix
 * one thing and break two — so the best-scored answer is the most useful one to return rather
 * than merely the last. Ties go to the later loop: it saw the most feedback, and equal scores
 * give no reason to discard that.
 */
function bestLoop(loops: readonly RefinementLoop[], last: RefinementLoop): RefinementLoop {
  // In loop order, replacing on an equal score too, so that the latest of equals wins.
  let best = last;
  let bestScore = Number.NEGATIVE_INFINITY;
  for (const loop of loops) {
    const score = loop.judge_score ?? 0;
    if (score >= bestScore) {
      best = loop;
      bestScore = score;
    }
  }
  return best;
}
