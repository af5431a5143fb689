/**
 * The OpenAI-compatible request, response and stream-chunk shapes the edge accepts and
 * produces (`/v1/chat/completions`, `/v1/completions`). Only the edge reads or writes them —
 * clients use OpenAI's own SDK types — so they live here rather than in `shared`. Field
 * rules reuse modelgate's own generate schemas, so a limit means the same on every route.
 */
import { GenerateRequestSchema, GenerateResponseSchema, RefinementLoopSchema } from "@modelgate/shared";
import { z } from "zod";

const generate = GenerateRequestSchema.shape;

const maxTokens = generate.max_new_tokens.unwrap();

/** OpenAI accepts `null` for an absent optional field; so do these. */
const samplingFields = {
  /** Any modelgate reference: `name`, `name@3`, `name@production`, `name@<alias>`. */
  model: generate.model,
  temperature: generate.temperature.unwrap().nullish(),
  top_p: generate.top_p.unwrap().nullish(),
  seed: generate.seed.unwrap().nullish(),
  /** A stop string, or up to 8; never returned in the text. */
  stop: z.union([generate.stop.unwrap().element, generate.stop.unwrap()]).nullish(),
  /** modelgate answers with one choice. */
  n: z.literal(1, { error: "modelgate returns one choice per request: only n = 1 is supported" }).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z
    .strictObject({
      /** A last chunk with `choices: []` and `usage` (and the `modelgate` object) before `[DONE]`. */
      include_usage: z.boolean().nullish(),
      /** Accepted and ignored: modelgate never pads chunks. */
      include_obfuscation: z.boolean().nullish(),
    })
    .nullish(),
  /**
   * Not applied by modelgate's sampler, so only 0 (no penalty) is accepted; use
   * `modelgate.repetition_penalty` for modelgate's CTRL-style penalty.
   */
  frequency_penalty: z
    .number()
    .refine((value) => value === 0, "not supported: only 0 is accepted; use modelgate.repetition_penalty")
    .nullish(),
  /** As `frequency_penalty`. */
  presence_penalty: z
    .number()
    .refine((value) => value === 0, "not supported: only 0 is accepted; use modelgate.repetition_penalty")
    .nullish(),
  /** Accepted and ignored (OpenAI's end-user attribution); modelgate attributes requests to the API key. */
  user: z.string().max(256).nullish(),
  /** modelgate's own options, beyond what OpenAI's fields say. */
  modelgate: z
    .strictObject({
      runtime_config: generate.runtime_config,
      judge: generate.judge,
      include_latent: generate.include_latent,
      top_k: generate.top_k,
      repetition_penalty: generate.repetition_penalty,
      min_new_tokens: generate.min_new_tokens,
    })
    .optional(),
};

/** Only text parts: the models behind modelgate read text. */
export const TextContentPartSchema = z.discriminatedUnion(
  "type",
  [z.strictObject({ type: z.literal("text"), text: z.string().max(100_000) })],
  {
    error: (issue) =>
      issue.code === "invalid_union"
        ? 'only {"type": "text"} content parts are supported (no images, audio or files)'
        : undefined,
  },
);

/** A tool call in an assistant message sent back in: arguments are a JSON string, as OpenAI returns them. */
export const OpenAiToolCallParamSchema = z.strictObject({
  id: z.string().min(1).max(256),
  type: z.literal("function"),
  function: z.strictObject({
    name: z.string().min(1).max(64),
    arguments: z.string().max(100_000),
    /** Accepted and ignored: the SDK's runner keeps it on the messages it hands back. */
    parsed_arguments: z.unknown().optional(),
  }),
});

export const OpenAiChatMessageSchema = z.strictObject({
  /** `developer` is OpenAI's newer name for `system`, and is sent to the model as `system`. */
  role: z.enum(["system", "developer", "user", "assistant", "tool"]),
  /** Text, or text parts (joined with a newline); `null` only in an assistant message with tool calls. */
  content: z.union([z.string().max(100_000), z.array(TextContentPartSchema).min(1).max(256)]).nullish(),
  /** Accepted and ignored: chat templates have no place for a speaker's name. */
  name: z.string().max(256).optional(),
  /** An assistant message's tool calls, sent back with the tools' answers. */
  tool_calls: z.array(OpenAiToolCallParamSchema).min(1).max(64).optional(),
  /** A `tool` message: the call it answers. */
  tool_call_id: z.string().min(1).max(256).optional(),
  /** Accepted and ignored (an assistant message as OpenAI returned it). */
  refusal: z.string().max(100_000).nullish(),
  /** Accepted and ignored: `chat.completions.parse` and the runner add it to assistant messages. */
  parsed: z.unknown().optional(),
});
export type OpenAiChatMessage = z.infer<typeof OpenAiChatMessageSchema>;

const jsonSchemaObject = z.record(z.string(), z.unknown());

/** `text` (no constraint), `json_object` (any JSON object) or `json_schema` (decoded under its schema). */
export const ResponseFormatSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("text") }),
  z.strictObject({ type: z.literal("json_object") }),
  z.strictObject({
    type: z.literal("json_schema"),
    json_schema: z.strictObject({
      name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, "must be 1–64 letters, digits, _ or -"),
      description: z.string().max(4096).optional(),
      schema: jsonSchemaObject.optional(),
      /** Accepted either way: modelgate always decodes under the schema. */
      strict: z.boolean().nullish(),
    }),
  }),
]);

export const OpenAiToolSchema = z.strictObject({
  type: z.literal("function"),
  function: z.strictObject({
    name: z.string().min(1).max(64),
    description: z.string().max(4096).optional(),
    parameters: jsonSchemaObject.optional(),
    /** Accepted either way: calls are always decoded under their schema. */
    strict: z.boolean().nullish(),
  }),
});

export const OpenAiToolChoiceSchema = z.union([
  z.enum(["none", "auto", "required"]),
  z.strictObject({ type: z.literal("function"), function: z.strictObject({ name: z.string().min(1).max(64) }) }),
]);

/** `POST /v1/chat/completions`; unknown fields are refused by name. */
export const ChatCompletionRequestSchema = z.strictObject({
  ...samplingFields,
  messages: z.array(OpenAiChatMessageSchema).min(1).max(256),
  response_format: ResponseFormatSchema.nullish(),
  tools: z.array(OpenAiToolSchema).min(1).max(128).nullish(),
  tool_choice: OpenAiToolChoiceSchema.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  /** OpenAI's current name for `max_tokens`; give either (or both, equal). */
  max_completion_tokens: maxTokens.nullish(),
  max_tokens: maxTokens.nullish(),
});
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequestSchema>;

/** `POST /v1/completions`; unknown fields are refused by name. */
export const TextCompletionRequestSchema = z.strictObject({
  ...samplingFields,
  /** One prompt: a string, or an array holding exactly one string. */
  prompt: z.union([
    generate.prompt.unwrap(),
    z.array(generate.prompt.unwrap()).length(1, "modelgate completes one prompt per request"),
  ]),
  max_tokens: maxTokens.nullish(),
});
export type TextCompletionRequest = z.infer<typeof TextCompletionRequestSchema>;

/** The engine's results that OpenAI has no field for. */
export const ModelgateResultSchema = GenerateResponseSchema.pick({
  loops: true,
  refinement_loops: true,
  stop_reason: true,
  halt_probability: true,
  halt_logits: true,
  latent_spans_used: true,
  ces_tokens_total: true,
  seed: true,
  worker_id: true,
  runtime_config: true,
  tokens_per_second: true,
  inference_time_ms: true,
}).extend({
  /** The engine's own reason (`eos`, `stop`, `length`, `halt`), which OpenAI's `finish_reason` simplifies. */
  finish_reason: GenerateResponseSchema.shape.finish_reason,
});
export type ModelgateResult = z.infer<typeof ModelgateResultSchema>;

/**
 * Every token the call cost: with refinement, all loops' prompts and answers. Tokens of
 * loops that are not the answer count as `reasoning_tokens`, as OpenAI counts hidden work.
 */
export const OpenAiUsageSchema = z.object({
  prompt_tokens: z.int().min(0),
  completion_tokens: z.int().min(0),
  total_tokens: z.int().min(0),
  completion_tokens_details: z.object({ reasoning_tokens: z.int().min(0) }),
});
export type OpenAiUsage = z.infer<typeof OpenAiUsageSchema>;

export const OpenAiFinishReasonSchema = z.enum(["stop", "length", "tool_calls"]);
export type OpenAiFinishReason = z.infer<typeof OpenAiFinishReasonSchema>;

const completionEnvelope = {
  id: z.string(),
  created: z.int(),
  /** The version that answered: `name@version`. */
  model: z.string(),
};

export const ChatCompletionSchema = z.object({
  ...completionEnvelope,
  object: z.literal("chat.completion"),
  choices: z.array(
    z.object({
      index: z.int(),
      message: z.object({
        role: z.literal("assistant"),
        /** Null when the answer is tool calls. */
        content: z.string().nullable(),
        refusal: z.null(),
        tool_calls: z.array(OpenAiToolCallParamSchema).optional(),
      }),
      finish_reason: OpenAiFinishReasonSchema,
      logprobs: z.null(),
    }),
  ),
  usage: OpenAiUsageSchema,
  modelgate: ModelgateResultSchema,
});
export type ChatCompletion = z.infer<typeof ChatCompletionSchema>;

export const TextCompletionSchema = z.object({
  ...completionEnvelope,
  object: z.literal("text_completion"),
  choices: z.array(
    z.object({ index: z.int(), text: z.string(), finish_reason: OpenAiFinishReasonSchema, logprobs: z.null() }),
  ),
  usage: OpenAiUsageSchema,
  modelgate: ModelgateResultSchema,
});
export type TextCompletion = z.infer<typeof TextCompletionSchema>;

/**
 * Stream chunks. With `stream_options.include_usage` every chunk carries `usage: null` but the
 * last, which has `choices: []` and the usage. `modelgate` rides on the finishing chunk (the
 * results) and on refinement-progress chunks (`{loop}`, one per judged loop).
 */
const chunkExtras = {
  usage: OpenAiUsageSchema.nullable().optional(),
  modelgate: z.union([ModelgateResultSchema, z.object({ loop: RefinementLoopSchema })]).optional(),
};

export const ChatCompletionChunkSchema = z.object({
  ...completionEnvelope,
  object: z.literal("chat.completion.chunk"),
  choices: z.array(
    z.object({
      index: z.int(),
      delta: z.object({
        role: z.literal("assistant").optional(),
        content: z.string().optional(),
        tool_calls: z
          .array(
            z.object({
              index: z.int(),
              id: z.string().optional(),
              type: z.literal("function").optional(),
              function: z.object({ name: z.string().optional(), arguments: z.string() }),
            }),
          )
          .optional(),
      }),
      finish_reason: OpenAiFinishReasonSchema.nullable(),
      logprobs: z.null(),
    }),
  ),
  ...chunkExtras,
});
export type ChatCompletionChunk = z.infer<typeof ChatCompletionChunkSchema>;

export const TextCompletionChunkSchema = z.object({
  ...completionEnvelope,
  object: z.literal("text_completion"),
  choices: z.array(
    z.object({
      index: z.int(),
      text: z.string(),
      finish_reason: OpenAiFinishReasonSchema.nullable(),
      logprobs: z.null(),
    }),
  ),
  ...chunkExtras,
});
export type TextCompletionChunk = z.infer<typeof TextCompletionChunkSchema>;

/** OpenAI's error object: added to problem+json bodies, and the whole `data:` of a stream's error chunk. */
export const OpenAiErrorSchema = z.object({
  message: z.string(),
  type: z.string(),
  /** The field at fault (dotted path), if one is. */
  param: z.string().nullable(),
  /** modelgate's problem code (`validation_failed`, `not_found`, `upstream_failed`, …). */
  code: z.string(),
});
export type OpenAiError = z.infer<typeof OpenAiErrorSchema>;
