import { z } from "zod";
import { CawsTierSchema } from "./caws-tiers.js";
import { ModelVersionSchema } from "./model-version.js";
import { RuntimeConfigOverridesSchema, RuntimeConfigSchema } from "./runtime-config.js";

const modelReference = z.string().min(1).max(200);

/** Public `POST /v1/generate`. Top-level knobs win over `runtime_config`. */
export const GenerateRequestSchema = z.strictObject({
  model: modelReference,
  prompt: z.string().min(1).max(100_000),
  max_new_tokens: z.int().min(1).max(8192).optional(),
  /** 0 means greedy decoding. */
  temperature: z.number().min(0).max(5).optional(),
  /** Makes sampling reproducible; the worker picks one (and returns it) when absent. */
  seed: z
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .optional(),
  /** Sample only among the k most likely tokens. Ignored by greedy decoding. */
  top_k: z.int().min(1).max(1000).optional(),
  /** Nucleus sampling: the smallest set of tokens whose probability reaches top_p. Ignored by greedy decoding. */
  top_p: z.number().gt(0).max(1).optional(),
  /** CTRL-style penalty on tokens already in the prompt or output; 1 (the default) disables it. */
  repetition_penalty: z.number().min(1).max(10).optional(),
  /** Generation ends when the generated text ends with one of these; the stop string is not returned. */
  stop: z.array(z.string().min(1).max(64)).min(1).max(8).optional(),
  runtime_config: RuntimeConfigOverridesSchema.optional(),
});
export type GenerateRequest = z.infer<typeof GenerateRequestSchema>;

export const FinishReasonSchema = z.enum(["length", "eos", "stop", "halt"]);

export const GenerateResponseSchema = z.object({
  model: z.string(),
  version: z.int(),
  worker_id: z.string(),
  text: z.string(),
  token_ids: z.array(z.int()),
  tokens_generated: z.int(),
  prompt_tokens: z.int(),
  finish_reason: FinishReasonSchema,
  halt_logits: z.tuple([z.number(), z.number()]).nullable(),
  halt_probability: z.number().min(0).max(1).nullable(),
  refinement_loops: z.int().min(1),
  latent_spans_used: z.int().min(0),
  /** Seed 000's context-efficiency count: every token the model processed or produced. */
  ces_tokens_total: z.int().min(0),
  seed: z.int(),
  inference_time_ms: z.number(),
  tokens_per_second: z.number(),
  runtime_config: RuntimeConfigSchema,
});
export type GenerateResponse = z.infer<typeof GenerateResponseSchema>;

/** Seed 004's predict shape: rows of features in, a class and probabilities per row out. */
export const PredictRequestSchema = z.strictObject({
  model: modelReference,
  data: z.array(z.array(z.number()).min(1).max(4096)).min(1).max(10_000),
});
export type PredictRequest = z.infer<typeof PredictRequestSchema>;

export const PredictResponseSchema = z.object({
  predictions: z.array(z.int()),
  probabilities: z.array(z.array(z.number())),
  model_version: z.string(),
  model: z.string(),
  version: z.int(),
  worker_id: z.string(),
  inference_time_ms: z.number(),
});
export type PredictResponse = z.infer<typeof PredictResponseSchema>;

/**
 * What the edge forwards to a worker: the caller's request plus the resolved version, so the
 * worker needs no registry access. The whole body is covered by the edge's signature.
 */
export const WorkerGenerateRequestSchema = GenerateRequestSchema.extend({
  target: ModelVersionSchema,
  /** The caller's key's maximum tier: a ceiling over whatever tier the layers resolve to. */
  caws_tier_cap: CawsTierSchema.optional(),
});
export type WorkerGenerateRequest = z.infer<typeof WorkerGenerateRequestSchema>;
export const WorkerPredictRequestSchema = PredictRequestSchema.extend({ target: ModelVersionSchema });
export type WorkerPredictRequest = z.infer<typeof WorkerPredictRequestSchema>;
