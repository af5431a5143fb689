import { z } from "zod";
import { schemaProblems } from "./constraint.js";
import { freeText } from "./free-text.js";

/**
 * Seed 000's `judge_fn`, as data: a request names how each refinement loop's answer is scored,
 * and the worker scores it. Scores are in [0, 1]; a loop whose score reaches
 * `judge_score_threshold` ends the refinement.
 */

const JSON_SCHEMA_MAX_BYTES = 16 * 1024;

/**
 * The answer must be JSON that validates against `schema` (JSON Schema draft 2020-12). With
 * `enforce`, every loop is also decoded under the schema (constrained decoding), so the judge sees
 * valid JSON and what it scores beyond the grammar (what the schema checks but decoding cannot,
 * or another judge's semantics) still drives refinement.
 */
export const JsonSchemaJudgeSchema = z
  .strictObject({
    type: z.literal("json_schema"),
    schema: z
      .union([z.record(z.string(), z.unknown()), z.boolean()])
      .refine((schema) => JSON.stringify(schema).length <= JSON_SCHEMA_MAX_BYTES, {
        message: `must be at most ${JSON_SCHEMA_MAX_BYTES} bytes of JSON`,
      }),
    enforce: z.boolean().optional(),
  })
  .superRefine((judge, ctx) => {
    if (judge.enforce !== true) return;
    for (const problem of schemaProblems(judge.schema, ["schema"])) {
      ctx.addIssue({ code: "custom", path: problem.path, message: problem.message });
    }
  });

/** Flags a judge pattern may use: no `g`/`y` (stateful) and no `d` (indices nobody reads). */
const REGEX_FLAGS = /^[imsuv]*$/;

/** The answer must match `pattern` (JavaScript syntax) somewhere, or in whole with `^…$`. */
export const RegexJudgeSchema = z
  .strictObject({
    type: z.literal("regex"),
    pattern: z.string().min(1).max(1000),
    flags: z
      .string()
      .max(5)
      .regex(REGEX_FLAGS, "may only contain the flags i, m, s, u and v")
      .refine((flags) => new Set(flags).size === flags.length, "must not repeat a flag")
      .optional(),
  })
  .superRefine((judge, ctx) => {
    const problem = regexCompileProblem(judge.pattern, judge.flags ?? "");
    if (problem !== undefined) ctx.addIssue({ code: "custom", path: ["pattern"], message: problem });
  });

/**
 * A registered scorer model (kind `scorer`) reads the prompt and the answer and returns a
 * score in [0, 1]. The edge resolves `model` like any model reference and forwards the version.
 */
export const ModelJudgeSchema = z.strictObject({
  type: z.literal("model"),
  model: freeText({ min: 1, max: 200 }),
});

export const JudgeSpecSchema = z.discriminatedUnion("type", [
  JsonSchemaJudgeSchema,
  RegexJudgeSchema,
  ModelJudgeSchema,
]);
export type JudgeSpec = z.infer<typeof JudgeSpecSchema>;

/** Why a pattern does not compile, in the engine's words; undefined when it does. */
export function regexCompileProblem(pattern: string, flags: string): string | undefined {
  try {
    new RegExp(pattern, flags);
    return undefined;
  } catch (error) {
    return `does not compile: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** One refinement loop as reported in a generation's answer. */
export const RefinementLoopSchema = z.object({
  /** 1-based. */
  loop: z.int().min(1),
  /** Visible text of this loop's answer. */
  text: z.string(),
  /** Tokens generated in this loop. */
  tokens: z.int().min(0),
  /** Tokens the model read in this loop (its prompt, previous answers and feedback included). */
  prompt_tokens: z.int().min(0),
  halt_probability: z.number().min(0).max(1).nullable(),
  /** Null without a judge. */
  judge_score: z.number().min(0).max(1).nullable(),
  /** What the judge found wrong; fed into the next loop's prompt. */
  judge_feedback: z.string().nullable(),
  finish_reason: z.enum(["length", "eos", "stop"]),
});
export type RefinementLoop = z.infer<typeof RefinementLoopSchema>;

/**
 * Why refinement ended: the judge's score reached the threshold; the halt head said stop; the
 * tier's (or config's) loop budget ran out; or there was no judge, so one answer was final.
 */
export const RefinementStopReasonSchema = z.enum(["judge_passed", "halted", "max_loops", "no_judge"]);
export type RefinementStopReason = z.infer<typeof RefinementStopReasonSchema>;
