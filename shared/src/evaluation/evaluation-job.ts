import { z } from "zod";
import { ModelFileSchema } from "../artifact.js";
import { CawsTierSchema } from "../caws-tiers.js";
import { ConversionJobStatusSchema } from "../conversion/conversion-job.js";
import { freeText } from "../free-text.js";
import { GenerateRequestSchema } from "../inference.js";
import { JudgeSpecSchema } from "../judge.js";
import { ClaimJobRequestSchema, LeasedJobFieldsShape, WorkerIdTextSchema } from "../leased-job-fields.js";
import { ModelVersionSchema } from "../model-version.js";
import { RuntimeConfigOverridesSchema } from "../runtime-config.js";
import { MAX_EVALUATION_DATASET_BYTES } from "./evaluation-dataset.js";
import { EvaluationTargetReportSchema } from "./evaluation-report.js";

const unique = <T>(values: readonly T[]) => new Set(values).size === values.length;

/** Generations an evaluation keeps in flight on its worker at once, unless it asks otherwise. */
export const DEFAULT_EVALUATION_CONCURRENCY = 16;
/** Dataset lines per results part: the unit a worker checkpoints and a successor skips. */
export const EVALUATION_CHUNK_LINES = 10;

/**
 * `POST /v1/evaluations`: run every line of an uploaded JSONL dataset on each target
 * (`name@3`, `name@3:int8`, `auto:code`) through the worker's engine. `judge` scores lines that
 * name none; the generation settings apply to every line.
 */
export const EvaluationRequestSchema = z.strictObject({
  /** The dataset as `POST /v1/uploads` stored it (`modelgate eval run` uploads it for you). */
  dataset: ModelFileSchema.extend({ bytes: z.int().min(1).max(MAX_EVALUATION_DATASET_BYTES) }),
  targets: z
    .array(freeText({ min: 1, max: 200 }))
    .min(1, "name at least one target, e.g. demo-lm@1")
    .max(4)
    .refine(unique, "must not repeat a target"),
  judge: JudgeSpecSchema.optional(),
  // The generation settings of every line, checked as `/v1/generate` checks them.
  runtime_config: GenerateRequestSchema.shape.runtime_config,
  max_new_tokens: GenerateRequestSchema.shape.max_new_tokens,
  /** 0 (greedy) unless asked otherwise, so a re-run gives the same answers (`/v1/generate` defaults to 1). */
  temperature: GenerateRequestSchema.shape.temperature.default(0),
  seed: GenerateRequestSchema.shape.seed,
  concurrency: z.int().min(1).max(256).default(DEFAULT_EVALUATION_CONCURRENCY),
  /** A label for people listing evaluations. */
  name: freeText({ min: 1, max: 200 }).optional(),
});
export type EvaluationRequest = z.input<typeof EvaluationRequestSchema>;
export type EvaluationRequestInput = z.output<typeof EvaluationRequestSchema>;

/** The same lifecycle as every leased job: queued → running → succeeded | failed | cancelled. */
export const EvaluationJobStatusSchema = ConversionJobStatusSchema;
export type EvaluationJobStatus = z.infer<typeof EvaluationJobStatusSchema>;

export const EvaluationJobIdSchema = z.string().regex(/^ej_[0-9a-f-]{36}$/, "must be an evaluation id like ej_…");

/** A target as resolved at submission: `auto:` references keep the version chosen then. */
export const EvaluationTargetSchema = z.strictObject({
  reference: z.string(),
  model: z.string(),
  version: z.int().min(1),
  format: z.enum(["fp16", "int8", "int4"]).optional(),
  /** `name@3:int8`: how results and reports name it. */
  label: z.string(),
});
export type EvaluationTarget = z.infer<typeof EvaluationTargetSchema>;

/** A results part a worker wrote: the results of lines [first_line, first_line + lines) on every target. */
export const EvaluationChunkSchema = z.strictObject({
  index: z.int().min(0),
  uri: z.string().regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.+$/),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.int().min(1),
  /** Result rows in the part (lines × targets). */
  results: z.int().min(1),
});
export type EvaluationChunk = z.infer<typeof EvaluationChunkSchema>;

export const EvaluationJobErrorSchema = z.strictObject({
  message: z.string().max(4000),
  at: z.iso.datetime(),
  worker_id: z.string().max(128).optional(),
});
export type EvaluationJobError = z.infer<typeof EvaluationJobErrorSchema>;

export const EvaluationJobResultSchema = z.strictObject({
  report: ModelFileSchema,
  results: ModelFileSchema,
  targets: z.array(EvaluationTargetReportSchema),
});

/** An evaluation job as `GET /v1/evaluations/:id` shows it. */
export const EvaluationJobSchema = z.strictObject({
  id: EvaluationJobIdSchema,
  name: z.string().optional(),
  dataset: ModelFileSchema,
  lines: z.int().min(1),
  targets: z.array(EvaluationTargetSchema).min(1),
  judge: JudgeSpecSchema.optional(),
  runtime_config: RuntimeConfigOverridesSchema.optional(),
  max_new_tokens: z.int().optional(),
  temperature: z.number().optional(),
  seed: z.int().optional(),
  concurrency: z.int().min(1),
  chunk_lines: z.int().min(1),
  status: EvaluationJobStatusSchema,
  /** Result rows recorded so far, of `total` (lines × targets). */
  completed: z.int().min(0),
  total: z.int().min(1),
  progress: z.number().min(0).max(1),
  /** Parts recorded so far; a worker taking the job over skips them. */
  chunks: z.array(EvaluationChunkSchema),
  errors: z.array(EvaluationJobErrorSchema),
  ...LeasedJobFieldsShape,
  result: EvaluationJobResultSchema.optional(),
});
export type EvaluationJob = z.infer<typeof EvaluationJobSchema>;

/**
 * What the queue stores: the job plus what a worker needs and callers do not see — each
 * target's version document as served, the model judges' scorer versions, the submitter's tier cap.
 */
export const EvaluationJobRecordSchema = EvaluationJobSchema.extend({
  served_targets: z.array(ModelVersionSchema).min(1),
  judge_targets: z.record(z.string(), ModelVersionSchema),
  caws_tier_cap: CawsTierSchema.optional(),
});
export type EvaluationJobRecord = z.infer<typeof EvaluationJobRecordSchema>;

// ---- The worker's side of the queue (worker-token routes under /internal/evaluations) ----

export const ClaimEvaluationRequestSchema = ClaimJobRequestSchema;

export const ClaimedEvaluationSchema = z.strictObject({
  job: EvaluationJobSchema,
  /** `served_targets[i]` serves `job.targets[i]`. */
  served_targets: z.array(ModelVersionSchema).min(1),
  judge_targets: z.record(z.string(), ModelVersionSchema),
  caws_tier_cap: CawsTierSchema.optional(),
  lease_ms: z.int().min(1),
});
export type ClaimedEvaluation = z.infer<typeof ClaimedEvaluationSchema>;

/** Renews the lease; with `chunk`, records a finished results part (a part already recorded counts once). */
export const EvaluationProgressRequestSchema = z.strictObject({
  worker_id: WorkerIdTextSchema,
  chunk: EvaluationChunkSchema.optional(),
  message: freeText({ max: 1000, multiline: true }).optional(),
});
export type EvaluationProgressRequest = z.infer<typeof EvaluationProgressRequestSchema>;

/** The assembled results and the report computed from them, both already in object storage. */
export const CompleteEvaluationRequestSchema = z.strictObject({
  worker_id: WorkerIdTextSchema,
  results: ModelFileSchema,
  report: ModelFileSchema,
});
export type CompleteEvaluationRequest = z.infer<typeof CompleteEvaluationRequestSchema>;

export const FailEvaluationRequestSchema = z.strictObject({
  worker_id: WorkerIdTextSchema,
  message: freeText({ min: 1, max: 4000, multiline: true }),
});
export type FailEvaluationRequest = z.infer<typeof FailEvaluationRequestSchema>;

/** Object keys of a job's files, one folder per job. */
export const evaluationKeys = {
  /** Per attempt: a worker that lost its lease but has not heard yet never overwrites its successor's part. */
  part: (jobId: string, index: number, attempt: number) =>
    `evaluations/${jobId}/parts/${String(index).padStart(5, "0")}-attempt-${attempt}.jsonl`,
  results: (jobId: string) => `evaluations/${jobId}/results.jsonl`,
  report: (jobId: string) => `evaluations/${jobId}/report.json`,
};
