/**
 * A registered tensor version described in the Open Inference Protocol's terms: its io contract
 * as `$metadata_tensor`s, and the outputs V2 infer returns for it.
 */
import type { ModelRecord, ModelVersion, TensorDtype, TensorSpec } from "@modelgate/shared";
import type { V2Datatype, V2MetadataTensor, V2ModelMetadata } from "./v2-schemas.js";

/** What the worker runs every artifact with, named the way Triton and KServe name it. */
export const V2_PLATFORM = "onnxruntime_onnx";

/** The class index per row, derived from the probabilities (the worker's `predictions`). */
export const PREDICTIONS_OUTPUT = "predictions";

const DATATYPE_FOR_DTYPE: Record<TensorDtype, V2Datatype> = {
  float32: "FP32",
  float16: "FP16",
  int64: "INT64",
  int32: "INT32",
  bool: "BOOL",
  uint8: "UINT8",
  int8: "INT8",
};

export function v2Datatype(dtype: TensorDtype): V2Datatype {
  return DATATYPE_FOR_DTYPE[dtype];
}

/** Named dynamic axes (`batch`, `sequence`) are variable-size: -1 in the protocol. */
export function v2Shape(shape: TensorSpec["shape"]): number[] {
  return shape.map((dimension) => (typeof dimension === "number" ? dimension : -1));
}

export function describeV2Shape(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}

/**
 * The contract output the worker's `/v1/predict` reads: the one named `probabilities` when the
 * contract has it, else the first (the same rule as the worker's `pickTensor`).
 */
export function servedOutput(version: ModelVersion): TensorSpec {
  const [first, ...rest] = version.io.outputs;
  if (!first) throw new Error(`${version.name}@${version.version} declares no outputs`);
  return [first, ...rest].find((output) => output.name === "probabilities") ?? first;
}

/**
 * The outputs V2 infer returns: the served output as FP32 (the worker returns float32 class
 * probabilities, softmaxed when the model emits logits), then an INT64 `predictions` tensor
 * (the most likely class of each row) unless the contract already names an output so.
 */
export function v2Outputs(version: ModelVersion): V2MetadataTensor[] {
  const served = servedOutput(version);
  const shape = v2Shape(served.shape);
  const outputs: V2MetadataTensor[] = [{ name: served.name, datatype: "FP32", shape }];
  if (!version.io.outputs.some((output) => output.name === PREDICTIONS_OUTPUT)) {
    outputs.push({ name: PREDICTIONS_OUTPUT, datatype: "INT64", shape: shape.slice(0, 1) });
  }
  return outputs;
}

/**
 * `$metadata_model_response`: inputs straight from the io contract, outputs as V2 infer returns
 * them, and every tensor version of the model as a version that may be requested explicitly.
 */
export function v2ModelMetadata(record: Pick<ModelRecord, "versions">, version: ModelVersion): V2ModelMetadata {
  return {
    name: version.name,
    versions: record.versions
      .filter((candidate) => candidate.kind === "tensor")
      .map((candidate) => candidate.version)
      .sort((a, b) => a - b)
      .map(String),
    platform: V2_PLATFORM,
    inputs: version.io.inputs.map((input) => ({
      name: input.name,
      datatype: v2Datatype(input.dtype),
      shape: v2Shape(input.shape),
    })),
    outputs: v2Outputs(version),
  };
}
