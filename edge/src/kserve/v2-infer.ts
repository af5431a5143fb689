/**
 * V2 infer ⇄ the worker's tensor route: an `$inference_request` (JSON, or the binary tensor data
 * extension's JSON header plus raw bytes) checked against the version's io contract and turned
 * into a tensor frame, and the worker's frame turned back into an `$inference_response` with
 * each output as JSON or binary, as asked. Binary input bytes are forwarded as they came.
 */
import {
  argmaxRows,
  checkInputsAgainstContract,
  checkRequestedOutputs,
  decodeJsonData,
  decodeTensorBytes,
  describeShape,
  ELEMENT_BYTES,
  elementCount,
  encodeJsonData,
  encodeTensorBytes,
  type FrameTensor,
  ModelgateError,
  type ModelVersion,
  probabilityRows,
  type TensorSpec,
  type TensorValues,
  type V2Datatype,
  type WorkerInferResultHeader,
} from "@modelgate/shared";
import { PREDICTIONS_OUTPUT, predictionsSource, v2Outputs } from "./v2-model-metadata.js";
import type { V2InferRequest, V2InferResponse, V2RequestInput, V2ResponseOutput } from "./v2-schemas.js";

export interface PlannedOutput {
  name: string;
  binary: boolean;
}

export interface InferencePlan {
  /** The tensors to forward, in order: what each is, and its wire bytes. */
  inputs: Array<{ tensor: FrameTensor; bytes: Uint8Array }>;
  /** The outputs to answer with, in the order asked (all of them by default). */
  outputs: PlannedOutput[];
  /** What the worker must compute: the asked contract outputs, plus a classifier's scores for `predictions`. */
  workerOutputs: string[];
}

const refuse = (message: string) => new ModelgateError("bad_request", message);

/** `binary_data_size` of an input, when it has one (a non-negative integer, or the request is refused). */
function binarySize(input: V2RequestInput): number | undefined {
  const size = input.parameters?.binary_data_size;
  if (size === undefined) return undefined;
  if (typeof size !== "number" || !Number.isInteger(size) || size < 0) {
    throw refuse(
      `input '${input.name}': parameters.binary_data_size must be a byte count, not ${JSON.stringify(size)}.`,
    );
  }
  return size;
}

function wireBytes(datatype: V2Datatype, shape: readonly number[], values: TensorValues): Uint8Array {
  const bytes = encodeTensorBytes(values);
  if (datatype !== "BYTES" && bytes.byteLength !== elementCount(shape) * ELEMENT_BYTES[datatype]) {
    throw new Error("a decoded tensor has the wrong size");
  }
  return bytes;
}

/** One input's bytes: its slice of the binary region (checked against its shape), or its JSON data encoded. */
function inputBytes(
  input: V2RequestInput,
  binary: Uint8Array | undefined,
  offset: number,
): { bytes: Uint8Array; taken: number } {
  const label = `input '${input.name}'`;
  const count = elementCount(input.shape);
  const size = binarySize(input);
  if (size === undefined) {
    if (input.data === undefined) {
      throw refuse(
        `${label} has no data: give \`data\`, or \`parameters.binary_data_size\` with the bytes after the JSON header.`,
      );
    }
    const values = decodeJsonData(input.data, input.datatype, input.shape, label);
    if (!values.ok) throw refuse(values.error);
    return { bytes: wireBytes(input.datatype, input.shape, values.value), taken: 0 };
  }
  if (input.data !== undefined)
    throw refuse(`${label} has both \`data\` and \`parameters.binary_data_size\`; give one.`);
  if (binary === undefined) {
    throw refuse(
      `${label} has parameters.binary_data_size, but the request has no Inference-Header-Content-Length header (no binary data).`,
    );
  }
  if (offset + size > binary.byteLength) {
    throw refuse(
      `${label}: binary_data_size ${size} runs past the ${binary.byteLength} bytes of binary data after the header.`,
    );
  }
  const bytes = binary.subarray(offset, offset + size);
  if (input.datatype === "BYTES") {
    const decoded = decodeTensorBytes(bytes, "BYTES", count, label);
    if (!decoded.ok) throw refuse(decoded.error);
  } else if (size !== count * ELEMENT_BYTES[input.datatype]) {
    throw refuse(
      `${label}: binary_data_size is ${size}, but shape ${describeShape(input.shape)} of ${input.datatype} takes ${count * ELEMENT_BYTES[input.datatype]} bytes.`,
    );
  }
  return { bytes, taken: size };
}

function wantsBinary(parameters: Record<string, unknown> | undefined, where: string): boolean | undefined {
  const value = parameters?.binary_data;
  if (value === undefined) return undefined;
  if (typeof value !== "boolean") throw refuse(`${where}: parameters.binary_data must be true or false.`);
  return value;
}

function plannedOutputs(version: ModelVersion, request: V2InferRequest): PlannedOutput[] {
  const all = request.parameters?.binary_data_output;
  if (all !== undefined && typeof all !== "boolean")
    throw refuse("parameters.binary_data_output must be true or false.");
  const binaryByDefault = all === true;
  if (request.outputs === undefined)
    return v2Outputs(version).map((output) => ({ name: output.name, binary: binaryByDefault }));
  const derived = predictionsSource(version) ? [PREDICTIONS_OUTPUT] : [];
  const names = request.outputs.map((output) => output.name);
  const checked = checkRequestedOutputs(version, names, derived);
  if (!checked.ok) throw checked.error;
  return request.outputs.map((asked) => {
    if (asked.parameters?.classification !== undefined) {
      throw refuse(
        `output '${asked.name}': the classification extension is not supported${derived.length > 0 ? `; read '${PREDICTIONS_OUTPUT}'` : ""}.`,
      );
    }
    return { name: asked.name, binary: wantsBinary(asked.parameters, `output '${asked.name}'`) ?? binaryByDefault };
  });
}

/**
 * Checks an `$inference_request` against the version's io contract and plans the worker call.
 * `binary` is the body after the JSON header, for a request using the binary extension.
 */
export function planInference(
  version: ModelVersion,
  request: V2InferRequest,
  binary: Uint8Array | undefined,
  maxTensorBytes: number,
): InferencePlan {
  if (version.io.inputs.length === 0) throw refuse(`model '${version.name}' has no inputs to feed.`);
  const checked = checkInputsAgainstContract(version, request.inputs);
  if (!checked.ok) throw checked.error;
  const inputs: InferencePlan["inputs"] = [];
  let offset = 0;
  let total = 0;
  for (const input of request.inputs) {
    const { bytes, taken } = inputBytes(input, binary, offset);
    offset += taken;
    total += bytes.byteLength;
    if (total > maxTensorBytes) {
      throw new ModelgateError(
        "payload_too_large",
        `The request's tensors take more than ${maxTensorBytes} bytes; send fewer rows per request.`,
      );
    }
    inputs.push({
      tensor: { name: input.name, datatype: input.datatype, shape: input.shape, byte_size: bytes.byteLength },
      bytes,
    });
  }
  if (binary !== undefined && offset !== binary.byteLength) {
    throw refuse(
      `the body has ${binary.byteLength - offset} bytes of binary data after the header that no input's binary_data_size claims.`,
    );
  }
  const outputs = plannedOutputs(version, request);
  const scores = predictionsSource(version);
  const workerOutputs = new Set(
    outputs.filter((output) => output.name !== PREDICTIONS_OUTPUT || !scores).map((output) => output.name),
  );
  if (scores && outputs.some((output) => output.name === PREDICTIONS_OUTPUT)) workerOutputs.add(scores.name);
  return { inputs, outputs, workerOutputs: [...workerOutputs] };
}

/** One output the worker answered with: its header entry and its bytes. */
export interface WorkerOutput {
  tensor: FrameTensor;
  bytes: Uint8Array;
}

const upstream = (version: ModelVersion, what: string) =>
  new ModelgateError("upstream_failed", `The worker's answer for ${version.name}@${version.version} ${what}.`);

/** Values of a worker output, decoded (a worker that sends the wrong number of bytes is a 502). */
export function outputValues(version: ModelVersion, output: WorkerOutput): TensorValues {
  const values = decodeTensorBytes(
    output.bytes,
    output.tensor.datatype,
    elementCount(output.tensor.shape),
    `output '${output.tensor.name}'`,
  );
  if (!values.ok) throw upstream(version, `does not fit its shape (${values.error})`);
  return values.value;
}

/** The classifier's `predictions`: the arg-max class of each row of its scores. */
function predictionsFrom(version: ModelVersion, scores: TensorSpec, outputs: readonly WorkerOutput[]): WorkerOutput {
  const source = outputs.find((output) => output.tensor.name === scores.name);
  const [rows, classes] = source?.tensor.shape ?? [];
  if (!source || rows === undefined || classes === undefined || source.tensor.shape.length !== 2) {
    throw upstream(version, `lacks its [rows, classes] '${scores.name}'`);
  }
  const values = outputValues(version, source);
  const numeric = Array.isArray(values) ? [] : Array.from(values as ArrayLike<number>, Number);
  const predictions = BigInt64Array.from(argmaxRows(probabilityRows(numeric, rows, classes)), BigInt);
  return {
    tensor: { name: PREDICTIONS_OUTPUT, datatype: "INT64", shape: [rows], byte_size: predictions.byteLength },
    bytes: encodeTensorBytes(predictions),
  };
}

export interface InferenceAnswer {
  body: V2InferResponse;
  /** Bytes after the JSON header, for outputs sent as binary (empty: a plain JSON answer). */
  binary: Uint8Array[];
}

/** The worker's frame as an `$inference_response`, each output as JSON or binary as planned. */
export function inferenceAnswer(
  version: ModelVersion,
  request: V2InferRequest,
  plan: InferencePlan,
  result: { header: WorkerInferResultHeader; tensors: Uint8Array[] },
): InferenceAnswer {
  const returned: WorkerOutput[] = result.header.outputs.map((tensor, index) => ({
    tensor,
    bytes: result.tensors[index] ?? new Uint8Array(),
  }));
  const scores = predictionsSource(version);
  const binary: Uint8Array[] = [];
  const outputs = plan.outputs.map((planned): V2ResponseOutput => {
    const output =
      planned.name === PREDICTIONS_OUTPUT && scores
        ? predictionsFrom(version, scores, returned)
        : returned.find((candidate) => candidate.tensor.name === planned.name);
    if (!output) throw upstream(version, `lacks output '${planned.name}'`);
    const { name, datatype, shape } = output.tensor;
    if (planned.binary) {
      // The client splits the body by these sizes: they must fit the shapes (the frame was checked as a whole).
      const count = elementCount(shape);
      if (datatype === "BYTES") outputValues(version, output);
      else if (output.bytes.byteLength !== count * ELEMENT_BYTES[datatype])
        throw upstream(version, `sends '${name}' with the wrong size`);
      binary.push(output.bytes);
      return { name, datatype, shape, parameters: { binary_data_size: output.bytes.byteLength } };
    }
    return { name, datatype, shape, data: encodeJsonData(outputValues(version, output), datatype) };
  });
  return {
    body: {
      model_name: version.name,
      model_version: String(version.version),
      ...(request.id === undefined ? {} : { id: request.id }),
      parameters: {
        inference_time_ms: result.header.inference_time_ms,
        queue_time_ms: result.header.queue_time_ms,
        batch_size: result.header.batch_size,
      },
      outputs,
    },
    binary,
  };
}
