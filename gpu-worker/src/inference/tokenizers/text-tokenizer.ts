/**
 * What the generation engine needs from a tokenizer, whatever its kind: prompt ids, chat
 * rendering, decoding, which ids end a generation and which ones mark latent spans.
 */
import type { ChatMessage } from "@modelgate/shared";

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
   */
  encodeChat(messages: readonly ChatMessage[]): number[];
  /** Text of ids; special tokens (BOS, EOS, latent markers, padding) are left out. */
  decode(ids: readonly number[]): string;
  /** BOS, EOS, padding, latent markers and other added special tokens. */
  isSpecial(id: number): boolean;
}

/**
 * The chat rendering used when a model ships no template: one `role: content` line per turn,
 * then `assistant:` to cue the answer. Plain enough that a byte-level model continues it.
 */
export function renderChatFallback(messages: readonly ChatMessage[]): string {
  return `${messages.map((m) => `${m.role}: ${m.content}`).join("\n")}\nassistant:`;
}
