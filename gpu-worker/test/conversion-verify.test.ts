/**
 * Verification of a converted format against its fp32 original, with seed 001's gates: a model
 * checked against itself agrees exactly, one with a damaged lm_head fails the must-pass
 * agreement gate, and a format that does not load or lost an output says which gate stopped it.
 */
import {
  type Artifact,
  type ConversionTarget,
  DEFAULT_FORMAT_THRESHOLDS,
  type ModelContract,
  type ModelVersion,
  VerificationReportSchema,
} from "@modelgate/shared";
import { describe, expect, it } from "vitest";
import { extractModelContract } from "../src/conversion/model-contract.js";
import { sha256Hex } from "../src/conversion/verification-gates.js";
import { formatGates, type VerifyFormatInput, verifyConvertedFormat } from "../src/conversion/verify-conversion.js";
import {
  makeTensor,
  parseModel,
  readTensorValues,
  serializeModel,
  tensorDims,
} from "../src/onnx/onnx-graph-builder.js";
import { createSeededRandom } from "../src/random/seeded-random.js";
import {
  type BuiltReferenceModel,
  buildReferenceDecoder,
  buildSpiralsClassifier,
} from "../src/reference-models/index.js";
import { modelVersionFor } from "./support/model-version.js";

const NOW = new Date("2026-02-01T00:00:00.000Z");
const refDecoder = buildReferenceDecoder();
const spirals = buildSpiralsClassifier();

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

function sourceContractOf(built: BuiltReferenceModel, shapes: number[]): ModelContract {
  const shapeValidation = Object.fromEntries(
    shapes.map((size) => [`T${size}`, { status: "ok" as const, sequence_length: size }]),
  );
  const extracted = extractModelContract(built.onnx, versionOf(built), "fp32", shapeValidation, shapes[0] ?? 1);
  if (!extracted.ok) throw new Error(extracted.error.message);
  return extracted.value.contract;
}

/** The fp32 model with seeded noise added to one weight initializer: a stand-in for a bad conversion. */
function withNoise(bytes: Uint8Array, initializer: string, scale: number): Uint8Array {
  const model = parseModel(bytes);
  const initializers = model.graph?.initializer ?? [];
  const index = initializers.findIndex((tensor) => tensor.name === initializer);
  const tensor = initializers[index];
  if (tensor === undefined) throw new Error(`no initializer ${initializer}`);
  const values = readTensorValues(tensor);
  if (!(values instanceof Float32Array)) throw new Error(`${initializer} is not float32`);
  const random = createSeededRandom(99);
  const noisy = Float32Array.from(values, (value) => value + scale * random.gaussian());
  initializers[index] = makeTensor(initializer, "float32", tensorDims(tensor), noisy);
  return serializeModel(model);
}

function verifyInput(
  built: BuiltReferenceModel,
  converted: Uint8Array,
  target: ConversionTarget,
  shapes: number[],
): VerifyFormatInput {
  return {
    source: versionOf(built),
    target,
    original: built.onnx,
    converted,
    sourceContract: sourceContractOf(built, shapes),
    shapes,
    primary: shapes[0] ?? 1,
    latencyRuns: 1,
    sessionOptions: { intraOpNumThreads: 1 },
    now: NOW,
  };
}

describe("verifyConvertedFormat", () => {
  it("finds ref-decoder identical to itself: agreement 1, difference 0, must-pass gates ok", async () => {
    const verified = await verifyConvertedFormat(verifyInput(refDecoder, refDecoder.onnx, "fp16", [64]));
    if (!verified.ok) throw new Error(verified.error.message);
    const { report } = verified.value;
    expect(VerificationReportSchema.parse(report)).toEqual(report);
    expect(report.metrics).toMatchObject({
      max_abs_diff: 0,
      top1_agreement: 1,
      halt_probability_max_diff: 0,
      size_ratio: 1,
      compared: 3 * 64,
    });
    expect(report.metrics.cosine_similarity).toBeCloseTo(1, 6);
    expect(report.inputs).toMatchObject({ seed: 6001, sequence_length: 64, samples: 3 });
    expect(report.gates_ok).toBe(true);
    expect(report.should_pass_ok).toBe(true);
    // A same-size "conversion" saves nothing: only the nice-to-have size gate fails.
    expect(report.gates.filter((gate) => !gate.passed).map((gate) => gate.name)).toEqual(["size_ratio"]);
    expect(report.shape_validation.T64?.status).toBe("ok");
    expect(verified.value.contract?.format).toBe("fp16");
    expect(verified.value.contract?.primary_ok).toBe(true);
  });

  it("fails the must-pass agreement gate for a copy with a perturbed lm_head", async () => {
    // Small next to the weights (rms 0.47): the logits stay close (cosine ≈ 0.999) but many arg-maxes move.
    const damaged = withNoise(refDecoder.onnx, "lm_head", 0.02);
    const verified = await verifyConvertedFormat(verifyInput(refDecoder, damaged, "int8", [64]));
    if (!verified.ok) throw new Error(verified.error.message);
    const { report } = verified.value;
    expect(report.metrics.top1_agreement).toBeLessThan(DEFAULT_FORMAT_THRESHOLDS.int8.min_top1_agreement);
    expect(report.metrics.max_abs_diff).toBeGreaterThan(1);
    expect(report.metrics.halt_probability_max_diff).toBe(0);
    expect(report.gates_ok).toBe(false);
    expect(report.must_pass_failed).toEqual(["top1_agreement"]);
    const agreement = report.gates.find((gate) => gate.name === "top1_agreement");
    expect(agreement).toMatchObject({ level: "must_pass", passed: false, threshold: 0.99, comparison: ">=" });
  });

  it("compares spirals row by row, and fails agreement for damaged weights", async () => {
    const self = await verifyConvertedFormat(verifyInput(spirals, spirals.onnx, "int4", [256]));
    expect(self.ok && self.value.report.metrics).toMatchObject({ compared: 256, top1_agreement: 1, max_abs_diff: 0 });
    expect(self.ok && self.value.report.gates_ok).toBe(true);

    const model = parseModel(spirals.onnx);
    const firstWeights = model.graph?.initializer?.find((tensor) => tensorDims(tensor).length === 2)?.name ?? "";
    const damaged = await verifyConvertedFormat(
      verifyInput(spirals, withNoise(spirals.onnx, firstWeights, 3), "int4", [256]),
    );
    if (!damaged.ok) throw new Error(damaged.error.message);
    expect(damaged.value.report.metrics.top1_agreement).toBeLessThan(0.95);
    expect(damaged.value.report.must_pass_failed).toContain("top1_agreement");
  });

  it("fails the outputs gate when the converted model lost its halt head", async () => {
    const noHalt = buildReferenceDecoder({ haltHead: false });
    const verified = await verifyConvertedFormat(verifyInput(refDecoder, noHalt.onnx, "fp16", [16]));
    if (!verified.ok) throw new Error(verified.error.message);
    const { report } = verified.value;
    expect(report.metrics.top1_agreement).toBe(1);
    // Without its halt head the halt probability cannot be compared: that must-pass gate fails too.
    expect(report.must_pass_failed).toEqual(["outputs_match_contract", "halt_probability_diff"]);
    expect(report.gates.find((gate) => gate.name === "halt_probability_diff")?.detail).toMatch(/not measured/);
    expect(verified.value.contract).toBeUndefined();
  });

  it("returns the gates, not a report, when the converted model does not load", async () => {
    const verified = await verifyConvertedFormat(verifyInput(spirals, new Uint8Array([8, 1, 2, 3]), "int8", [4]));
    expect(verified.ok).toBe(false);
    if (!verified.ok) {
      expect(verified.error.message).toMatch(/^the int8 model does not load/);
      expect(verified.error.gates.must_pass_failed).toEqual([
        "converted_model_loads",
        "outputs_match_contract",
        "primary_shape_ok",
        "top1_agreement",
      ]);
    }
  });
});

describe("formatGates", () => {
  it("fails every later gate as not measured when the conversion did not complete", () => {
    const gates = formatGates({
      target: "int4",
      thresholds: DEFAULT_FORMAT_THRESHOLDS.int4,
      sourceContract: sourceContractOf(refDecoder, [16]),
      primary: 16,
      conversion: { completed: false, error: "MatMulNBits needs a K divisible by the block size" },
    });
    expect(gates.gates_ok).toBe(false);
    expect(gates.must_pass_failed[0]).toBe("conversion_completed");
    expect(gates.gates.map((gate) => gate.name)).toEqual([
      "conversion_completed",
      "converted_model_loads",
      "outputs_match_contract",
      "primary_shape_ok",
      "top1_agreement",
      "cosine_similarity",
      "halt_probability_diff",
      "shapes_preserved",
      "size_ratio",
      "max_abs_diff",
    ]);
  });
});
