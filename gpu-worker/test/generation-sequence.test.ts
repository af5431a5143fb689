import { describe, expect, it } from "vitest";
import {
  GenerationSequence,
  IncrementalDetokenizer,
  type SequenceSettings,
} from "../src/inference/generation-sequence.js";
import { argmax, createSeededRandom, sampleToken } from "../src/inference/sampling.js";
import { createByteLevelTokenizer } from "../src/inference/tokenizers/byte-level-tokenizer.js";

const tokenizer = createByteLevelTokenizer({
  type: "byte-level",
  vocab_size: 260,
  bos_token_id: 256,
  eos_token_id: 257,
});
const BOT = 258;
const EOT = 259;

/** Logits that make `token` the clear favourite. */
function favour(token: number, runnerUp?: number): Float32Array {
  const logits = new Float32Array(260).fill(-10);
  logits[token] = 10;
  if (runnerUp !== undefined) logits[runnerUp] = 9;
  return logits;
}

function settings(overrides: Partial<SequenceSettings> = {}): SequenceSettings {
  return {
    promptIds: tokenizer.encodePrompt("a"),
    maxNewTokens: 10,
    temperature: 0,
    repetitionPenalty: 1,
    stop: [],
    seed: 1,
    latent: { enabled: false, maxSpans: 0, maxLength: 100, include: false },
    ...overrides,
  };
}

/** Feeds a script of favoured tokens until the sequence finishes; returns the tokens it chose and the streamed text. */
function run(sequence: GenerationSequence, script: readonly (number | Float32Array)[]) {
  const chosen: number[] = [];
  let streamed = "";
  for (const step of script) {
    if (sequence.finished !== undefined) break;
    const { token, textDelta } = sequence.next(typeof step === "number" ? favour(step) : step);
    chosen.push(token);
    streamed += textDelta;
  }
  return { chosen, streamed };
}

describe("GenerationSequence", () => {
  it("stops at EOS (kept in token_ids) with finish_reason eos", () => {
    const sequence = new GenerationSequence(settings(), tokenizer, { streaming: true });
    const { streamed } = run(sequence, [104, 105, 257, 120]);
    expect(sequence.result()).toEqual({
      tokenIds: [104, 105, 257],
      text: "hi",
      finishReason: "eos",
      latentSpansUsed: 0,
    });
    expect(sequence.keptTokens).toBe(3);
    expect(streamed).toBe("hi");
  });

  it("decodes the text once at the end when nobody streams it", () => {
    const sequence = new GenerationSequence(settings(), tokenizer);
    const { streamed } = run(sequence, [104, 105, 257]);
    expect(streamed).toBe("");
    expect(sequence.result().text).toBe("hi");
  });

  it("does not end before min_new_tokens: EOS is masked until then", () => {
    const sequence = new GenerationSequence(settings({ minNewTokens: 2 }), tokenizer);
    const { chosen } = run(sequence, [favour(257, 104), favour(257, 105), 257]);
    expect(chosen).toEqual([104, 105, 257]);
    expect(sequence.result()).toMatchObject({ text: "hi", finishReason: "eos" });
  });

  it("stops at max_new_tokens with finish_reason length", () => {
    const sequence = new GenerationSequence(settings({ maxNewTokens: 2 }), tokenizer);
    run(sequence, [97, 98, 99]);
    expect(sequence.result()).toMatchObject({ tokenIds: [97, 98], finishReason: "length", text: "ab" });
  });

  it("ends at a stop string, cutting it from the text and token_ids, even across a latent span", () => {
    const latent = { enabled: true, maxSpans: 1, maxLength: 5, include: false };
    const sequence = new GenerationSequence(settings({ stop: ["zz", "hi"], latent }), tokenizer);
    // "x", "h", <bot> "q" <eot>, "i": the visible text reaches "xhi" with a latent span inside.
    const { streamed } = run(sequence, [120, 104, BOT, 113, EOT, 105, 33]);
    expect(sequence.result()).toEqual({ tokenIds: [120], text: "x", finishReason: "stop", latentSpansUsed: 1 });
    // The halt head must judge the answer without the stop string: one kept token.
    expect(sequence.keptTokens).toBe(1);
    expect(streamed).toBe("x");
  });

  it("applies the repetition penalty to prompt and output tokens", () => {
    // "a" (97) is in the prompt: with a strong penalty the runner-up "b" wins.
    const penalised = new GenerationSequence(settings({ repetitionPenalty: 5, maxNewTokens: 1 }), tokenizer);
    run(penalised, [favour(97, 98)]);
    expect(penalised.result().tokenIds).toEqual([98]);
    const plain = new GenerationSequence(settings({ maxNewTokens: 1 }), tokenizer);
    run(plain, [favour(97, 98)]);
    expect(plain.result().tokenIds).toEqual([97]);
  });
});

describe("latent spans", () => {
  const script = [104, BOT, 116, 116, 116, 116, EOT, 105, BOT, 117, EOT, 33, 257];

  it("never opens a span when latent mode is off", () => {
    const sequence = new GenerationSequence(settings({ maxNewTokens: 20 }), tokenizer);
    run(sequence, [favour(BOT, 120), 257]);
    expect(sequence.result()).toMatchObject({ tokenIds: [120, 257], latentSpansUsed: 0 });
  });

  it("caps spans at max_latent_spans, force-closes at max_latent_length, and hides them", () => {
    const latent = { enabled: true, maxSpans: 1, maxLength: 2, include: false };
    const sequence = new GenerationSequence(settings({ maxNewTokens: 30, latent }), tokenizer, { streaming: true });
    const { chosen, streamed } = run(sequence, [104, BOT, 116, 116, 116, 105, favour(BOT, 117), 33, 257]);
    // After two latent tokens <eot> is forced; the second <bot> is masked (budget spent), so "u" wins.
    expect(chosen).toEqual([104, BOT, 116, 116, EOT, 105, 117, 33, 257]);
    const result = sequence.result();
    expect(result).toMatchObject({ text: "hiu!", latentSpansUsed: 1, finishReason: "eos" });
    expect(streamed).toBe("hiu!");
  });

  it("keeps spans in the text with include_latent", () => {
    const latent = { enabled: true, maxSpans: 2, maxLength: 10, include: true };
    const sequence = new GenerationSequence(settings({ maxNewTokens: 30, latent }), tokenizer);
    run(sequence, script);
    expect(sequence.result()).toMatchObject({ text: "h<bot>tttt<eot>i<bot>u<eot>!", latentSpansUsed: 2 });
  });
});

describe("IncrementalDetokenizer", () => {
  it("holds back an incomplete UTF-8 character and releases it whole", () => {
    const detokenizer = new IncrementalDetokenizer((ids) => tokenizer.decode(ids));
    const deltas = [0x61, 0xc3, 0xa9, 0x21].map((id) => detokenizer.push(id));
    expect(deltas).toEqual(["a", "", "é", "!"]);
  });
});

describe("sampling", () => {
  it("is reproducible for a seed and follows the distribution", () => {
    const logits = [0, Math.log(3), -50];
    const draw = (seed: number) => {
      const random = createSeededRandom(seed);
      return Array.from({ length: 4000 }, () => sampleToken(logits, 1, random));
    };
    expect(draw(7)).toEqual(draw(7));
    const ones = draw(7).filter((t) => t === 1).length / 4000;
    expect(ones).toBeGreaterThan(0.7);
    expect(ones).toBeLessThan(0.8);
    expect(draw(7)).not.toContain(2);
  });

  it("is greedy at temperature 0, first index winning ties", () => {
    expect(sampleToken([1, 5, 5, 2], 0, () => 0.99)).toBe(1);
    expect(argmax(new Float32Array([-1, -0.5, -3]))).toBe(1);
  });
});

describe("byte-level tokenizer", () => {
  it("encodes BOS + UTF-8 and decodes bytes, skipping specials and replacing invalid UTF-8", () => {
    expect(tokenizer.encodePrompt("é!")).toEqual([256, 0xc3, 0xa9, 33]);
    expect(tokenizer.decode([0xc3, 0xa9, 257, 258, 33])).toBe("é!");
    expect(tokenizer.decode([0xc3, 33])).toBe("\uFFFD!");
    expect(tokenizer.latent).toEqual({ begin: 258, end: 259 });
  });
});
