import * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type BuiltSpiralsClassifier,
  buildSpiralsClassifier,
  generateSpiralsDataset,
  SPIRALS_DEFAULT_SEED,
} from "../../src/reference-models/index.js";

describe("spirals", () => {
  let built: BuiltSpiralsClassifier;
  let session: ort.InferenceSession;

  beforeAll(async () => {
    built = buildSpiralsClassifier();
    session = await ort.InferenceSession.create(built.onnx);
  });

  async function classify(features: Float32Array, count: number): Promise<Float32Array> {
    const result = await session.run({ features: new ort.Tensor("float32", features, [count, 2]) });
    expect(result.probabilities?.dims).toEqual([count, 2]);
    const data = result.probabilities?.data;
    if (!(data instanceof Float32Array)) throw new Error("expected float32 probabilities");
    return data;
  }

  function accuracy(probabilities: Float32Array, labels: Uint8Array): number {
    let correct = 0;
    labels.forEach((label, n) => {
      const predicted = (probabilities[n * 2 + 1] ?? 0) > (probabilities[n * 2] ?? 0) ? 1 : 0;
      if (predicted === label) correct += 1;
    });
    return correct / labels.length;
  }

  it("builds byte-identical models for the same seed and different ones for another seed", () => {
    const again = buildSpiralsClassifier({ seed: SPIRALS_DEFAULT_SEED });
    expect(again.onnx).toEqual(built.onnx);
    expect(again.registration).toEqual(built.registration);
    expect(buildSpiralsClassifier({ seed: 7 }).onnx).not.toEqual(built.onnx);
  });

  it("generates a balanced, reproducible two-spirals dataset in [-1, 1]", () => {
    const dataset = generateSpiralsDataset();
    expect(dataset).toEqual(built.dataset);
    const { train, validation } = dataset;
    expect(train.count + validation.count).toBe(512);
    expect(validation.count).toBeGreaterThanOrEqual(100);
    for (const points of [train, validation]) {
      expect(points.features).toHaveLength(points.count * 2);
      expect(points.features.every((v) => Math.abs(v) < 1.2)).toBe(true);
      const ones = points.labels.reduce((a, b) => a + b, 0);
      expect(ones / points.count).toBeGreaterThan(0.35);
      expect(ones / points.count).toBeLessThan(0.65);
    }
  });

  it("is not linearly easy: a linear boundary through the origin gets about half right", () => {
    const { features, labels, count } = built.dataset.validation;
    // Best of a sweep of directions: a spiral pair defeats every one of them.
    let best = 0;
    for (let k = 0; k < 36; k++) {
      const angle = (k * Math.PI) / 36;
      let correct = 0;
      for (let n = 0; n < count; n++) {
        const side = Math.cos(angle) * (features[n * 2] ?? 0) + Math.sin(angle) * (features[n * 2 + 1] ?? 0) > 0;
        if ((side ? 1 : 0) === labels[n]) correct += 1;
      }
      best = Math.max(best, correct / count, 1 - correct / count);
    }
    expect(best).toBeLessThan(0.75);
  });

  it("reaches at least 90% validation accuracy through ONNX Runtime, matching the registered val_acc", async () => {
    const { features, labels, count } = built.dataset.validation;
    const measured = accuracy(await classify(features, count), labels);
    expect(measured).toBeGreaterThanOrEqual(0.9);
    const registered = built.registration.metrics.val_acc ?? Number.NaN;
    expect(Math.abs(measured - registered)).toBeLessThanOrEqual(0.005);
  });

  it("outputs probability rows that sum to 1", async () => {
    const { features, count } = built.dataset.train;
    const probabilities = await classify(features, count);
    for (let n = 0; n < count; n++) {
      const p0 = probabilities[n * 2] ?? Number.NaN;
      const p1 = probabilities[n * 2 + 1] ?? Number.NaN;
      expect(p0).toBeGreaterThanOrEqual(0);
      expect(p1).toBeGreaterThanOrEqual(0);
      expect(p0 + p1).toBeCloseTo(1, 5);
    }
  });

  it("accepts any batch size, including one", async () => {
    const single = await classify(Float32Array.of(0.5, 0.5), 1);
    expect(single).toHaveLength(2);
  });

  it("registers as a tensor classifier with its measured metrics and no timing", () => {
    const { registration } = built;
    expect(registration.kind).toBe("tensor");
    expect(registration.categories).toEqual(["classification"]);
    expect(registration.io.inputs).toEqual([{ name: "features", dtype: "float32", shape: ["batch", 2] }]);
    expect(registration.io.outputs).toEqual([{ name: "probabilities", dtype: "float32", shape: ["batch", 2] }]);
    expect(Object.keys(registration.metrics).sort()).toEqual(
      ["epochs", "seed", "train_acc", "train_loss", "val_acc", "val_loss"].sort(),
    );
    expect(built.trainingMs).toBeGreaterThan(0);
  });
});
