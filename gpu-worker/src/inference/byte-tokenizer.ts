/**
 * The byte-level tokenizer (TokenizerSpec type "byte-level"): ids 0–255 are UTF-8 bytes and the
 * special tokens follow (BOS, EOS, then the latent-span markers <bot>, <eot> when the vocabulary
 * has room for them).
 */
import type { TokenizerSpec } from "@modelgate/shared";

export const BYTE_VOCAB = 256;

export interface ByteLevelTokenizer {
  bosTokenId: number;
  eosTokenId: number;
  /** `<bot>`, the start of a latent span; undefined when the vocabulary has no such token. */
  beginLatentTokenId: number | undefined;
  vocabSize: number;
  /** Ids below this are text (bytes); the rest are special tokens. */
  textTokenLimit: number;
  /** BOS followed by the prompt's UTF-8 bytes. */
  encodePrompt(text: string): number[];
  /** The text's UTF-8 bytes, without BOS (for stop strings). */
  encodeText(text: string): number[];
  /** Text of the byte ids; special ids are skipped and invalid UTF-8 becomes U+FFFD. */
  decode(ids: readonly number[]): string;
}

export function createByteLevelTokenizer(spec: TokenizerSpec): ByteLevelTokenizer {
  const encoder = new TextEncoder();
  // By convention <bot> follows BOS and EOS: 256 BOS, 257 EOS, 258 <bot>, 259 <eot>.
  const beginLatent = Math.max(spec.bos_token_id, spec.eos_token_id) + 1;
  return {
    bosTokenId: spec.bos_token_id,
    eosTokenId: spec.eos_token_id,
    beginLatentTokenId: beginLatent + 1 < spec.vocab_size ? beginLatent : undefined,
    vocabSize: spec.vocab_size,
    textTokenLimit: BYTE_VOCAB,
    encodePrompt: (text) => [spec.bos_token_id, ...encoder.encode(text)],
    encodeText: (text) => [...encoder.encode(text)],
    decode(ids) {
      const bytes = Uint8Array.from(ids.filter((id) => id >= 0 && id < BYTE_VOCAB));
      return new TextDecoder("utf-8", { fatal: false }).decode(bytes);
    },
  };
}
