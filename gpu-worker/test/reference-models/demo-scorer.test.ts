import { createHash } from "node:crypto";
import { RegisterVersionRequestSchema } from "@modelgate/shared";
import * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import {
  buildDemoScorer,
  DEMO_SCORER_EXAMPLES,
  demoScorerIds,
  demoScorerReferenceScore,
} from "../../src/reference-models/demo-scorer.js";

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

describe("demo-scorer", () => {
  let session: ort.InferenceSession;

  beforeAll(async () => {
    session = await ort.InferenceSession.create(buildDemoScorer().onnx);
  });

  async function score(text: string): Promise<{ value: number; dims: readonly number[] }> {
    const ids = demoScorerIds(text);
    const input = new ort.Tensor("int64", BigInt64Array.from(ids.map((id) => BigInt(id))), [1, ids.length]);
    const output = (await session.run({ input_ids: input })).score;
    if (!output || !(output.data instanceof Float32Array)) throw new Error("expected a float32 score");
    const value = output.data[0];
    if (value === undefined) throw new Error("empty score");
    return { value, dims: output.dims };
  }

  it("builds byte-identical models", () => {
    expect(sha256(buildDemoScorer().onnx)).toBe(sha256(buildDemoScorer().onnx));
  });

  it("declares the io contract it registers, and the registration is valid", () => {
    const { registration } = buildDemoScorer();
    expect(session.inputNames).toEqual(registration.io.inputs.map((tensor) => tensor.name));
    expect(session.outputNames).toEqual(registration.io.outputs.map((tensor) => tensor.name));
    expect(registration.kind).toBe("scorer");
    const artifact = { uri: "s3://models/demo-scorer.onnx", sha256: "0".repeat(64), bytes: 1, format: "onnx" };
    const parsed = RegisterVersionRequestSchema.safeParse({ ...registration, artifact });
    expect(parsed.error?.issues ?? []).toEqual([]);
  });

  it("returns one score in [0, 1] of shape [1, 1], whatever the input", async () => {
    for (const text of ["", "{", "héllo wörld \u{1F600}", "x".repeat(5000), '{"a": [1, 2, {"b": null}]}']) {
      const { value, dims } = await score(text);
      expect(dims).toEqual([1, 1]);
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThanOrEqual(1);
    }
  });

  it("scores JSON-looking text above prose", async () => {
    const json = await score('{"name": "Ada", "age": 36}');
    const prose = await score("Her name is Ada and she is thirty-six years old.");
    expect(json.value).toBeGreaterThan(0.7);
    expect(prose.value).toBeLessThan(0.3);
  });

  it("computes what its documented formula says", async () => {
    for (const { text } of DEMO_SCORER_EXAMPLES) {
      expect((await score(text)).value).toBeCloseTo(demoScorerReferenceScore(demoScorerIds(text)), 5);
    }
  });

  it("registers metrics measured on its examples", () => {
    const { metrics } = buildDemoScorer().registration;
    expect(metrics.pairwise_accuracy).toBe(1);
    expect(metrics.json_mean_score).toBeGreaterThan(metrics.prose_mean_score ?? 1);
  });
});
