import { z } from "zod";
import { Sha256HexSchema } from "../artifact.js";
import { freeText } from "../free-text.js";
import { ConversionTargetSchema } from "./conversion-target.js";
import { ShapeValidationSchema } from "./model-contract.js";
import { FormatThresholdsSchema, GateSummarySchema } from "./quality-gates.js";

/** Numbers from running the converted model and the fp32 original on the same fixed inputs. */
export const VerificationMetricsSchema = z.strictObject({
  /** Largest |converted − original| over every compared output value. */
  max_abs_diff: z.number().min(0),
  /** Mean cosine similarity of the compared output vectors (one per position or row). */
  cosine_similarity: z.number().min(-1).max(1),
  /**
   * Share of positions / rows whose arg-max (next token or class) is the same, 0–1. For a tensor
   * model, the lowest over its decision outputs (`top1_outputs`); 1 when it has none.
   */
  top1_agreement: z.number().min(0).max(1),
  /**
   * Tensor models: the outputs top-1 was measured on (class scores, compared by arg-max, and
   * integer outputs such as class ids, compared exactly). Empty: none is a decision, and the
   * gates judge by cosine similarity and max |diff|.
   */
  top1_outputs: z
    .array(freeText({ max: 256 }))
    .max(256)
    .optional(),
  /** Tensor models: every output compared on its own (the figures above are the worst of these). */
  outputs: z
    .record(
      z.string(),
      z.strictObject({
        max_abs_diff: z.number().min(0),
        cosine_similarity: z.number().min(-1).max(1),
        top1_agreement: z.number().min(0).max(1).optional(),
      }),
    )
    .optional(),
  /** Positions or rows compared. */
  compared: z.int().min(1),
  /** Largest |halt probability difference|, for models with `halt_logits`. */
  halt_probability_max_diff: z.number().min(0).max(1).optional(),
  /** Converted bytes / fp32 bytes. */
  size_ratio: z.number().min(0),
  /** Median wall time of one run at the primary shape, converted and original (CPU). */
  converted_latency_ms: z.number().min(0).optional(),
  original_latency_ms: z.number().min(0).optional(),
});
export type VerificationMetrics = z.infer<typeof VerificationMetricsSchema>;

/** How the fixed inputs were made, so anyone can rerun the comparison. */
export const VerificationInputsSchema = z.strictObject({
  description: z.string().max(1000),
  seed: z.int(),
  sequence_length: z.int().min(1).optional(),
  samples: z.int().min(1),
});

/**
 * The verification report of one converted format (stored next to its artifact as
 * `verification_report.json`): metrics against fp32, the converted model's own shape runs, and
 * seed 001's gates.
 */
export const VerificationReportSchema = z.strictObject({
  schema: z.literal("modelgate.verification/v1"),
  model: z.string(),
  version: z.int().min(1),
  target: ConversionTargetSchema,
  source_sha256: Sha256HexSchema,
  converted_sha256: Sha256HexSchema,
  inputs: VerificationInputsSchema,
  metrics: VerificationMetricsSchema,
  thresholds: FormatThresholdsSchema,
  shape_validation: z.record(z.string(), ShapeValidationSchema),
  ...GateSummarySchema.shape,
  generated_at: z.iso.datetime(),
});
export type VerificationReport = z.infer<typeof VerificationReportSchema>;

/** The source model's own check: contract, load, shape enumeration → seed 001's version-level gates. */
export const SourceVerificationReportSchema = z.strictObject({
  schema: z.literal("modelgate.source-verification/v1"),
  model: z.string(),
  version: z.int().min(1),
  source_sha256: Sha256HexSchema,
  shape_validation: z.record(z.string(), ShapeValidationSchema),
  ...GateSummarySchema.shape,
  generated_at: z.iso.datetime(),
});
export type SourceVerificationReport = z.infer<typeof SourceVerificationReportSchema>;
