/**
 * What the generation engine needs from a tokenizer, whatever its kind: prompt ids, chat
 * rendering, decoding, which ids end a generation and which ones mark latent spans.
 */
import { type ChatMessage, TOOL_CALL_CLOSE, TOOL_CALL_OPEN, type ToolDefinition } from "@modelgate/shared";
import type { TokenVocabulary } from "../../engine/constraints/token-vocabulary.js";

export interface LatentMarkers {
  /** `<bot>`: opens a latent span. */
  begin: number;
  /** `<eot>`: closes it. */
  end: number;
}

export interface TextTokenizer {
  vocabSize: number;
  /** Ids that end a generation. */
  eosTokenIds: ReadonlySet<number>;
  /** Latent-span markers, when the vocabulary has both. */
  latent: LatentMarkers | undefined;
  /** Whether `renderChat` uses the model's own template (false: the documented fallback). */
  hasChatTemplate: boolean;
  /** Ids of a prompt, with the BOS token the model expects. */
  encodePrompt(text: string): number[];
  /**
   * Ids of messages as the model's chat template renders them, ready for the assistant's turn.
   * The template writes its own special tokens, so none are added on top (as transformers does).
   * `tools` are handed to the template as its `tools` variable, as transformers'
   * `apply_chat_template(tools=…)` does: `[{type: "function", function: {name, description, parameters}}]`.
   */
  encodeChat(messages: readonly ChatMessage[], tools?: readonly ToolDefinition[]): number[];
  /** Text of ids; special tokens (BOS, EOS, latent markers, padding) are left out. */
  decode(ids: readonly number[]): string;
  /** BOS, EOS, padding, latent markers and other added special tokens. */
  isSpecial(id: number): boolean;
  /** The bytes each token adds to the text, for constrained decoding (built on first use). */
  vocabulary(): TokenVocabulary;
}

/** Tools as chat templates read them (transformers' `tools` argument, OpenAI's shape). */
export function templateTools(tools: readonly ToolDefinition[]): unknown[] {
  return tools.map((tool) => ({
    type: "function",
    function: {
      name: tool.name,
      ...(tool.description === undefined ? {} : { description: tool.description }),
      parameters: tool.parameters ?? { type: "object", properties: {} },
    },
  }));
}

/** An assistant turn's tool calls in the format the engine decodes them in. */
export function renderToolCalls(message: ChatMessage): string {
  return (message.tool_calls ?? [])
    .map(
      (call) =>
        `${TOOL_CALL_OPEN}${JSON.stringify({ name: call.function.name, arguments: call.function.arguments })}${TOOL_CALL_CLOSE}`,
    )
    .join("\n");
}

/**
 * The chat rendering used when a model ships no template: one `role: content` line per turn,
 * then `assistant:` to cue the answer. Plain enough that a byte-level model continues it.
 */
export function renderChatFallback(messages: readonly ChatMessage[], tools?: readonly ToolDefinition[]): string {
  const lines = messages.map((m) => {
    const calls = m.tool_calls ? renderToolCalls(m) : "";
    return `${m.role}: ${[m.content, calls].filter((part) => part !== "").join("\n")}`;
  });
  if (tools !== undefined && tools.length > 0) lines.unshift(`tools: ${JSON.stringify(templateTools(tools))}`);
  return `${lines.join("\n")}\nassistant:`;
}
