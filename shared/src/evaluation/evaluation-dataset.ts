import { z } from "zod";
import { ConstraintSpecSchema } from "../constraint.js";
import { ChatMessageSchema } from "../inference.js";
import { JsonSchemaJudgeSchema, JudgeSpecSchema, RegexJudgeSchema } from "../judge.js";

/** Lines a dataset may hold, and its size: the edge reads and checks the whole file at submission. */
export const MAX_EVALUATION_LINES = 10_000;
export const MAX_EVALUATION_DATASET_BYTES = 16 * 1024 * 1024;

/**
 * What a line's answer is scored against: a string is an exact match (surrounding whitespace
 * ignored), a `regex` must match, a `json_schema` must validate. Scores are 0 or 1 per line.
 */
export const EvaluationExpectationSchema = z.union([
  z.string().max(100_000),
  RegexJudgeSchema,
  JsonSchemaJudgeSchema.transform(({ enforce: _enforce, ...schema }) => schema),
]);
export type EvaluationExpectation = z.output<typeof EvaluationExpectationSchema>;

/** The kind of score an expectation gives, as the report names it. */
export type ExpectationKind = "exact_match" | "regex" | "schema";

export function expectationKind(expected: EvaluationExpectation): ExpectationKind {
  if (typeof expected === "string") return "exact_match";
  return expected.type === "regex" ? "regex" : "schema";
}

/**
 * One line of an evaluation dataset (JSONL): exactly one of `prompt` and `messages`, and
 * optionally what the answer should be (`expected`), a judge that scores each refinement loop
 * (overrides the evaluation's default judge) and a constraint for decoding.
 */
export const EvaluationLineSchema = z
  .strictObject({
    prompt: z.string().min(1).max(100_000).optional(),
    messages: z.array(ChatMessageSchema).min(1).max(256).optional(),
    expected: EvaluationExpectationSchema.optional(),
    judge: JudgeSpecSchema.optional(),
    constraint: ConstraintSpecSchema.optional(),
    /** A caller's own label for the line, copied into its results. */
    id: z.string().max(200).optional(),
  })
  .superRefine((line, ctx) => {
    if ((line.prompt === undefined) === (line.messages === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: [line.prompt === undefined ? "prompt" : "messages"],
        message: "give exactly one of prompt and messages",
      });
    }
  });
export type EvaluationLine = z.output<typeof EvaluationLineSchema>;

export interface DatasetProblem {
  /** `lines.<n>.<field>` with n counted from 1, as an editor shows the line. */
  field: string;
  message: string;
}

/** Problems reported at most: a wholly wrong file would otherwise answer one per line. */
export const MAX_DATASET_PROBLEMS = 20;

/**
 * A JSONL dataset parsed and checked line by line (blank lines are skipped). Problems name the
 * line and field, so a submission with a typo on line 17 is refused with `lines.17.prompt`.
 */
export function parseEvaluationDataset(
  text: string,
): { ok: true; lines: EvaluationLine[] } | { ok: false; problems: DatasetProblem[] } {
  const lines: EvaluationLine[] = [];
  const problems: DatasetProblem[] = [];
  const rows = text.split("\n");
  for (const [index, row] of rows.entries()) {
    if (problems.length >= MAX_DATASET_PROBLEMS) break;
    if (row.trim() === "") continue;
    const at = `lines.${index + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(row);
    } catch {
      problems.push({ field: at, message: "is not JSON" });
      continue;
    }
    const parsed = EvaluationLineSchema.safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues.slice(0, 3)) {
        problems.push({ field: [at, ...issue.path.map(String)].join("."), message: issue.message });
      }
      continue;
    }
    lines.push(parsed.data);
  }
  if (problems.length === 0 && lines.length === 0)
    problems.push({ field: "lines", message: "the dataset has no lines" });
  if (lines.length > MAX_EVALUATION_LINES) {
    problems.push({ field: "lines", message: `has ${lines.length} lines; at most ${MAX_EVALUATION_LINES}` });
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, lines };
}
