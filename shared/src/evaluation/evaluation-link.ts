import { z } from "zod";

/**
 * What a version's record keeps of an evaluation that ran on it: where the report and results
 * are and the headline figures, so `models info` shows how the version did without reading S3.
 * Only the latest MAX_EVALUATION_LINKS stay on the record (the job and its files stay too).
 */
export const MAX_EVALUATION_LINKS = 20;

export const EvaluationLinkSchema = z.strictObject({
  job_id: z.string().regex(/^ej_[0-9a-f-]{36}$/),
  /** The target as the evaluation named it (`demo-lm@3:int8`, `auto:code`). */
  target: z.string().max(200),
  /** The converted format evaluated; absent for the registered original. */
  format: z.enum(["fp16", "int8", "int4"]).optional(),
  lines: z.int().min(0),
  /** Null when no line of the dataset had a check (expected or judge). */
  pass_rate: z.number().min(0).max(1).nullable(),
  mean_judge_score: z.number().min(0).max(1).nullable(),
  report_uri: z.string(),
  results_uri: z.string(),
  at: z.iso.datetime(),
});
export type EvaluationLink = z.infer<typeof EvaluationLinkSchema>;
