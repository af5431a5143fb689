import { describe, expect, it } from "vitest";
import { createByteLevelTokenizer } from "../src/inference/byte-tokenizer.js";
import { type ForwardResult, generateTokens } from "../src/inference/generation-loop.js";
import { argmax, createSeededRandom, sampleToken } from "../src/inference/sampling.js";

const tokenizer = createByteLevelTokenizer({
  type: "byte-level",
  vocab_size: 260,
  bos_token_id: 256,
  eos_token_id: 257,
});

/** A scripted "model": the next token after a sequence of length n is script[n - prompt length]. */
function scripted(promptLength: number, script: number[], halt: [number, number] = [0, 2]) {
  const seen: number[][] = [];
  const forward = async (ids: readonly number[], want: { logits: boolean; halt: boolean }): Promise<ForwardResult> => {
    seen.push([...ids]);
    const logits = new Float32Array(260).fill(-10);
    const next = script[ids.length - promptLength];
    if (want.logits && next !== undefined) logits[next] = 10;
    return { nextTokenLogits: logits, haltLogits: want.halt ? halt : null };
  };
  return { forward, seen };
}

/** No penalty and no stop strings: the loop as it was before those knobs. */
const plainSampling = { repetitionPenalty: 1, stopSequences: [], textTokenLimit: tokenizer.textTokenLimit };

describe("generateTokens", () => {
  it("stops at EOS with finish_reason eos and reads the halt head on the full sequence", async () => {
    const prompt = tokenizer.encodePrompt("hi");
    const model = scripted(prompt.length, [104, 105, 257, 33]);
    const output = await generateTokens({
      promptIds: prompt,
      maxNewTokens: 10,
      temperature: 0,
      seed: 1,
      eosTokenId: 257,
      ...plainSampling,
      readHaltHead: true,
      forward: model.forward,
    });
    expect(output).toEqual({ tokenIds: [104, 105, 257], finishReason: "eos", haltLogits: [0, 2] });
    // Three steps, then one pass over prompt + all generated tokens for the halt head.
    expect(model.seen.map((ids) => ids.length)).toEqual([3, 4, 5, 6]);
  });

  it("stops at max_new_tokens with finish_reason length and no halt pass when not asked", async () => {
    const prompt = tokenizer.encodePrompt("a");
    const model = scripted(prompt.length, [97, 98, 99, 100]);
    const output = await generateTokens({
      promptIds: prompt,
      maxNewTokens: 2,
      temperature: 0,
      seed: 1,
      eosTokenId: 257,
      ...plainSampling,
      readHaltHead: false,
      forward: model.forward,
    });
    expect(output).toEqual({ tokenIds: [97, 98], finishReason: "length", haltLogits: null });
    expect(model.seen).toHaveLength(2);
  });

  it("ends with finish_reason stop when the visible text ends with a stop string, which it cuts", async () => {
    const prompt = tokenizer.encodePrompt("a");
    // "x", "h", <bot>, "i", "!": the visible text reaches "xhi" even with a latent marker inside.
    const model = scripted(prompt.length, [120, 104, 258, 105, 33]);
    const output = await generateTokens({
      promptIds: prompt,
      maxNewTokens: 10,
      temperature: 0,
      seed: 1,
      eosTokenId: 257,
      readHaltHead: true,
      forward: model.forward,
      ...plainSampling,
      stopSequences: [tokenizer.encodeText("zz"), tokenizer.encodeText("hi")],
    });
    expect(output).toEqual({ tokenIds: [120], finishReason: "stop", haltLogits: [0, 2] });
    // The halt head judges the text without the stop string.
    expect(model.seen.at(-1)).toEqual([...prompt, 120]);
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
    expect(tokenizer.beginLatentTokenId).toBe(258);
  });
});
