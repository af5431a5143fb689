import { Template } from "@huggingface/jinja";
import { Tokenizer } from "@huggingface/tokenizers";
import { describe, expect, it } from "vitest";
import {
  buildReferenceDecoderTokenizer,
  REFERENCE_DECODER_LATENT_MESSAGES,
  REFERENCE_DECODER_LATENT_PROMPT,
} from "../../src/reference-models/reference-decoder.js";
import { REFERENCE_DECODER_CORPUS } from "../../src/reference-models/reference-decoder-weights.js";
import { BYTE_TO_UNICODE, learnByteLevelBpe } from "../../src/reference-models/reference-tokenizer.js";

describe("ref-decoder tokenizer", () => {
  const built = buildReferenceDecoderTokenizer();
  const tokenizerJson = JSON.parse(built.tokenizerJson) as Record<string, unknown>;
  const tokenizerConfig = JSON.parse(built.tokenizerConfigJson) as Record<string, unknown>;
  // Loaded from the file contents, as a consumer of the model folder would.
  const tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
  const ids = built.specialTokenIds;

  it("has 256 byte tokens, a few hundred learned merges and five special tokens", () => {
    expect(built.vocabSize).toBe(512);
    expect(built.mergeCount).toBeGreaterThanOrEqual(250);
    expect(ids).toEqual({ "<s>": 507, "</s>": 508, "<pad>": 509, "<bot>": 510, "<eot>": 511 });
    expect(new Set(BYTE_TO_UNICODE).size).toBe(256);
    expect(tokenizer.token_to_id(BYTE_TO_UNICODE[0x20] ?? "")).toBe(0x20);
    expect(tokenizer.token_to_id("Ġ")).toBe(0x20);
    expect(tokenizer.get_vocab(true).size).toBe(512);
  });

  it("learns the same merges every time", () => {
    const again = learnByteLevelBpe(REFERENCE_DECODER_CORPUS, 507);
    expect(again.merges).toHaveLength(built.mergeCount);
    expect(JSON.stringify(again.merges.map(([a, b]) => `${a} ${b}`))).toBe(
      JSON.stringify((tokenizerJson.model as { merges: string[] }).merges),
    );
  });

  it("round-trips printable ASCII and prepends <s>", () => {
    const texts = [
      "The worker loads the weights from storage.",
      '{"status": "ok", "count": 3}',
      "  leading spaces, tabs\tand ~odd~ `chars` | 0123456789 !?",
      "Words the corpus never saw: zyzzyva, quixotic, Xerxes.",
    ];
    for (const text of texts) {
      const encoded = tokenizer.encode(text).ids;
      expect(encoded[0]).toBe(ids["<s>"]);
      expect(encoded.slice(1)).toEqual(tokenizer.encode(text, { add_special_tokens: false }).ids);
      expect(tokenizer.decode(encoded, { skip_special_tokens: true })).toBe(text);
      expect(encoded.every((id) => id >= 0 && id < built.vocabSize)).toBe(true);
    }
    // Merges make common corpus text shorter than its bytes.
    const sentence = "The model is ready and the answer comes back in a few milliseconds.";
    expect(tokenizer.encode(sentence, { add_special_tokens: false }).ids.length).toBeLessThan(sentence.length / 2);
  });

  it("keeps the special tokens whole", () => {
    const encoded = tokenizer.encode("Assistant: <bot>check the schema<eot> Yes.</s>", {
      add_special_tokens: false,
    }).ids;
    expect(encoded).toContain(ids["<bot>"]);
    expect(encoded).toContain(ids["<eot>"]);
    expect(encoded.at(-1)).toBe(ids["</s>"]);
    expect(tokenizer.decode(encoded, { skip_special_tokens: false })).toBe(
      "Assistant: <bot>check the schema<eot> Yes.</s>",
    );
    expect(tokenizer.decode(encoded, { skip_special_tokens: true })).toBe("Assistant: check the schema Yes.");
  });

  it("declares its special tokens and a chat template in tokenizer_config.json", () => {
    expect(tokenizerConfig).toMatchObject({
      bos_token: "<s>",
      eos_token: "</s>",
      pad_token: "<pad>",
      model_max_length: 1024,
      padding_side: "left",
    });
    const template = new Template(String(tokenizerConfig.chat_template));
    const special = { bos_token: "<s>", eos_token: "</s>" };
    expect(
      template.render({ messages: REFERENCE_DECODER_LATENT_MESSAGES, add_generation_prompt: true, ...special }),
    ).toBe(`<s>${REFERENCE_DECODER_LATENT_PROMPT}`);
    const conversation = [
      { role: "system", content: "Answer in JSON." },
      { role: "user", content: "Is the worker up?" },
      { role: "assistant", content: '{"status": "ok"}' },
      { role: "user", content: " How many are ready? " },
    ];
    expect(template.render({ messages: conversation, add_generation_prompt: false, ...special })).toBe(
      '<s>System: Answer in JSON. User: Is the worker up? Assistant: {"status": "ok"}</s> User: How many are ready?',
    );
    // Rendered text carries its own <s>, so it is encoded without adding another.
    const rendered = template.render({
      messages: REFERENCE_DECODER_LATENT_MESSAGES,
      add_generation_prompt: true,
      ...special,
    });
    expect(tokenizer.encode(rendered, { add_special_tokens: false }).ids).toEqual(
      tokenizer.encode(REFERENCE_DECODER_LATENT_PROMPT).ids,
    );
  });
});
