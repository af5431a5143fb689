/**
 * Seed 004's `/predict` on any single-input tensor model: `data` is that input as nested arrays
 * (rows of features, `[N][3][H][W]` images), its shape read from the nesting and checked against
 * the contract; the answer keeps the seed's `{predictions, probabilities}` for a classifier and is
 * `outputs` (V2-style tensors) for anything else.
 */
import {
  argmaxRows,
  checkInputsAgainstContract,
  classScoreOutput,
  decodeJsonData,
  decodeTensorBytes,
  describeShape,
  elementCount,
  encodeJsonData,
  encodeTensorBytes,
  type FrameTensor,
  ModelgateError,
  type ModelVersion,
  probabilityRows,
  type TensorSpec,
  v2DatatypeOf,
  v2ShapeOf,
  type WorkerInferResultHeader,
} from "@modelgate/shared";

/** The tensor `data` holds: its shape from the nesting (the first element at each depth). */
export function nestedShape(data: readonly unknown[]): number[] {
  const shape: number[] = [];
  let node: unknown = data;
  while (Array.isArray(node)) {
    shape.push(node.length);
    node = node[0];
  }
  return shape;
}

const invalidData = (message: string) =>
  new ModelgateError("validation_failed", `Invalid predict request: ${message}`, [{ field: "data", message }]);

/** The model's one input, or a 400 saying /predict cannot feed it. */
export function soleInput(target: ModelVersion): TensorSpec {
  const [input, ...others] = target.io.inputs;
  if (input && others.length === 0) return input;
  const names = target.io.inputs.map((spec) => `'${spec.name}'`).join(", ");
  throw new ModelgateError(
    "bad_request",
    `${target.name}@${target.version} takes ${target.io.inputs.length} inputs (${names}); /predict feeds models with one. Use POST /v2/models/${target.name}/infer.`,
    [{ field: "model", message: "takes more than one input" }],
  );
}

/** `data` as the one input's tensor: its nesting must match the input's rank and the contract's dimensions. */
export function predictInput(
  target: ModelVersion,
  data: readonly unknown[],
): { tensor: FrameTensor; bytes: Uint8Array } {
  const input = soleInput(target);
  const shape = nestedShape(data);
  const expected = v2ShapeOf(input.shape);
  if (shape.length !== expected.length) {
    throw invalidData(
      `data nests ${shape.length} deep (${describeShape(shape)}), but the model's input '${input.name}' has ${expected.length} dimensions ${describeShape(expected)}`,
    );
  }
  const datatype = v2DatatypeOf(input.dtype);
  const checked = checkInputsAgainstContract(target, [{ name: input.name, datatype, shape }]);
  if (!checked.ok) throw invalidData(checked.error.message);
  const values = decodeJsonData(data, datatype, shape, "data");
  if (!values.ok) throw invalidData(values.error);
  const bytes = encodeTensorBytes(values.value);
  return { tensor: { name: input.name, datatype, shape, byte_size: bytes.byteLength }, bytes };
}

/** The outputs the worker should compute: a classifier's scores alone, anything else's every output. */
export function predictOutputs(target: ModelVersion): string[] | undefined {
  const scores = classScoreOutput(target.io);
  return scores ? [scores.name] : undefined;
}

export interface PredictedTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: Array<number | boolean | string>;
}

export type PredictAnswer = { predictions: number[]; probabilities: number[][] } | { outputs: PredictedTensor[] };

/** The worker's outputs as seed 004's answer (a classifier) or as `outputs`. */
export function predictAnswer(
  target: ModelVersion,
  result: { header: WorkerInferResultHeader; tensors: Uint8Array[] },
): PredictAnswer {
  const decoded = result.header.outputs.map((tensor, index) => {
    const values = decodeTensorBytes(
      result.tensors[index] ?? new Uint8Array(),
      tensor.datatype,
      elementCount(tensor.shape),
      tensor.name,
    );
    if (!values.ok) {
      throw new ModelgateError(
        "upstream_failed",
        `The worker's answer for ${target.name}@${target.version} does not fit its shapes.`,
      );
    }
    return { tensor, values: values.value };
  });
  const scores = classScoreOutput(target.io);
  if (scores) {
    const output = decoded.find((candidate) => candidate.tensor.name === scores.name);
    const [rows, classes] = output?.tensor.shape ?? [];
    if (!output || rows === undefined || classes === undefined || Array.isArray(output.values)) {
      throw new ModelgateError(
        "upstream_failed",
        `The worker's answer for ${target.name}@${target.version} lacks '${scores.name}'.`,
      );
    }
    const probabilities = probabilityRows(
      encodeJsonData(output.values, output.tensor.datatype) as number[],
      rows,
      classes,
    );
    return { predictions: argmaxRows(probabilities), probabilities };
  }
  return {
    outputs: decoded.map(({ tensor, values }) => ({
      name: tensor.name,
      datatype: tensor.datatype,
      shape: tensor.shape,
      data: encodeJsonData(values, tensor.datatype),
    })),
  };
}

/**
 * Zeros for every input, dynamic dimensions 1: what the reload warm-up sends. Undefined when a
 * dimension other than the first is dynamic (no size to pick that the model is sure to take).
 */
export function warmUpInputs(target: ModelVersion): Array<{ tensor: FrameTensor; bytes: Uint8Array }> | undefined {
  if (!target.io.inputs.every((spec) => spec.shape.slice(1).every((dim) => typeof dim === "number"))) return undefined;
  return target.io.inputs.map((spec) => {
    const shape = spec.shape.map((dim) => (typeof dim === "number" ? dim : 1));
    const datatype = v2DatatypeOf(spec.dtype);
    const zeros =
      datatype === "BYTES"
        ? new Array<unknown>(elementCount(shape)).fill("")
        : new Array<unknown>(elementCount(shape)).fill(datatype === "BOOL" ? false : 0);
    const values = decodeJsonData(zeros, datatype, shape, spec.name);
    if (!values.ok) throw new Error(values.error);
    const bytes = encodeTensorBytes(values.value);
    return { tensor: { name: spec.name, datatype, shape, byte_size: bytes.byteLength }, bytes };
  });
}
