import { z } from "zod";
import { CawsTierSchema } from "./caws-tiers.js";
import { ConstraintSpecSchema, ToolCallSchema } from "./constraint.js";
import { freeText } from "./free-text.js";
import { JudgeSpecSchema, RefinementLoopSchema, RefinementStopReasonSchema } from "./judge.js";
import { ModelVersionSchema } from "./model-version.js";
import { RuntimeConfigOverridesSchema, RuntimeConfigSchema } from "./runtime-config.js";

/** `name`, `name@3`, `name@production`, `auto:code`: resolved later, but never with control characters. */
const modelReference = freeText({ min: 1, max: 200 });

/** A tool call in an assistant turn, as chat templates read it (transformers' convention: arguments as an object). */
export const ChatToolCallSchema = z.strictObject({
  id: z.string().max(256).optional(),
  type: z.literal("function"),
  function: z.strictObject({
    name: z.string().min(1).max(64),
    arguments: z.record(z.string(), z.unknown()),
  }),
});

/**
 * A chat turn; a tokenizer with a chat template renders a list of them into the prompt. An
 * assistant turn may carry the tool calls it made, and a `tool` turn answers one of them.
 */
export const ChatMessageSchema = z.strictObject({
  role: z.enum(["system", "user", "assistant", "tool"]),
  content: z.string().max(100_000),
  tool_calls: z.array(ChatToolCallSchema).min(1).max(64).optional(),
  /** A `tool` turn: the call it answers. */
  tool_call_id: z.string().max(256).optional(),
  /** A `tool` turn: the tool's name. */
  name: z.string().max(64).optional(),
});
export type ChatMessage = z.infer<typeof ChatMessageSchema>;

/**
 * Public `POST /v1/generate`. Exactly one of `prompt` (raw text, no template) and `messages`
 * (rendered with the model's chat template). Top-level knobs win over `runtime_config`.
 */
const GenerateRequestShape = {
  model: modelReference,
  prompt: z.string().min(1).max(100_000).optional(),
  messages: z.array(ChatMessageSchema).min(1).max(256).optional(),
  max_new_tokens: z.int().min(1).max(8192).optional(),
  /** End-of-sequence tokens are not chosen before this many new tokens (throughput tests, fixed-length output). */
  min_new_tokens: z.int().min(0).max(8192).optional(),
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
  /** Scores each refinement loop; without one, a single answer is returned (seed 000's generate_simple). */
  judge: JudgeSpecSchema.optional(),
  /**
   * Constrained decoding: every token must continue an output the constraint accepts (a JSON
   * Schema, a regex, a choice list, or tool calls), and end-of-sequence only where it is complete.
   */
  constraint: ConstraintSpecSchema.optional(),
  /** Server-sent events: `token` events as text appears, then one `done` (or `error`) event. */
  stream: z.boolean().optional(),
  /** Keep `<bot>…<eot>` latent spans in `text` (they are always counted; hidden by default). */
  include_latent: z.boolean().optional(),
};

/** Rules across fields: one prompt form, and a minimum length that does not exceed the maximum. */
function checkFieldRelations(
  request: {
    prompt?: string | undefined;
    messages?: unknown[] | undefined;
    min_new_tokens?: number | undefined;
    max_new_tokens?: number | undefined;
    constraint?: { type: string } | undefined;
    judge?: { type: string; enforce?: boolean | undefined } | undefined;
  },
  ctx: z.RefinementCtx,
) {
  if (request.constraint !== undefined && request.judge?.type === "json_schema" && request.judge.enforce === true) {
    ctx.addIssue({
      code: "custom",
      path: ["judge", "enforce"],
      message: "constrains decoding like constraint does: give one of them",
    });
  }
  if (request.constraint?.type === "tool_calls" && request.prompt !== undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["constraint", "tools"],
      message: "tools are rendered with the chat template: give messages, not prompt",
    });
  }
  if ((request.prompt === undefined) === (request.messages === undefined)) {
    ctx.addIssue({
      code: "custom",
      path: [request.prompt === undefined ? "prompt" : "messages"],
      message: "give exactly one of prompt and messages",
    });
  }
  const { min_new_tokens: min, max_new_tokens: max } = request;
  if (min !== undefined && max !== undefined && min > max) {
    ctx.addIssue({ code: "custom", path: ["min_new_tokens"], message: "must not be more than max_new_tokens" });
  }
}

export const GenerateRequestSchema = z.strictObject(GenerateRequestShape).superRefine(checkFieldRelations);
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
  /** How many loops ran (1 without a judge); each is in `loops`. */
  refinement_loops: z.int().min(1),
  loops: z.array(RefinementLoopSchema).min(1),
  stop_reason: RefinementStopReasonSchema,
  /** Under a `tool_calls` constraint, the calls the answer makes (absent when it is plain text). */
  tool_calls: z.array(ToolCallSchema).optional(),
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
export const WorkerGenerateRequestSchema = z
  .strictObject({
    ...GenerateRequestShape,
    target: ModelVersionSchema,
    /** The caller's key's maximum tier: a ceiling over whatever tier the layers resolve to. */
    caws_tier_cap: CawsTierSchema.optional(),
    /** A `model` judge's scorer version, resolved by the edge. */
    judge_target: ModelVersionSchema.optional(),
  })
  .superRefine(checkFieldRelations);
export type WorkerGenerateRequest = z.infer<typeof WorkerGenerateRequestSchema>;
export const WorkerPredictRequestSchema = PredictRequestSchema.extend({ target: ModelVersionSchema });
export type WorkerPredictRequest = z.infer<typeof WorkerPredictRequestSchema>;
