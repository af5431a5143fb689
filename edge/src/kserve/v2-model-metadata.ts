/**
 * A registered tensor version described in the Open Inference Protocol's terms: its io contract
 * as `$metadata_tensor`s (the contract read out of the ONNX file at registration), and the outputs
 * V2 infer returns for it: the model's own, plus a derived `predictions` for a classifier.
 */
import {
  classScoreOutput,
  type ModelRecord,
  type ModelVersion,
  type TensorSpec,
  v2DatatypeOf,
  v2ShapeOf,
} from "@modelgate/shared";
import type { V2MetadataTensor, V2ModelMetadata } from "./v2-schemas.js";

/** What the worker runs every artifact with, named the way Triton and KServe name it. */
export const V2_PLATFORM = "onnxruntime_onnx";

/** A classifier's most likely class per row, derived from its class scores (modelgate's addition). */
export const PREDICTIONS_OUTPUT = "predictions";

export function metadataTensor(spec: TensorSpec): V2MetadataTensor {
  return { name: spec.name, datatype: v2DatatypeOf(spec.dtype), shape: v2ShapeOf(spec.shape) };
}

/**
 * The class-score output a derived `predictions` is computed from: set for a classifier (see
 * `classScoreOutput`) whose contract has no output of that name already.
 */
export function predictionsSource(version: Pick<ModelVersion, "io">): TensorSpec | undefined {
  if (version.io.outputs.some((output) => output.name === PREDICTIONS_OUTPUT)) return undefined;
  return classScoreOutput(version.io);
}

/** Every output V2 infer can return: the contract's, then `predictions` (INT64 `[-1]`) for a classifier. */
export function v2Outputs(version: Pick<ModelVersion, "io">): V2MetadataTensor[] {
  const outputs = version.io.outputs.map(metadataTensor);
  if (predictionsSource(version)) outputs.push({ name: PREDICTIONS_OUTPUT, datatype: "INT64", shape: [-1] });
  return outputs;
}

/**
 * `$metadata_model_response`: inputs straight from the io contract, outputs as V2 infer returns
 * them, and every tensor version of the model as a version that may be requested explicitly.
 */
export function v2ModelMetadata(record: Pick<ModelRecord, "versions">, version: ModelVersion): V2ModelMetadata {
  return {
    name: version.name,
    versions: tensorVersions(record),
    platform: V2_PLATFORM,
    inputs: version.io.inputs.map(metadataTensor),
    outputs: v2Outputs(version),
  };
}

export function tensorVersions(record: Pick<ModelRecord, "versions">): string[] {
  return record.versions
    .filter((candidate) => candidate.kind === "tensor")
    .map((candidate) => candidate.version)
    .sort((a, b) => a - b)
    .map(String);
}
