/**
 * modelgate `GenerateResponse` → OpenAI completions and stream chunks. Results OpenAI has no
 * field for (loops, halt probability, efficiency) travel in a `modelgate` object.
 */
import type { GenerateResponse, RefinementLoop, ToolCall } from "@modelgate/shared";
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ModelgateResult,
  OpenAiFinishReason,
  OpenAiUsage,
  TextCompletion,
  TextCompletionChunk,
} from "./openai-schemas.js";

/** What every completion and chunk of one answer shares. */
export interface CompletionEnvelope {
  id: string;
  /** Unix seconds. */
  created: number;
  /** `name@version`. */
  model: string;
}

export function newCompletionEnvelope(kind: "chat" | "text", model: string): CompletionEnvelope {
  const prefix = kind === "chat" ? "chatcmpl" : "cmpl";
  return {
    id: `${prefix}-${crypto.randomUUID().replaceAll("-", "")}`,
    created: Math.floor(Date.now() / 1000),
    model,
  };
}

/**
 * OpenAI's three ways for an answer to end: it was cut off (`length`), the model finished
 * (`stop`), or the answer is tool calls (`tool_calls`).
 */
export function openAiFinishReason(
  response: Pick<GenerateResponse, "finish_reason" | "tool_calls">,
): OpenAiFinishReason {
  if (response.tool_calls !== undefined) return "tool_calls";
  return response.finish_reason === "length" ? "length" : "stop";
}

/** The engine's calls as OpenAI's: each with an id, its arguments as a JSON string. */
export function openAiToolCalls(calls: readonly ToolCall[]) {
  return calls.map((call) => ({
    id: `call_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`,
    type: "function" as const,
    function: { name: call.name, arguments: JSON.stringify(call.arguments) },
  }));
}

/**
 * Every token the call cost. With refinement the loops before (or beside) the answer also read
 * prompts and wrote drafts: they are counted, and the drafts are `reasoning_tokens`.
 */
export function usageOf(response: GenerateResponse): OpenAiUsage {
  const prompt = response.loops.reduce((sum, loop) => sum + loop.prompt_tokens, 0);
  const completion = response.loops.reduce((sum, loop) => sum + loop.tokens, 0);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    completion_tokens_details: { reasoning_tokens: Math.max(0, completion - response.tokens_generated) },
  };
}

export function modelgateResult(response: GenerateResponse): ModelgateResult {
  return {
    loops: response.loops,
    refinement_loops: response.refinement_loops,
    stop_reason: response.stop_reason,
    halt_probability: response.halt_probability,
    halt_logits: response.halt_logits,
    latent_spans_used: response.latent_spans_used,
    ces_tokens_total: response.ces_tokens_total,
    seed: response.seed,
    worker_id: response.worker_id,
    runtime_config: response.runtime_config,
    tokens_per_second: response.tokens_per_second,
    inference_time_ms: response.inference_time_ms,
    finish_reason: response.finish_reason,
  };
}

export function chatCompletion(envelope: CompletionEnvelope, response: GenerateResponse): ChatCompletion {
  return {
    ...envelope,
    object: "chat.completion",
    choices: [
      {
        index: 0,
        message:
          response.tool_calls === undefined
            ? { role: "assistant", content: response.text, refusal: null }
            : { role: "assistant", content: null, refusal: null, tool_calls: openAiToolCalls(response.tool_calls) },
        finish_reason: openAiFinishReason(response),
        logprobs: null,
      },
    ],
    usage: usageOf(response),
    modelgate: modelgateResult(response),
  };
}

export function textCompletion(envelope: CompletionEnvelope, response: GenerateResponse): TextCompletion {
  return {
    ...envelope,
    object: "text_completion",
    choices: [{ index: 0, text: response.text, finish_reason: openAiFinishReason(response), logprobs: null }],
    usage: usageOf(response),
    modelgate: modelgateResult(response),
  };
}

/** The chunks one streamed answer is made of, in the order the stream translator sends them. */
export interface CompletionChunks<Chunk> {
  /** Sent before any text (chat: the assistant role), if the format has one. */
  opening(): Chunk | undefined;
  text(text: string): Chunk;
  /** The answer's tool calls (chat only), as OpenAI streams them: each call's id and name, then its arguments. */
  toolCalls(calls: readonly ToolCall[]): Chunk[];
  /** A judged refinement loop's report, with no text. */
  progress(loop: RefinementLoop): Chunk;
  /** The finish reason, with the `modelgate` results. */
  finish(response: GenerateResponse): Chunk;
  /** `choices: []` with the usage (and the results again), for `stream_options.include_usage`. */
  usage(response: GenerateResponse): Chunk;
}

export function chatCompletionChunks(
  envelope: CompletionEnvelope,
  includeUsage: boolean,
): CompletionChunks<ChatCompletionChunk> {
  const chunk = (
    delta: ChatCompletionChunk["choices"][number]["delta"],
    finish: OpenAiFinishReason | null,
  ): ChatCompletionChunk => ({
    ...envelope,
    object: "chat.completion.chunk",
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    ...(includeUsage ? { usage: null } : {}),
  });
  return {
    opening: () => chunk({ role: "assistant", content: "" }, null),
    text: (text) => chunk({ content: text }, null),
    toolCalls: (calls) =>
      openAiToolCalls(calls).flatMap((call, index) => [
        chunk(
          {
            tool_calls: [
              { index, id: call.id, type: "function", function: { name: call.function.name, arguments: "" } },
            ],
          },
          null,
        ),
        chunk({ tool_calls: [{ index, function: { arguments: call.function.arguments } }] }, null),
      ]),
    progress: (loop) => ({ ...chunk({}, null), modelgate: { loop } }),
    finish: (response) => ({
      ...chunk({}, openAiFinishReason(response)),
      modelgate: modelgateResult(response),
    }),
    usage: (response) => ({
      ...envelope,
      object: "chat.completion.chunk",
      choices: [],
      usage: usageOf(response),
      modelgate: modelgateResult(response),
    }),
  };
}

export function textCompletionChunks(
  envelope: CompletionEnvelope,
  includeUsage: boolean,
): CompletionChunks<TextCompletionChunk> {
  const chunk = (text: string, finish: OpenAiFinishReason | null): TextCompletionChunk => ({
    ...envelope,
    object: "text_completion",
    choices: [{ index: 0, text, finish_reason: finish, logprobs: null }],
    ...(includeUsage ? { usage: null } : {}),
  });
  return {
    opening: () => undefined,
    text: (text) => chunk(text, null),
    toolCalls: () => [],
    progress: (loop) => ({ ...chunk("", null), modelgate: { loop } }),
    finish: (response) => ({
      ...chunk("", openAiFinishReason(response)),
      modelgate: modelgateResult(response),
    }),
    usage: (response) => ({
      ...envelope,
      object: "text_completion",
      choices: [],
      usage: usageOf(response),
      modelgate: modelgateResult(response),
    }),
  };
}
