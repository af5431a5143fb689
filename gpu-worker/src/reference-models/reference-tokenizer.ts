/**
 * The reference decoder's tokenizer: GPT-2 style byte-level BPE whose merges are learned from a
 * corpus in TypeScript, written as a Hugging Face `tokenizer.json` + `tokenizer_config.json`.
 *
 * Ids: 0–255 are the 256 byte tokens (id = byte value, spelled with GPT-2's byte-to-unicode
 * table), then one id per learned merge, then the added special tokens. BOS: the post-processor
 * prepends `<s>` when special tokens are added (the default for `encode`), and the chat template
 * writes `bos_token` itself, so a chat prompt is encoded with `add_special_tokens: false` (as
 * transformers' `apply_chat_template` does) and gets exactly one `<s>`.
 */
import { Tokenizer } from "@huggingface/tokenizers";

export const REFERENCE_BOS_TOKEN = "<s>";
export const REFERENCE_EOS_TOKEN = "</s>";
export const REFERENCE_PAD_TOKEN = "<pad>";
export const REFERENCE_BOT_TOKEN = "<bot>";
export const REFERENCE_EOT_TOKEN = "<eot>";
/** In id order after the merges. */
export const REFERENCE_SPECIAL_TOKENS = [
  REFERENCE_BOS_TOKEN,
  REFERENCE_EOS_TOKEN,
  REFERENCE_PAD_TOKEN,
  REFERENCE_BOT_TOKEN,
  REFERENCE_EOT_TOKEN,
] as const;
export type ReferenceSpecialToken = (typeof REFERENCE_SPECIAL_TOKENS)[number];

const BYTE_TOKEN_COUNT = 256;

/**
 * ChatML-like, in plain text: each turn is `Role: content`, turns are separated by a space, an
 * assistant turn ends with `eos_token`, and the generation prompt is ` Assistant:`. With `tools`
 * a first `System: Tools: [...]` turn lists them, an assistant turn's `tool_calls` follow its
 * content as `<tool_call>{…}</tool_call>`, and a `tool` turn is `Tool: content`. Plain-text
 * role markers (not extra special tokens) because the corpus the model is counted from writes
 * its dialogues the same way, so the model continues a rendered chat sensibly.
 */
export const REFERENCE_CHAT_TEMPLATE =
  "{{ bos_token }}" +
  // Tools (transformers' `tools` variable) come first, as a system line listing their JSON.
  "{% if tools %}{{ 'System: Tools: ' }}{{ tools | tojson }}{{ ' ' }}{% endif %}" +
  "{% for message in messages %}" +
  "{% if not loop.first %}{{ ' ' }}{% endif %}" +
  "{{ message['role'] | capitalize }}: {{ message['content'] | trim }}" +
  // An assistant turn's tool calls, in the format the engine decodes them in.
  "{% if message['tool_calls'] %}{% for call in message['tool_calls'] %}" +
  "{{ '<tool_call>{\"name\": ' }}{{ call['function']['name'] | tojson }}{{ ', \"arguments\": ' }}" +
  "{{ call['function']['arguments'] | tojson }}{{ '}</tool_call>' }}" +
  "{% endfor %}{% endif %}" +
  "{% if message['role'] == 'assistant' %}{{ eos_token }}{% endif %}" +
  "{% endfor %}" +
  "{% if add_generation_prompt %}{{ ' Assistant:' }}{% endif %}";

/** GPT-2's reversible byte → printable unicode character table (what the ByteLevel pre-tokenizer uses). */
export const BYTE_TO_UNICODE: readonly string[] = (() => {
  const direct: number[] = [];
  for (let byte = 0x21; byte <= 0x7e; byte++) direct.push(byte);
  for (let byte = 0xa1; byte <= 0xac; byte++) direct.push(byte);
  for (let byte = 0xae; byte <= 0xff; byte++) direct.push(byte);
  const table: string[] = new Array<string>(BYTE_TOKEN_COUNT);
  for (const byte of direct) table[byte] = String.fromCharCode(byte);
  let next = 0;
  for (let byte = 0; byte < BYTE_TOKEN_COUNT; byte++) {
    if (table[byte] === undefined) {
      table[byte] = String.fromCharCode(BYTE_TOKEN_COUNT + next);
      next += 1;
    }
  }
  return table;
})();

/** The ByteLevel pre-tokenizer's split (GPT-2's pattern), as @huggingface/tokenizers applies it. */
const GPT2_SPLIT_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
const SPECIAL_SPLIT_PATTERN = new RegExp(`(${REFERENCE_SPECIAL_TOKENS.map(escapeRegExp).join("|")})`);

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

const textEncoder = new TextEncoder();

/** Pre-tokens of `text` (special tokens removed), each spelled in byte-to-unicode characters. */
export function byteLevelPreTokens(text: string): string[] {
  const words: string[] = [];
  for (const piece of text.split(SPECIAL_SPLIT_PATTERN)) {
    if (piece.length === 0 || (REFERENCE_SPECIAL_TOKENS as readonly string[]).includes(piece)) continue;
    for (const match of piece.match(GPT2_SPLIT_PATTERN) ?? []) {
      words.push(Array.from(textEncoder.encode(match), (byte) => BYTE_TO_UNICODE[byte] ?? "").join(""));
    }
  }
  return words;
}

export interface LearnedBpe {
  /** Token spelling by id for the byte tokens and merges (specials not included). */
  vocab: string[];
  /** Merge rules in rank order, as `[left, right]`. */
  merges: [string, string][];
}

/**
 * Classic BPE training: repeatedly merge the most frequent adjacent pair until the vocabulary has
 * `vocabSize` entries or every word is a single token. Ties go to the pair that occurs first in
 * the corpus (words are kept in order of first appearance), which on a small corpus grows rare
 * words from their start, space included, instead of leaving a lone space token in front. The
 * last merges join pairs seen once, turning rare words into whole tokens.
 */
export function learnByteLevelBpe(texts: readonly string[], vocabSize: number): LearnedBpe {
  const wordCounts = new Map<string, number>();
  for (const text of texts) {
    for (const word of byteLevelPreTokens(text)) wordCounts.set(word, (wordCounts.get(word) ?? 0) + 1);
  }
  // Map iteration is insertion order, so `words` and `pairCounts` below are in corpus order.
  const words = [...wordCounts.entries()].map(([word, count]) => ({ symbols: [...word], count }));

  const vocab = [...BYTE_TO_UNICODE];
  const known = new Set(vocab);
  const merges: [string, string][] = [];
  while (vocab.length < vocabSize) {
    const pairCounts = new Map<string, number>();
    for (const { symbols, count } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        // Byte-to-unicode spellings never contain a space, so it is a safe separator.
        const key = `${symbols[i]} ${symbols[i + 1]}`;
        pairCounts.set(key, (pairCounts.get(key) ?? 0) + count);
      }
    }
    let bestKey: string | undefined;
    let bestCount = 0;
    for (const [key, count] of pairCounts) {
      if (count > bestCount) {
        bestKey = key;
        bestCount = count;
      }
    }
    if (bestKey === undefined) break;
    const [left = "", right = ""] = bestKey.split(" ");
    const merged = left + right;
    merges.push([left, right]);
    if (!known.has(merged)) {
      known.add(merged);
      vocab.push(merged);
    }
    for (const word of words) word.symbols = mergePair(word.symbols, left, right);
  }
  return { vocab, merges };
}

function mergePair(symbols: readonly string[], left: string, right: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < symbols.length; i++) {
    if (symbols[i] === left && symbols[i + 1] === right) {
      out.push(left + right);
      i += 1;
    } else {
      out.push(symbols[i] ?? "");
    }
  }
  return out;
}

export interface ReferenceTokenizerOptions {
  /** Total vocabulary including the special tokens. */
  vocabSize: number;
  modelMaxLength: number;
}

export interface ReferenceTokenizer {
  /** `tokenizer.json` contents. */
  tokenizerJson: string;
  /** `tokenizer_config.json` contents. */
  tokenizerConfigJson: string;
  vocabSize: number;
  mergeCount: number;
  specialTokenIds: Readonly<Record<ReferenceSpecialToken, number>>;
  /** The text each id decodes to (specials as their own spelling). */
  tokenTexts: readonly string[];
  /** A loaded @huggingface/tokenizers instance over the same JSON. */
  tokenizer: Tokenizer;
}

/** Decodes a byte-to-unicode spelling back into text (lossy only for invalid UTF-8). */
function decodeByteLevel(spelling: string): string {
  const bytes = Uint8Array.from([...spelling], (char) => BYTE_TO_UNICODE.indexOf(char));
  return new TextDecoder().decode(bytes);
}

export function buildReferenceTokenizer(
  corpus: readonly string[],
  options: ReferenceTokenizerOptions,
): ReferenceTokenizer {
  const baseSize = options.vocabSize - REFERENCE_SPECIAL_TOKENS.length;
  const { vocab, merges } = learnByteLevelBpe(corpus, baseSize);
  if (vocab.length !== baseSize) {
    throw new RangeError(`the corpus yields only ${vocab.length} BPE tokens, ${baseSize} wanted`);
  }
  const specialTokenIds = Object.fromEntries(
    REFERENCE_SPECIAL_TOKENS.map((token, index) => [token, baseSize + index]),
  ) as Record<ReferenceSpecialToken, number>;
  const bosId = specialTokenIds[REFERENCE_BOS_TOKEN];

  const addedTokens = REFERENCE_SPECIAL_TOKENS.map((content) => ({
    id: specialTokenIds[content],
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  const tokenizerJson = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: REFERENCE_BOS_TOKEN, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [
        { SpecialToken: { id: REFERENCE_BOS_TOKEN, type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: REFERENCE_BOS_TOKEN, type_id: 1 } },
        { Sequence: { id: "B", type_id: 1 } },
      ],
      special_tokens: {
        [REFERENCE_BOS_TOKEN]: { id: REFERENCE_BOS_TOKEN, ids: [bosId], tokens: [REFERENCE_BOS_TOKEN] },
      },
    },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(vocab.map((token, id) => [token, id])),
      merges: merges.map(([left, right]) => `${left} ${right}`),
    },
  };
  const tokenizerConfig = {
    add_bos_token: true,
    add_eos_token: false,
    added_tokens_decoder: Object.fromEntries(
      addedTokens.map(({ id, ...token }) => [String(id), { ...token, single_word: false }]),
    ),
    additional_special_tokens: [REFERENCE_BOT_TOKEN, REFERENCE_EOT_TOKEN],
    bos_token: REFERENCE_BOS_TOKEN,
    chat_template: REFERENCE_CHAT_TEMPLATE,
    clean_up_tokenization_spaces: false,
    eos_token: REFERENCE_EOS_TOKEN,
    model_max_length: options.modelMaxLength,
    pad_token: REFERENCE_PAD_TOKEN,
    padding_side: "left",
    tokenizer_class: "PreTrainedTokenizerFast",
    unk_token: null,
  };

  const tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
  return {
    tokenizerJson: `${JSON.stringify(tokenizerJson, null, 2)}\n`,
    tokenizerConfigJson: `${JSON.stringify(tokenizerConfig, null, 2)}\n`,
    vocabSize: options.vocabSize,
    mergeCount: merges.length,
    specialTokenIds,
    tokenTexts: [...vocab.map(decodeByteLevel), ...REFERENCE_SPECIAL_TOKENS],
    tokenizer,
  };
}
