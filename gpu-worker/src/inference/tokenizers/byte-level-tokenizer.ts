/**
 * The byte-level tokenizer (TokenizerSpec type "byte-level"): ids 0–255 are UTF-8 bytes and the
 * special tokens follow (BOS, EOS, then the latent-span markers <bot>, <eot> when the vocabulary
 * has room for them).
 */
import type { TokenizerSpec } from "@modelgate/shared";
import type { TokenVocabulary } from "../../engine/constraints/token-vocabulary.js";
import { renderChatFallback, type TextTokenizer } from "./text-tokenizer.js";

export const BYTE_VOCAB = 256;

type ByteLevelSpec = Extract<TokenizerSpec, { type: "byte-level" }>;

export function createByteLevelTokenizer(spec: ByteLevelSpec): TextTokenizer {
  const encoder = new TextEncoder();
  // By convention <bot> and <eot> follow BOS and EOS: 256 BOS, 257 EOS, 258 <bot>, 259 <eot>.
  const beginLatent = Math.max(spec.bos_token_id, spec.eos_token_id) + 1;
  let vocabulary: TokenVocabulary | undefined;
  return {
    vocabSize: spec.vocab_size,
    eosTokenIds: new Set([spec.eos_token_id]),
    latent: beginLatent + 1 < spec.vocab_size ? { begin: beginLatent, end: beginLatent + 1 } : undefined,
    hasChatTemplate: false,
    encodePrompt: (text) => [spec.bos_token_id, ...encoder.encode(text)],
    encodeChat: (messages, tools) => [spec.bos_token_id, ...encoder.encode(renderChatFallback(messages, tools))],
    decode(ids) {
      const bytes = Uint8Array.from(ids.filter((id) => id >= 0 && id < BYTE_VOCAB));
      return new TextDecoder("utf-8", { fatal: false }).decode(bytes);
    },
    isSpecial: (id) => id >= BYTE_VOCAB,
    vocabulary() {
      vocabulary ??= {
        size: spec.vocab_size,
        tokenBytes: Array.from({ length: spec.vocab_size }, (_, id) =>
          id < BYTE_VOCAB ? Uint8Array.of(id) : undefined,
        ),
        eosTokenIds: [spec.eos_token_id],
      };
      return vocabulary;
    },
  };
}
