import { createHash } from "node:crypto";
import { haltProbability } from "@modelgate/shared";
import * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { createSeededRandom } from "../../src/random/seeded-random.js";
import {
  buildDemoLm,
  DEMO_LM_BOS_TOKEN_ID,
  DEMO_LM_EOS_TOKEN_ID,
  DEMO_LM_VOCAB_SIZE,
} from "../../src/reference-models/index.js";

const VOCAB = DEMO_LM_VOCAB_SIZE;

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

function idsTensor(ids: readonly number[]): ort.Tensor {
  return new ort.Tensor("int64", BigInt64Array.from(ids.map((id) => BigInt(id))), [1, ids.length]);
}

function floats(tensor: ort.Tensor | undefined): Float32Array {
  if (!tensor || !(tensor.data instanceof Float32Array)) throw new Error("expected a float32 tensor");
  return tensor.data;
}

function lastRow(logits: Float32Array, length: number): Float32Array {
  return logits.subarray((length - 1) * VOCAB, length * VOCAB);
}

function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if ((values[i] ?? 0) > (values[best] ?? 0)) best = i;
  return best;
}

function isPrintableAscii(id: number): boolean {
  return id >= 0x20 && id <= 0x7e;
}

const bytesOf = (text: string): number[] => [...new TextEncoder().encode(text)];

describe("demo-lm", () => {
  let session: ort.InferenceSession;

  beforeAll(async () => {
    session = await ort.InferenceSession.create(buildDemoLm().onnx);
  });

  async function step(ids: readonly number[]): Promise<{ logits: Float32Array; halt: Float32Array }> {
    const result = await session.run({ input_ids: idsTensor(ids) });
    return { logits: floats(result.logits), halt: floats(result.halt_logits) };
  }

  async function greedy(prompt: string, tokens: number): Promise<number[]> {
    const ids = bytesOf(prompt);
    const generated: number[] = [];
    for (let i = 0; i < tokens; i++) {
      const next = argmax(lastRow((await step(ids)).logits, ids.length));
      ids.push(next);
      generated.push(next);
    }
    return generated;
  }

  it("builds byte-identical models", () => {
    // Hashes rather than toEqual: a deep compare of 270 KB element by element takes seconds.
    const withHalt = sha256(buildDemoLm().onnx);
    const withoutHalt = sha256(buildDemoLm({ haltHead: false }).onnx);
    expect(sha256(buildDemoLm().onnx)).toBe(withHalt);
    expect(sha256(buildDemoLm({ haltHead: false }).onnx)).toBe(withoutHalt);
    expect(withoutHalt).not.toBe(withHalt);
  });

  it("declares the io contract it registers", () => {
    expect(session.inputNames).toEqual(["input_ids"]);
    expect(session.outputNames).toEqual(["logits", "halt_logits"]);
    const { io } = buildDemoLm().registration;
    expect(io.inputs.map((t) => t.name)).toEqual(session.inputNames);
    expect(io.outputs.map((t) => t.name)).toEqual(session.outputNames);
  });

  it("returns logits [1, T, 260] and halt_logits [1, 2]", async () => {
    for (const prompt of ["h", "hello there"]) {
      const result = await session.run({ input_ids: idsTensor(bytesOf(prompt)) });
      expect(result.logits?.dims).toEqual([1, prompt.length, VOCAB]);
      expect(result.halt_logits?.dims).toEqual([1, 2]);
      expect(floats(result.logits).every(Number.isFinite)).toBe(true);
    }
  });

  it("gives each position its own next-token distribution (a proper causal LM)", async () => {
    const { logits } = await step(bytesOf("ab"));
    const first = logits.subarray(0, VOCAB);
    const second = logits.subarray(VOCAB, 2 * VOCAB);
    expect(first).not.toEqual(second);
    // Position 0 sees only "a", so it must match the logits of the one-token prompt "a".
    expect(first).toEqual(lastRow((await step(bytesOf("a"))).logits, 1));
  });

  it("only gives real probability to printable ASCII", async () => {
    const row = lastRow((await step([DEMO_LM_BOS_TOKEN_ID, ...bytesOf("the model")])).logits, 10);
    let printableMass = 0;
    let total = 0;
    for (let id = 0; id < VOCAB; id++) {
      const p = Math.exp(row[id] ?? Number.NEGATIVE_INFINITY);
      total += p;
      if (isPrintableAscii(id)) printableMass += p;
    }
    // The table is log-probabilities rounded to float32, so the row sums to 1 only approximately.
    expect(total).toBeCloseTo(1, 4);
    expect(printableMass / total).toBeGreaterThan(1 - 1e-9);
    expect(row[DEMO_LM_EOS_TOKEN_ID]).toBeLessThanOrEqual(-30);
    expect(row[0x0a]).toBeLessThanOrEqual(-30);
    expect(row[0xc3]).toBeLessThanOrEqual(-30);
  });

  it("greedy-decodes printable words from 'hello'", async () => {
    const generated = await greedy("hello", 16);
    expect(generated).toHaveLength(16);
    expect(generated.every(isPrintableAscii)).toBe(true);
    const text = String.fromCharCode(...generated);
    expect(text).toMatch(/^[a-z ]+$/);
    // Not stuck repeating a single character.
    expect(new Set(text).size).toBeGreaterThan(2);
    expect(text).toContain(" ");
  });

  it("samples printable ASCII at temperature 1 and never EOS", async () => {
    const random = createSeededRandom(1234);
    const ids = [DEMO_LM_BOS_TOKEN_ID];
    for (let i = 0; i < 200; i++) {
      const row = lastRow((await step(ids)).logits, ids.length);
      const weights = Array.from(row, (logit) => Math.exp(logit));
      let r = random.next() * weights.reduce((a, b) => a + b, 0);
      let next = weights.length - 1;
      for (let id = 0; id < weights.length; id++) {
        r -= weights[id] ?? 0;
        if (r < 0) {
          next = id;
          break;
        }
      }
      ids.push(next);
    }
    const sampled = ids.slice(1);
    expect(sampled.every(isPrintableAscii)).toBe(true);
    // Mostly letters and spaces, like the corpus.
    const lettersAndSpaces = sampled.filter((id) => /[a-z ]/i.test(String.fromCharCode(id))).length;
    expect(lettersAndSpaces / sampled.length).toBeGreaterThan(0.8);
  });

  it("halts after a sentence end and continues otherwise", async () => {
    const afterPeriod = haltProbability([...(await step(bytesOf("It works."))).halt]);
    const afterQuestion = haltProbability([...(await step(bytesOf("Does it?"))).halt]);
    const midSentence = haltProbability([...(await step(bytesOf("It works"))).halt]);
    const afterComma = haltProbability([...(await step(bytesOf("It works,"))).halt]);
    for (const p of [afterPeriod, afterQuestion, midSentence, afterComma]) {
      expect(p).toBeGreaterThan(0);
      expect(p).toBeLessThan(1);
    }
    expect(afterPeriod).toBeGreaterThan(0.9);
    expect(afterQuestion).toBeGreaterThan(0.9);
    expect(midSentence).toBeLessThan(0.1);
    expect(afterComma).toBeGreaterThan(midSentence);
    expect(afterComma).toBeLessThan(afterPeriod);
  });

  it("leaves out halt_logits when the halt head is disabled", async () => {
    const built = buildDemoLm({ haltHead: false });
    const plain = await ort.InferenceSession.create(built.onnx);
    expect(plain.outputNames).toEqual(["logits"]);
    expect(built.registration.io.outputs.map((t) => t.name)).toEqual(["logits"]);
    expect(built.registration.runtime_config?.halt_head_enabled).toBe(false);
    const result = await plain.run({ input_ids: idsTensor(bytesOf("hello")) });
    expect(result.halt_logits).toBeUndefined();
    // Same language model either way.
    expect(floats(result.logits)).toEqual((await step(bytesOf("hello"))).logits);
  });

  it("reports a measured perplexity well below the uniform model's", () => {
    const { metrics } = buildDemoLm().registration;
    const perplexity = metrics.perplexity ?? Number.NaN;
    // Uniform over 95 printable bytes would be 95; a unigram model of English text is around 20–30.
    expect(perplexity).toBeGreaterThan(1);
    expect(perplexity).toBeLessThan(15);
  });
});
