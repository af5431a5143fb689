import { z } from "zod";
import { ArtifactSchema, ModelFileSchema } from "../artifact.js";
import { freeText } from "../free-text.js";
import { ConversionTargetSchema } from "./conversion-target.js";
import { VerificationMetricsSchema } from "./verification-report.js";

/** The files written next to a checked model: seed 001's contract and report, seed 000's manifest and runtime config. */
export const PipelineFilesSchema = z.strictObject({
  contract: ModelFileSchema,
  verification_report: ModelFileSchema,
  deployment_manifest: ModelFileSchema,
  runtime_config: ModelFileSchema,
});
export type PipelineFiles = z.infer<typeof PipelineFilesSchema>;

/**
 * A converted format of a version, as the registry keeps it (`converted_formats.int8`). Added by
 * a finished conversion job, never edited; a format whose must-pass gates failed is kept (so the
 * failure is visible) but is neither served nor promotable.
 */
export const ConvertedFormatSchema = z.strictObject({
  target: ConversionTargetSchema,
  artifact: ArtifactSchema,
  gates_ok: z.boolean(),
  must_pass_failed: z.array(freeText({ max: 64 })).max(64),
  should_pass_ok: z.boolean(),
  metrics: VerificationMetricsSchema,
  files: PipelineFilesSchema,
  job_id: freeText({ min: 1, max: 64 }),
  converted_at: z.iso.datetime(),
});
export type ConvertedFormat = z.infer<typeof ConvertedFormatSchema>;

/** The registered original's own verification (contract, load, shapes) → seed 001's version-level gates. */
export const SourceVerificationSchema = z.strictObject({
  gates_ok: z.boolean(),
  must_pass_failed: z.array(freeText({ max: 64 })).max(64),
  should_pass_ok: z.boolean(),
  primary_shape: z.string().regex(/^T[1-9][0-9]*$/),
  /** Partial when the pipeline stopped early: a corrupt model has a report but no contract. */
  files: PipelineFilesSchema.partial(),
  job_id: freeText({ min: 1, max: 64 }),
  verified_at: z.iso.datetime(),
});
export type SourceVerification = z.infer<typeof SourceVerificationSchema>;

export const ConvertedFormatsSchema = z.partialRecord(ConversionTargetSchema, ConvertedFormatSchema);
export type ConvertedFormats = z.infer<typeof ConvertedFormatsSchema>;
