/**
 * A Hugging Face `tokenizer.json` (TokenizerSpec type "hf-tokenizer") through
 * @huggingface/tokenizers, with the chat template from `tokenizer_config.json` rendered by
 * @huggingface/jinja — the same libraries transformers.js uses, so prompts tokenize the same way.
 */
import { Template } from "@huggingface/jinja";
import { Tokenizer } from "@huggingface/tokenizers";
import type { TokenVocabulary } from "../../engine/constraints/token-vocabulary.js";
import { renderChatFallback, type TextTokenizer, templateTools } from "./text-tokenizer.js";

export interface HfTokenizerFiles {
  /** tokenizer.json, parsed. */
  tokenizerJson: Record<string, unknown>;
  /** tokenizer_config.json, parsed; `{}` when the model has none. */
  tokenizerConfigJson: Record<string, unknown>;
  /** generation_config.json's eos_token_id(s), from the registry. */
  eosTokenIds: readonly number[];
}

const LATENT_BEGIN = "<bot>";
const LATENT_END = "<eot>";

/** A special token as tokenizer_config.json writes it: a string or `{ content: "…" }`. */
function tokenContent(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (value !== null && typeof value === "object" && "content" in value && typeof value.content === "string") {
    return value.content;
  }
  return undefined;
}

export function createHfTokenizer(files: HfTokenizerFiles): TextTokenizer {
  const tokenizer = new Tokenizer(files.tokenizerJson, files.tokenizerConfigJson);
  let vocabulary: TokenVocabulary | undefined;
  const config = files.tokenizerConfigJson;
  const specialIds = new Set<number>();
  for (const [id, token] of tokenizer.get_added_tokens_decoder()) if (token.special) specialIds.add(id);
  const begin = tokenizer.token_to_id(LATENT_BEGIN);
  const end = tokenizer.token_to_id(LATENT_END);
  const latent = begin !== undefined && end !== undefined ? { begin, end } : undefined;
  if (latent) {
    specialIds.add(latent.begin);
    specialIds.add(latent.end);
  }
  const templateSource = typeof config.chat_template === "string" ? config.chat_template : undefined;
  // Parsing once per load: a template that does not parse fails the load, not every request.
  const template = templateSource === undefined ? undefined : new Template(templateSource);
  const bosToken = tokenContent(config.bos_token);
  const eosToken = tokenContent(config.eos_token);
  return {
    vocabSize: tokenizer.get_vocab(true).size,
    eosTokenIds: new Set(files.eosTokenIds),
    latent,
    hasChatTemplate: template !== undefined,
    encodePrompt: (text) => tokenizer.encode(text).ids,
    encodeChat(messages, tools) {
      if (template === undefined) return tokenizer.encode(renderChatFallback(messages, tools)).ids;
      const rendered = template.render({
        messages,
        ...(tools !== undefined && tools.length > 0 ? { tools: templateTools(tools) } : {}),
        add_generation_prompt: true,
        bos_token: bosToken ?? "",
        eos_token: eosToken ?? "",
      });
      return tokenizer.encode(rendered, { add_special_tokens: false }).ids;
    },
    // The library refuses an empty list; an empty answer decodes to "".
    decode: (ids) => (ids.length === 0 ? "" : tokenizer.decode([...ids], { skip_special_tokens: true })),
    isSpecial: (id) => specialIds.has(id),
    vocabulary() {
      vocabulary ??= tokenVocabularyOf(tokenizer, files, specialIds);
      return vocabulary;
    },
  };
}

/** GPT-2's byte → character table, inverted: how a byte-level BPE token's spelling maps back to bytes. */
const UNICODE_TO_BYTE: ReadonlyMap<string, number> = (() => {
  const table = new Map<string, number>();
  let next = 0;
  for (let byte = 0; byte < 256; byte++) {
    const printable =
      (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
    table.set(String.fromCharCode(printable ? byte : 256 + next++), byte);
  }
  return table;
})();

/** Whether a tokenizer.json part (decoder or pre-tokenizer, maybe a Sequence) is byte-level. */
function mentionsByteLevel(part: unknown): boolean {
  if (typeof part !== "object" || part === null) return false;
  const record = part as Record<string, unknown>;
  if (record.type === "ByteLevel") return true;
  for (const key of ["decoders", "pretokenizers"]) {
    const list = record[key];
    if (Array.isArray(list) && list.some(mentionsByteLevel)) return true;
  }
  return false;
}

/**
 * Each token's bytes. Byte-level BPE (GPT-2, Llama 3, Qwen): the spelling's characters are bytes
 * through GPT-2's table, so a token may end inside a UTF-8 character. SentencePiece-style
 * vocabularies: `▁` is a space and `<0xNN>` a raw byte. Anything else: the token decoded alone.
 */
function tokenVocabularyOf(
  tokenizer: Tokenizer,
  files: HfTokenizerFiles,
  specialIds: ReadonlySet<number>,
): TokenVocabulary {
  const spellings = tokenizer.get_vocab(true);
  const size = Math.max(0, ...spellings.values()) + 1;
  const tokenBytes: (Uint8Array | undefined)[] = new Array(size).fill(undefined);
  const byteLevel =
    mentionsByteLevel(files.tokenizerJson.decoder) || mentionsByteLevel(files.tokenizerJson.pre_tokenizer);
  const encoder = new TextEncoder();
  const added = new Map<number, { special: boolean; content: string }>();
  for (const [id, token] of tokenizer.get_added_tokens_decoder()) added.set(id, token);
  for (const [spelling, id] of spellings) {
    if (specialIds.has(id)) continue;
    const addedToken = added.get(id);
    if (addedToken) {
      tokenBytes[id] = encoder.encode(addedToken.content);
      continue;
    }
    if (byteLevel) {
      const bytes: number[] = [];
      for (const char of spelling) bytes.push(UNICODE_TO_BYTE.get(char) ?? 0);
      tokenBytes[id] = Uint8Array.from(bytes);
      continue;
    }
    const raw = /^<0x([0-9A-Fa-f]{2})>$/.exec(spelling);
    tokenBytes[id] = raw
      ? Uint8Array.of(Number.parseInt(raw[1] ?? "0", 16))
      : encoder.encode(spelling.replaceAll("\u2581", " "));
  }
  return { size, tokenBytes, eosTokenIds: [...files.eosTokenIds] };
}
