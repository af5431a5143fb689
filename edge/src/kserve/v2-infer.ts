/**
 * V2 infer ⇄ the worker's `/v1/predict`: an `$inference_request` checked against the version's
 * io contract and turned into rows of features, and the worker's prediction turned back into
 * an `$inference_response` with flat, row-major output tensors.
 */
import { ModelgateError, type ModelVersion, type PredictResponse, type TensorSpec } from "@modelgate/shared";
import {
  describeV2Shape,
  PREDICTIONS_OUTPUT,
  servedOutput,
  v2Datatype,
  v2Outputs,
  v2Shape,
} from "./v2-model-metadata.js";
import type {
  V2InferRequest,
  V2InferResponse,
  V2MetadataTensor,
  V2RequestInput,
  V2ResponseOutput,
} from "./v2-schemas.js";

/** `/v1/predict`'s bounds (PredictRequestSchema): rows per request and values per row. */
const MAX_BATCH = 10_000;
const MAX_FEATURES = 4096;

export interface PredictionPlan {
  /** The input tensor as `/v1/predict` rows: [batch][features]. */
  rows: number[][];
  /** The outputs to return, in the order the caller asked for them (all of them by default). */
  outputs: V2MetadataTensor[];
}

const refuse = (message: string) => new ModelgateError("bad_request", message);

/**
 * The one input `/v1/predict` can feed: a float32 [batch, features] tensor. Other models are
 * registered fine but not servable through V2 infer; the message says why.
 */
function predictableInput(version: ModelVersion): TensorSpec {
  const model = `model '${version.name}'`;
  const [input, ...others] = version.io.inputs;
  if (!input || others.length > 0) {
    throw refuse(
      `${model} has ${version.io.inputs.length} inputs; V2 infer here serves models with exactly one input.`,
    );
  }
  if (input.dtype !== "float32") {
    throw refuse(
      `${model} takes ${v2Datatype(input.dtype)} input '${input.name}'; V2 infer here feeds FP32 inputs only.`,
    );
  }
  if (input.shape.length !== 2) {
    throw refuse(
      `${model}'s input '${input.name}' has shape ${describeV2Shape(v2Shape(input.shape))}; V2 infer here serves [batch, features] inputs.`,
    );
  }
  return input;
}

/** Binary tensor data (Triton's binary_data extension) is not offered: `GET /v2` lists no extensions. */
function refuseBinaryData(parameters: Record<string, unknown> | undefined, where: string): void {
  if (parameters === undefined) return;
  if (parameters.binary_data === true || parameters.binary_data_output === true || "binary_data_size" in parameters) {
    throw refuse(`${where}: binary tensor data is not supported; send the data as JSON.`);
  }
}

function checkShape(input: V2RequestInput, spec: TensorSpec, version: ModelVersion): [number, number] {
  const expected = v2Shape(spec.shape);
  const fits =
    input.shape.length === expected.length && expected.every((dim, i) => dim === -1 || dim === input.shape[i]);
  if (!fits) {
    throw refuse(
      `input '${input.name}' has shape ${describeV2Shape(input.shape)}, but model '${version.name}' expects ${describeV2Shape(expected)}.`,
    );
  }
  const [batch = 0, features = 0] = input.shape;
  if (batch === 0 || features === 0) {
    throw refuse(`input '${input.name}' has shape ${describeV2Shape(input.shape)}: it holds no values.`);
  }
  if (batch > MAX_BATCH)
    throw refuse(`input '${input.name}' has a batch of ${batch}; at most ${MAX_BATCH} per request.`);
  if (features > MAX_FEATURES) {
    throw refuse(`input '${input.name}' has ${features} values per row; at most ${MAX_FEATURES}.`);
  }
  return [batch, features];
}

/**
 * The tensor's elements in row-major order. Flat data must hold exactly as many elements as the
 * shape; nested data must nest exactly as the shape does (a ragged array is refused, not guessed).
 */
export function flattenTensorData(data: readonly unknown[], shape: readonly number[], name: string): unknown[] {
  const total = shape.reduce((product, dim) => product * dim, 1);
  if (!data.some(Array.isArray)) {
    if (data.length !== total) {
      throw refuse(`input '${name}' has ${data.length} values, but shape ${describeV2Shape(shape)} needs ${total}.`);
    }
    return [...data];
  }
  const flat: unknown[] = [];
  const walk = (node: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (Array.isArray(node)) {
        throw refuse(`input '${name}': ${path} nests deeper than shape ${describeV2Shape(shape)}.`);
      }
      flat.push(node);
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      const found = Array.isArray(node) ? `${node.length} elements` : "a single value";
      throw refuse(
        `input '${name}': ${path} has ${found}, but shape ${describeV2Shape(shape)} needs ${shape[depth]} there.`,
      );
    }
    node.forEach((child, index) => {
      walk(child, depth + 1, `${path}[${index}]`);
    });
  };
  walk(data, 0, "data");
  return flat;
}

function toRows(values: readonly unknown[], batch: number, features: number, name: string): number[][] {
  const rows: number[][] = [];
  for (let r = 0; r < batch; r++) {
    const row: number[] = [];
    for (let f = 0; f < features; f++) {
      const index = r * features + f;
      const value = values[index];
      if (typeof value !== "number" || !Number.isFinite(value)) {
        throw refuse(`input '${name}': element ${index} is ${JSON.stringify(value)}; FP32 data must be numbers.`);
      }
      row.push(value);
    }
    rows.push(row);
  }
  return rows;
}

function requestedOutputs(version: ModelVersion, request: V2InferRequest): V2MetadataTensor[] {
  const available = v2Outputs(version);
  if (request.outputs === undefined) return available;
  const seen = new Set<string>();
  return request.outputs.map((asked) => {
    const output = available.find((candidate) => candidate.name === asked.name);
    if (!output) {
      throw refuse(
        `unexpected inference output '${asked.name}' for model '${version.name}'; it returns ${available.map((o) => `'${o.name}'`).join(", ")}.`,
      );
    }
    if (seen.has(asked.name)) throw refuse(`output '${asked.name}' is requested more than once.`);
    seen.add(asked.name);
    refuseBinaryData(asked.parameters, `output '${asked.name}'`);
    if (asked.parameters?.classification !== undefined) {
      throw refuse(
        `output '${asked.name}': the classification extension is not supported; read '${PREDICTIONS_OUTPUT}'.`,
      );
    }
    return output;
  });
}

/** Checks an `$inference_request` against the version's io contract and plans the prediction. */
export function planPrediction(version: ModelVersion, request: V2InferRequest): PredictionPlan {
  const spec = predictableInput(version);
  refuseBinaryData(request.parameters, "the request");
  const [input, ...extra] = request.inputs;
  if (!input || extra.length > 0) {
    throw refuse(`expected 1 input but got ${request.inputs.length} inputs for model '${version.name}'.`);
  }
  if (input.name !== spec.name) {
    throw refuse(`unexpected inference input '${input.name}' for model '${version.name}'; it expects '${spec.name}'.`);
  }
  refuseBinaryData(input.parameters, `input '${input.name}'`);
  if (input.datatype !== "FP32") {
    throw refuse(`input '${input.name}' has datatype ${input.datatype}, but model '${version.name}' expects FP32.`);
  }
  const [batch, features] = checkShape(input, spec, version);
  const values = flattenTensorData(input.data, input.shape, input.name);
  return { rows: toRows(values, batch, features, input.name), outputs: requestedOutputs(version, request) };
}

/** The worker's prediction as an `$inference_response`; a worker answer that does not fit is a 502. */
export function inferResponseFrom(
  version: ModelVersion,
  request: V2InferRequest,
  plan: PredictionPlan,
  prediction: PredictResponse,
): V2InferResponse {
  const batch = plan.rows.length;
  const classes = prediction.probabilities[0]?.length ?? 0;
  const consistent =
    prediction.probabilities.length === batch &&
    prediction.predictions.length === batch &&
    prediction.probabilities.every((row) => row.length === classes);
  if (!consistent || classes === 0) {
    throw new ModelgateError(
      "upstream_failed",
      `The worker's prediction for ${version.name}@${version.version} does not match the request's batch of ${batch}.`,
    );
  }
  const served = servedOutput(version).name;
  const outputs = plan.outputs.map((output): V2ResponseOutput => {
    if (output.name === served) {
      return { name: output.name, datatype: "FP32", shape: [batch, classes], data: prediction.probabilities.flat() };
    }
    return { name: output.name, datatype: "INT64", shape: [batch], data: prediction.predictions };
  });
  return {
    model_name: version.name,
    model_version: String(version.version),
    ...(request.id === undefined ? {} : { id: request.id }),
    outputs,
  };
}
