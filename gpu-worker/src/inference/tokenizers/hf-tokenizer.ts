/**
 * A Hugging Face `tokenizer.json` (TokenizerSpec type "hf-tokenizer") through
 * @huggingface/tokenizers, with the chat template from `tokenizer_config.json` rendered by
 * @huggingface/jinja — the same libraries transformers.js uses, so prompts tokenize the same way.
 */
import { Template } from "@huggingface/jinja";
import { Tokenizer } from "@huggingface/tokenizers";
import { renderChatFallback, type TextTokenizer } from "./text-tokenizer.js";

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
    encodeChat(messages) {
      if (template === undefined) return tokenizer.encode(renderChatFallback(messages)).ids;
      const rendered = template.render({
        messages,
        add_generation_prompt: true,
        bos_token: bosToken ?? "",
        eos_token: eosToken ?? "",
      });
      return tokenizer.encode(rendered, { add_special_tokens: false }).ids;
    },
    // The library refuses an empty list; an empty answer decodes to "".
    decode: (ids) => (ids.length === 0 ? "" : tokenizer.decode([...ids], { skip_special_tokens: true })),
    isSpecial: (id) => specialIds.has(id),
  };
}
