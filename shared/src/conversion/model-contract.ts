import { z } from "zod";
import { TensorSpecSchema } from "../artifact.js";

/** How one sequence length fared when the model was run at it (seed 001's shape enumeration). */
export const ShapeValidationSchema = z.strictObject({
  status: z.enum(["ok", "error"]),
  sequence_length: z.int().min(1),
  /** Wall time of one run at this shape. */
  latency_ms: z.number().min(0).optional(),
  /** Resident memory the run added (peak RSS growth), a lower bound of what the shape needs. */
  memory_mb: z.number().min(0).optional(),
  /** Why the shape failed, in words (`status: "error"` only). */
  error: z.string().max(2000).optional(),
});
export type ShapeValidation = z.infer<typeof ShapeValidationSchema>;

/**
 * Seed 001's `contract.json`: what the exported model takes and returns, its architecture flags
 * (`use_halt_head`, …) and how each requested sequence length ran. Written once per source model
 * and once per converted format; a converted format must keep the source's output names.
 */
export const ModelContractSchema = z.strictObject({
  schema: z.literal("modelgate.contract/v1"),
  model: z.string(),
  version: z.int().min(1),
  /** `fp32` for the registered original, else the conversion target. */
  format: z.enum(["fp32", "fp16", "int8", "int4"]),
  ir_version: z.int().min(1),
  /** The default-domain opset, plus any other domains the graph imports (`com.microsoft`). */
  opset: z.int().min(1),
  opset_imports: z.record(z.string(), z.int().min(1)),
  producer: z.string().max(200),
  /**
   * Architecture flags: `use_halt_head` (a `halt_logits` output), `use_kv_cache` (`past_key_values.*`
   * inputs), `latent_mode` (the tokenizer has `<bot>`/`<eot>`), layer and vocabulary sizes when known.
   */
  model_arch: z.record(z.string(), z.union([z.boolean(), z.number(), z.string()])),
  inputs: z.array(TensorSpecSchema).min(1).max(256),
  outputs: z.array(TensorSpecSchema).min(1).max(256),
  /** `T<n>` → how the run at sequence length n went. */
  shape_validation: z.record(z.string().regex(/^T[1-9][0-9]*$/), ShapeValidationSchema),
  /** The shape that must work (seed 001: T1024 for production models). */
  primary_shape: z.string().regex(/^T[1-9][0-9]*$/),
  primary_ok: z.boolean(),
  generated_at: z.iso.datetime(),
});
export type ModelContract = z.infer<typeof ModelContractSchema>;
