/**
 * Every conversion target on every reference model, run in onnxruntime-node's CPU provider
 * against the float32 original. The reference decoder's lm_head is a bigram table with many
 * near-ties (tokens seen equally often), so top-1 flips are expected exactly where the float32
 * top two are closer than the quantization error; the tests check both the agreement rate and
 * that every flip is such a near-tie. Figures observed (ORT 1.30, x64) are in the comments.
 */
import { createHash } from "node:crypto";
import * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { type ConversionTarget, convertModel } from "../src/conversion/convert-model.js";
import {
  type BuiltReferenceDecoder,
  type BuiltSpiralsClassifier,
  buildDemoLm,
  buildReferenceDecoder,
  buildReferenceDecoderTokenizer,
  buildSpiralsClassifier,
  DEMO_LM_CORPUS,
  REFERENCE_DECODER_LATENT_PROMPT,
} from "../src/reference-models/index.js";
import { REFERENCE_DECODER_CORPUS } from "../src/reference-models/reference-decoder-weights.js";
import {
  argmax,
  type ForwardOutput,
  floatData,
  maxAbsDifference,
  ReferenceDecoderRunner,
} from "./reference-models/reference-decoder-runner.js";

interface DecoderExpectations {
  maxSizeRatio: number;
  maxLogitDiff: number;
  minTop1Agreement: number;
  /** Largest float32 top-1/top-2 logit margin at which a flip is still acceptable. */
  maxFlipMargin: number;
  maxHaltDiff: number;
}

// The output projection (lm_head, and the 512x2 halt head) stays float32 in fp16 and is float16 in
// int8 and int4 (see weight-candidates.ts). On ref-decoder the 512x512 lm_head is a fifth of the
// file, so the size ratios are above the project's targets (fp16 0.55, int8 0.30, int4 0.20);
// those are checked on ref-decoder-large, where it is 2 % (conversion-reference-decoder-large.test.ts).
// Observed: fp16 ratio 0.6013, diff 0.0145, agreement 1.0, halt 0.0010;
// int8 ratio 0.3063, diff 0.095, agreement 0.9802, flips at margins < 0.05, halt 0.0066;
// int4 ratio 0.2506, diff 0.585, agreement 0.9626, flips at margins < 0.05, halt 0.073.
// (Before: fp16 0.986, int8 0.893, int4 0.833 with every weight at the target precision.)
const DECODER: Record<ConversionTarget, DecoderExpectations> = {
  fp16: { maxSizeRatio: 0.62, maxLogitDiff: 0.05, minTop1Agreement: 0.999, maxFlipMargin: 0.01, maxHaltDiff: 0.01 },
  int8: { maxSizeRatio: 0.32, maxLogitDiff: 0.2, minTop1Agreement: 0.97, maxFlipMargin: 0.06, maxHaltDiff: 0.02 },
  int4: { maxSizeRatio: 0.27, maxLogitDiff: 0.8, minTop1Agreement: 0.95, maxFlipMargin: 0.08, maxHaltDiff: 0.15 },
};
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const TARGETS: readonly ConversionTarget[] = ["fp16", "int8", "int4"];

function converted(bytes: Uint8Array, target: ConversionTarget) {
  const outcome = convertModel(bytes, target);
  if (!outcome.ok) throw new Error(`conversion to ${target} failed: ${outcome.reason}`);
  return outcome;
}

async function expectSameContract(original: ort.InferenceSession, bytes: Uint8Array): Promise<ort.InferenceSession> {
  const session = await ort.InferenceSession.create(bytes);
  expect(session.inputNames).toEqual(original.inputNames);
  expect(session.outputNames).toEqual(original.outputNames);
  return session;
}

describe("conversions of ref-decoder", () => {
  let model: BuiltReferenceDecoder;
  let original: ReferenceDecoderRunner;
  let sequences: number[][];
  let originalOutputs: ForwardOutput[];

  beforeAll(async () => {
    model = buildReferenceDecoder();
    original = await ReferenceDecoderRunner.create(model.onnx, model.spec);
    const tokenizer = buildReferenceDecoderTokenizer();
    // Teacher-forced over the whole corpus: 909 next-token predictions.
    sequences = REFERENCE_DECODER_CORPUS.map((paragraph) => [
      model.spec.bosTokenId,
      ...tokenizer.tokenizer.encode(paragraph, { add_special_tokens: false }).ids,
    ]);
    originalOutputs = [];
    for (const sequence of sequences) originalOutputs.push(await original.forwardFull(sequence));
  });

  describe.each(TARGETS)("%s", (target) => {
    const expected = DECODER[target];
    let outcome: ReturnType<typeof converted>;
    let runner: ReferenceDecoderRunner;

    beforeAll(async () => {
      outcome = converted(model.onnx, target);
      const session = await expectSameContract(original.session, outcome.bytes);
      runner = new ReferenceDecoderRunner(session, model.spec);
    });

    it("meets its size target and reports what it did", () => {
      const { stats } = outcome;
      expect(stats.target).toBe(target);
      expect(stats.inputBytes).toBe(model.onnx.byteLength);
      expect(stats.outputBytes).toBe(outcome.bytes.byteLength);
      expect(stats.sizeRatio).toBeLessThanOrEqual(expected.maxSizeRatio);
      expect(stats.convertedInitializers).toBeGreaterThan(0);
      // Every matrix weight was converted; in fp16 the output projections compute in float32.
      expect(stats.keptFp32Ops).toEqual(
        target === "fp16" ? expect.arrayContaining(["Softmax", "ReduceMean", "MatMul"]) : [],
      );
    });

    it("keeps float32 outputs, close to the original, with top-1 flips only at near-ties", async () => {
      let agreements = 0;
      let predictions = 0;
      let worstLogits = 0;
      let worstHalt = 0;
      for (const [index, sequence] of sequences.entries()) {
        const reference = originalOutputs[index];
        if (!reference) throw new Error("missing reference output");
        const output = await runner.forwardFull(sequence);
        for (const tensor of Object.values(output.outputs)) expect(tensor.type).toBe("float32");
        worstLogits = Math.max(worstLogits, maxAbsDifference(reference.logits, output.logits));
        worstHalt = Math.max(
          worstHalt,
          maxAbsDifference(floatData(reference.outputs.halt_logits), output.halt ?? new Float32Array()),
        );
        for (let position = 0; position < sequence.length; position++) {
          const expectedRow = original.logitsAt(reference, 0, position);
          const best = argmax(expectedRow);
          const chosen = argmax(runner.logitsAt(output, 0, position));
          predictions += 1;
          if (best === chosen) agreements += 1;
          else expect((expectedRow[best] ?? 0) - (expectedRow[chosen] ?? 0)).toBeLessThan(expected.maxFlipMargin);
        }
      }
      expect(predictions).toBe(909);
      expect(agreements / predictions).toBeGreaterThanOrEqual(expected.minTop1Agreement);
      expect(worstLogits).toBeLessThan(expected.maxLogitDiff);
      expect(worstHalt).toBeLessThan(expected.maxHaltDiff);
    });

    it("decodes with its KV cache exactly as it does by full recompute", async () => {
      const prompt = buildReferenceDecoderTokenizer().tokenizer.encode(REFERENCE_DECODER_LATENT_PROMPT).ids;
      const incremental = await runner.greedyIncremental(prompt, 12);
      const full = await runner.greedyFullRecompute(prompt, 12);
      expect(incremental.ids).toEqual(full.ids);
      if (target === "fp16") expect(incremental.ids).toEqual((await original.greedyIncremental(prompt, 12)).ids);
    });

    it("is deterministic: the same input converts to the same bytes", () => {
      // Compared by hash: a byte-wise toEqual diff of megabytes takes seconds.
      expect(sha256(converted(model.onnx, target).bytes)).toBe(sha256(outcome.bytes));
    });
  });
});

describe("conversions of demo-lm", () => {
  const model = buildDemoLm();
  const text = DEMO_LM_CORPUS.join(" ").slice(0, 400);
  const ids = new ort.Tensor(
    "int64",
    BigInt64Array.from(text, (char) => BigInt(char.charCodeAt(0))),
    [1, text.length],
  );
  let original: ort.InferenceSession;
  let originalOutputs: ort.InferenceSession.OnnxValueMapType;

  beforeAll(async () => {
    original = await ort.InferenceSession.create(model.onnx);
    originalOutputs = await original.run({ input_ids: ids });
  });

  // Observed: fp16 ratio 0.50, logits diff 0.0039; int8 and int4 ratio 0.26 (its one weight is a
  // Gather table: int8 per row in both), logits diff 0.118; halt logits exact (its table is 260x2,
  // too narrow to quantize, so it stays float32 in int8/int4).
  it.each([
    ["fp16", 0.55, 0.01],
    ["int8", 0.3, 0.2],
    ["int4", 0.3, 0.2],
  ] as const)("%s loads, keeps its contract and stays close", async (target, maxRatio, maxDiff) => {
    const outcome = converted(model.onnx, target);
    expect(outcome.stats.sizeRatio).toBeLessThanOrEqual(maxRatio);
    const session = await expectSameContract(original, outcome.bytes);
    const outputs = await session.run({ input_ids: ids });
    for (const name of original.outputNames) expect(outputs[name]?.type).toBe("float32");
    expect(maxAbsDifference(floatData(originalOutputs.logits), floatData(outputs.logits))).toBeLessThan(maxDiff);
    expect(maxAbsDifference(floatData(originalOutputs.halt_logits), floatData(outputs.halt_logits))).toBeLessThan(0.01);
    const vocab = 260;
    let agreements = 0;
    for (let position = 0; position < text.length; position++) {
      const row = (data: Float32Array) => data.subarray(position * vocab, (position + 1) * vocab);
      if (argmax(row(floatData(originalOutputs.logits))) === argmax(row(floatData(outputs.logits)))) agreements += 1;
    }
    // Observed 1.0 (fp16) and 0.96 (int8, int4): byte bigram rows have near-ties too.
    expect(agreements / text.length).toBeGreaterThanOrEqual(0.9);
  });
});

describe("conversions of spirals", () => {
  let model: BuiltSpiralsClassifier;
  let original: ort.InferenceSession;
  let features: ort.Tensor;
  let originalProbabilities: Float32Array;

  beforeAll(async () => {
    model = buildSpiralsClassifier();
    original = await ort.InferenceSession.create(model.onnx);
    const { validation } = model.dataset;
    features = new ort.Tensor("float32", Float32Array.from(validation.features), [validation.count, 2]);
    originalProbabilities = floatData((await original.run({ features })).probabilities);
  });

  const predictions = (probabilities: Float32Array) =>
    Array.from({ length: probabilities.length / 2 }, (_, n) =>
      (probabilities[n * 2 + 1] ?? 0) > (probabilities[n * 2] ?? 0) ? 1 : 0,
    );

  // A 5 KB model: protobuf framing and the 2x32 first layer (K = 2, too short to quantize) weigh
  // more than the weights saved, so only fp16 reaches its usual ratio. Observed: fp16 0.59, int8
  // 0.50, int4 0.46; probability diffs 0.0005, 0.015, 0.13; every validation class unchanged and
  // validation accuracy 0.992 in all four.
  it.each([
    ["fp16", 0.01, 1],
    ["int8", 0.05, 0.98],
    ["int4", 0.3, 0.95],
  ] as const)("%s loads, keeps its contract and mostly the same classes", async (target, maxDiff, minAgreement) => {
    const outcome = converted(model.onnx, target);
    expect(outcome.stats.sizeRatio).toBeLessThan(0.65);
    const session = await expectSameContract(original, outcome.bytes);
    const probabilities = floatData((await session.run({ features })).probabilities);
    expect(maxAbsDifference(originalProbabilities, probabilities)).toBeLessThan(maxDiff);
    const before = predictions(originalProbabilities);
    const after = predictions(probabilities);
    const agreement = before.filter((label, n) => label === after[n]).length / before.length;
    expect(agreement).toBeGreaterThanOrEqual(minAgreement);
    const { labels } = model.dataset.validation;
    const accuracy = after.filter((label, n) => label === labels[n]).length / labels.length;
    expect(accuracy).toBeGreaterThanOrEqual((model.registration.metrics.val_acc ?? 1) - 0.02);
  });
});
