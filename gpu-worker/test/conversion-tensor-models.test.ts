/**
 * Conversion and verification of tensor models beyond spirals: several inputs, non-float inputs
 * (uint8 pixels, an int64 index), Conv layers (int8 per output channel) and a stateful cell. The
 * gates compare every output: cosine and max |diff| each, top-1 on the class scores and integer
 * outputs, and a model with neither is held to its cosine similarity instead.
 */
import type { Artifact, ConversionTarget, ModelContract, ModelVersion } from "@modelgate/shared";
import { describe, expect, it } from "vitest";
import { convertModel } from "../src/conversion/convert-model.js";
import { extractModelContract } from "../src/conversion/model-contract.js";
import { sha256Hex, verifySourceModel } from "../src/conversion/verification-gates.js";
import { verifyConvertedFormat } from "../src/conversion/verify-conversion.js";
import { parseModel, readTensorValues, tensorDims, toNumber } from "../src/onnx/onnx-graph-builder.js";
import {
  type BuiltReferenceModel,
  buildImageClassifier,
  buildMixedInputRanker,
  buildStatefulCell,
} from "../src/reference-models/index.js";
import { modelVersionFor } from "./support/model-version.js";

const NOW = new Date("2026-02-01T00:00:00.000Z");
const SHAPES = [1, 64];

function versionOf(built: BuiltReferenceModel): ModelVersion {
  const sha256 = sha256Hex(built.onnx);
  const artifact: Artifact = {
    uri: `s3://models/artifacts/sha256/${sha256}`,
    sha256,
    bytes: built.onnx.byteLength,
    format: "onnx",
  };
  return modelVersionFor(built, artifact);
}

async function sourceContract(built: BuiltReferenceModel): Promise<ModelContract> {
  const checked = await verifySourceModel({
    source: versionOf(built),
    bytes: built.onnx,
    shapes: SHAPES,
    primary: 1,
    now: NOW,
  });
  expect(checked.report.gates_ok, JSON.stringify(checked.report.gates)).toBe(true);
  if (!checked.contract) throw new Error("no contract");
  return checked.contract;
}

async function verify(built: BuiltReferenceModel, target: ConversionTarget, converted?: Uint8Array) {
  const bytes =
    converted ??
    (() => {
      const outcome = convertModel(built.onnx, target);
      if (!outcome.ok) throw new Error(outcome.reason);
      return outcome.bytes;
    })();
  const verified = await verifyConvertedFormat({
    source: versionOf(built),
    target,
    original: built.onnx,
    converted: bytes,
    sourceContract: await sourceContract(built),
    shapes: SHAPES,
    primary: 1,
    latencyRuns: 1,
    now: NOW,
  });
  if (!verified.ok) throw new Error(verified.error.message);
  return { report: verified.value.report, bytes };
}

const MODELS = [
  buildImageClassifier({ pixels: "uint8" }),
  buildImageClassifier(),
  buildMixedInputRanker(),
  buildStatefulCell(),
];
const DECISIONS: Record<string, string[]> = {
  "tiny-convnet-u8": ["logits"],
  "tiny-convnet": ["logits"],
  "mixed-ranker": ["best"],
  "state-cell": [],
};

describe("fp16 and int8 of tensor models", () => {
  it.each(MODELS.flatMap((built) => (["fp16", "int8"] as const).map((target) => [built.name, target, built] as const)))(
    "%s → %s passes its must-pass gates, every output compared",
    async (name, target, built) => {
      const { report, bytes } = await verify(built, target);
      expect(report.must_pass_failed, JSON.stringify(report.gates)).toEqual([]);
      expect(Object.keys(report.metrics.outputs ?? {}).sort()).toEqual(
        built.registration.io.outputs.map((o) => o.name).sort(),
      );
      expect(report.metrics.top1_outputs).toEqual(DECISIONS[name]);
      expect(report.metrics.top1_agreement).toBeGreaterThanOrEqual(target === "fp16" ? 0.999 : 0.99);
      expect(report.metrics.cosine_similarity).toBeGreaterThan(0.999);
      // The converted model keeps the original's inputs, outputs and their datatypes.
      const contract = extractModelContract(bytes, versionOf(built), target, {}, 1);
      if (!contract.ok) throw new Error(contract.error.message);
      expect({ inputs: contract.value.contract.inputs, outputs: contract.value.contract.outputs }).toEqual(
        built.registration.io,
      );
    },
  );

  it("stores Conv weights as int8 with one scale per output channel, dequantized on axis 0", () => {
    const built = buildImageClassifier({ pixels: "uint8" });
    const outcome = convertModel(built.onnx, "int8");
    if (!outcome.ok) throw new Error(outcome.reason);
    const graph = parseModel(outcome.bytes).graph;
    const dequantize = (graph?.node ?? []).filter((node) => node.opType === "DequantizeLinear");
    expect(
      dequantize.map((node) => [node.output?.[0], toNumber(node.attribute?.find((a) => a.name === "axis")?.i)]),
    ).toEqual([
      ["conv1.weight", 0],
      ["conv2.weight", 0],
    ]);
    const initializer = (name: string) => graph?.initializer?.find((tensor) => tensor.name === name);
    expect(tensorDims(initializer("conv1.weight_int8") ?? {})).toEqual([8, 3, 3, 3]);
    expect(tensorDims(initializer("conv2.weight_int8") ?? {})).toEqual([8, 8, 3, 3]);
    expect(readTensorValues(initializer("conv1.weight_scale") ?? {}).length).toBe(8);
    // The 8x3 head has too few values per channel to be worth a scale each: it stays float32.
    expect(initializer("head.weight")).toBeDefined();
    expect(outcome.stats.sizeRatio).toBeLessThan(0.6);
  });

  it("holds a model without a decision output to its cosine similarity, which a damaged output fails", async () => {
    const cell = buildStatefulCell();
    const good = await verify(cell, "int8");
    const top1 = good.report.gates.find((gate) => gate.name === "top1_agreement");
    expect(top1).toMatchObject({ passed: true, detail: expect.stringContaining("not applicable") });
    expect(good.report.gates.find((gate) => gate.name === "cosine_similarity")).toMatchObject({
      level: "must_pass",
      passed: true,
    });
    // Another cell's weights: same contract, different outputs.
    const other = buildStatefulCell(99);
    const bad = await verify(cell, "int8", other.onnx);
    expect(bad.report.must_pass_failed).toEqual(["cosine_similarity"]);
    expect(bad.report.metrics.outputs?.state_out?.cosine_similarity).toBeLessThan(0.9);
  });
});
