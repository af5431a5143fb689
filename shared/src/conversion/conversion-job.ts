import { z } from "zod";
import { freeText } from "../free-text.js";
import { ClaimJobRequestSchema, LeasedJobFieldsShape, WorkerIdTextSchema } from "../leased-job-fields.js";
import { ModelVersionSchema } from "../model-version.js";
import { ConversionTargetSchema } from "./conversion-target.js";
import { ConvertedFormatsSchema, SourceVerificationSchema } from "./converted-format.js";
import { FormatThresholdOverridesSchema } from "./quality-gates.js";

/** Seed 001's shape enumeration: T512…T4096, with T128 for small models; T1024 is the primary. */
export const DEFAULT_CONVERSION_SHAPES: readonly number[] = [128, 512, 1024, 2048, 4096];
export const DEFAULT_PRIMARY_SHAPE = 1024;

const unique = <T>(values: readonly T[]) => new Set(values).size === values.length;

/**
 * `POST /v1/models/:name/versions/:version/conversions`. `shapes` are sequence lengths for
 * language models and batch rows for tensor models; `primary` must be one of them and must work.
 */
export const ConversionRequestSchema = z
  .strictObject({
    targets: z
      .array(ConversionTargetSchema)
      .min(1, "name at least one target: fp16, int8 or int4")
      .max(3)
      .refine(unique, "must not repeat a target"),
    shapes: z
      .array(z.int().min(1).max(131_072))
      .min(1)
      .max(16)
      .refine(unique, "must not repeat a shape")
      .default([...DEFAULT_CONVERSION_SHAPES]),
    /** Default: 1024 when it is among `shapes`, else the first shape. */
    primary: z.int().min(1).max(131_072).optional(),
    thresholds: FormatThresholdOverridesSchema,
  })
  .superRefine((request, ctx) => {
    if (request.primary !== undefined && !request.shapes.includes(request.primary)) {
      ctx.addIssue({ code: "custom", path: ["primary"], message: "must be one of shapes" });
    }
  })
  .transform((request) => ({
    ...request,
    primary:
      request.primary ??
      (request.shapes.includes(DEFAULT_PRIMARY_SHAPE)
        ? DEFAULT_PRIMARY_SHAPE
        : (request.shapes[0] ?? DEFAULT_PRIMARY_SHAPE)),
  }));
export type ConversionRequest = z.input<typeof ConversionRequestSchema>;
export type ConversionRequestInput = z.output<typeof ConversionRequestSchema>;

export const ConversionJobStatusSchema = z.enum(["queued", "running", "succeeded", "failed", "cancelled"]);
export type ConversionJobStatus = z.infer<typeof ConversionJobStatusSchema>;
export const TERMINAL_JOB_STATUSES: ReadonlySet<ConversionJobStatus> = new Set(["succeeded", "failed", "cancelled"]);

/** The pipeline's steps in order; `step_detail` names the target while converting or verifying. */
export const ConversionStepSchema = z.enum([
  "queued",
  "download",
  "contract",
  "shapes",
  "convert",
  "verify",
  "upload",
  "register",
  "done",
]);
export type ConversionStep = z.infer<typeof ConversionStepSchema>;

export const ConversionJobErrorSchema = z.strictObject({
  step: ConversionStepSchema,
  target: ConversionTargetSchema.optional(),
  message: z.string().max(4000),
  at: z.iso.datetime(),
  worker_id: z.string().max(128).optional(),
});
export type ConversionJobError = z.infer<typeof ConversionJobErrorSchema>;

/** What a finished job produced, in short (the registry version holds the whole record). */
export const ConversionJobResultSchema = z.strictObject({
  source_gates_ok: z.boolean(),
  formats: z.partialRecord(
    ConversionTargetSchema,
    z.strictObject({
      gates_ok: z.boolean(),
      must_pass_failed: z.array(z.string()),
      uri: z.string(),
      bytes: z.int().min(1),
      size_ratio: z.number(),
      top1_agreement: z.number(),
    }),
  ),
});

/** A conversion job as `GET /v1/conversions/:id` shows it. */
export const ConversionJobSchema = z.strictObject({
  id: z.string().regex(/^cj_[0-9a-f-]{36}$/),
  model: z.string(),
  version: z.int().min(1),
  targets: z.array(ConversionTargetSchema),
  shapes: z.array(z.int().min(1)),
  primary: z.int().min(1),
  thresholds: FormatThresholdOverridesSchema,
  status: ConversionJobStatusSchema,
  step: ConversionStepSchema,
  step_detail: z.string().max(200).optional(),
  /** 0–1 over the whole pipeline. */
  progress: z.number().min(0).max(1),
  errors: z.array(ConversionJobErrorSchema),
  ...LeasedJobFieldsShape,
  result: ConversionJobResultSchema.optional(),
});
export type ConversionJob = z.infer<typeof ConversionJobSchema>;

// ---- The worker's side of the queue (worker-token routes under /internal/conversions) ----

export const ClaimConversionRequestSchema = ClaimJobRequestSchema;

/** A claimed job with the version to convert and how long the lease lasts without a renewal. */
export const ClaimedConversionSchema = z.strictObject({
  job: ConversionJobSchema,
  source: ModelVersionSchema,
  lease_ms: z.int().min(1),
});
export type ClaimedConversion = z.infer<typeof ClaimedConversionSchema>;

/** Progress doubles as the lease renewal; the answer says whether the job was cancelled meanwhile. */
export const ConversionProgressRequestSchema = z.strictObject({
  worker_id: WorkerIdTextSchema,
  step: ConversionStepSchema,
  step_detail: freeText({ max: 200 }).optional(),
  progress: z.number().min(0).max(1),
  message: freeText({ max: 1000, multiline: true }).optional(),
});
export type ConversionProgressRequest = z.infer<typeof ConversionProgressRequestSchema>;

export const CompleteConversionRequestSchema = z.strictObject({
  worker_id: WorkerIdTextSchema,
  source_verification: SourceVerificationSchema,
  formats: ConvertedFormatsSchema,
});
export type CompleteConversionRequest = z.infer<typeof CompleteConversionRequestSchema>;

/** A failed job; the source's failed verification travels along when the failure was a must-pass gate. */
export const FailConversionRequestSchema = z.strictObject({
  worker_id: WorkerIdTextSchema,
  error: ConversionJobErrorSchema.omit({ at: true, worker_id: true }).extend({
    message: freeText({ max: 4000, multiline: true }),
  }),
  source_verification: SourceVerificationSchema.optional(),
});
export type FailConversionRequest = z.infer<typeof FailConversionRequestSchema>;
