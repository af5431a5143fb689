/**
 * A request's tensors checked against a version's io contract before anything is forwarded:
 * every contract input given once with its datatype, rank and fixed dimensions, and dimensions
 * that share a name (`batch`, `sequence`) agreeing across inputs. Each refusal names the input
 * and, for a shape, the dimension. Also which output of a contract is a class score (what
 * makes a model a classifier for seed 004's `/predict` and V2's derived `predictions`).
 */
import type { TensorSpec } from "../artifact.js";
import { err, ModelgateError, ok, type Result } from "../errors.js";
import type { IoContract } from "../model-version.js";
import { describeShape, elementCount, type V2Datatype, v2DatatypeOf } from "./tensor-datatypes.js";

export interface RequestTensor {
  name: string;
  datatype: V2Datatype;
  shape: readonly number[];
}

/** Elements one tensor may hold (2^31 − 1: onnxruntime's and V8's typed-array index limit). */
export const MAX_TENSOR_ELEMENTS = 2 ** 31 - 1;

/** A contract shape as the protocol writes it: dynamic dimensions are -1. */
export function v2ShapeOf(shape: TensorSpec["shape"]): number[] {
  return shape.map((dimension) => (typeof dimension === "number" ? dimension : -1));
}

const refuse = (message: string) => err(new ModelgateError("bad_request", message));
const quoted = (names: readonly string[]) => names.map((name) => `'${name}'`).join(", ");

/** The input's shape against its spec: rank, fixed dimensions, and named dimensions seen before. */
function checkShape(
  tensor: RequestTensor,
  spec: TensorSpec,
  model: string,
  named: Map<string, { size: number; input: string }>,
): Result<void> {
  // Built only for a refusal: this runs on every request.
  const prefix = () =>
    `input '${tensor.name}' has shape ${describeShape(tensor.shape)}, but model '${model}' expects ${describeShape(v2ShapeOf(spec.shape))}`;
  if (tensor.shape.length !== spec.shape.length) {
    return refuse(`${prefix()}: ${tensor.shape.length} dimensions, not ${spec.shape.length}.`);
  }
  for (const [index, dimension] of spec.shape.entries()) {
    const size = tensor.shape[index] ?? 0;
    if (typeof dimension === "number") {
      if (size !== dimension) return refuse(`${prefix()}: dimension ${index} is ${size}, not ${dimension}.`);
      continue;
    }
    // "?" is an anonymous dynamic dimension: it matches nothing else.
    if (dimension === "?") continue;
    const seen = named.get(dimension);
    if (seen && seen.size !== size) {
      return refuse(
        `input '${tensor.name}' has shape ${describeShape(tensor.shape)}: dimension ${index} ('${dimension}') is ${size}, but input '${seen.input}' has ${seen.size} there.`,
      );
    }
    if (!seen) named.set(dimension, { size, input: tensor.name });
  }
  if (tensor.shape.some((size) => size === 0)) {
    return refuse(`input '${tensor.name}' has shape ${describeShape(tensor.shape)}: it holds no values.`);
  }
  if (elementCount(tensor.shape) > MAX_TENSOR_ELEMENTS) {
    return refuse(
      `input '${tensor.name}' has shape ${describeShape(tensor.shape)}: more than ${MAX_TENSOR_ELEMENTS} elements.`,
    );
  }
  return ok(undefined);
}

/** Every contract input exactly once, each with the contract's datatype and a shape that fits it. */
export function checkInputsAgainstContract(
  version: { name: string; io: IoContract },
  inputs: readonly RequestTensor[],
): Result<void> {
  const model = version.name;
  const expected = version.io.inputs;
  const seen = new Set<string>();
  for (const input of inputs) {
    if (!expected.some((spec) => spec.name === input.name)) {
      return refuse(
        `unexpected inference input '${input.name}' for model '${model}'; it expects ${quoted(expected.map((spec) => spec.name))}.`,
      );
    }
    if (seen.has(input.name)) return refuse(`input '${input.name}' is given more than once.`);
    seen.add(input.name);
  }
  const missing = expected.filter((spec) => !seen.has(spec.name));
  if (missing.length > 0) {
    const described = missing.map(
      (spec) => `'${spec.name}' (${v2DatatypeOf(spec.dtype)} ${describeShape(v2ShapeOf(spec.shape))})`,
    );
    return refuse(
      `expected ${expected.length} input${expected.length > 1 ? "s" : ""} but got ${inputs.length} for model '${model}': missing ${described.join(", ")}.`,
    );
  }
  const named = new Map<string, { size: number; input: string }>();
  // In contract order, so "the other input" in a message is always the earlier one.
  for (const spec of expected) {
    const input = inputs.find((candidate) => candidate.name === spec.name);
    if (!input) continue;
    const datatype = v2DatatypeOf(spec.dtype);
    if (input.datatype !== datatype) {
      return refuse(`input '${input.name}' has datatype ${input.datatype}, but model '${model}' expects ${datatype}.`);
    }
    const shape = checkShape(input, spec, model, named);
    if (!shape.ok) return shape;
  }
  return ok(undefined);
}

/** Requested output names: each in the contract, none twice. */
export function checkRequestedOutputs(
  version: { name: string; io: IoContract },
  names: readonly string[],
  extra: readonly string[] = [],
): Result<void> {
  const available = [...version.io.outputs.map((output) => output.name), ...extra];
  const seen = new Set<string>();
  for (const name of names) {
    if (!available.includes(name)) {
      return refuse(
        `unexpected inference output '${name}' for model '${version.name}'; it returns ${quoted(available)}.`,
      );
    }
    if (seen.has(name)) return refuse(`output '${name}' is requested more than once.`);
    seen.add(name);
  }
  return ok(undefined);
}

const FLOAT_DTYPES: ReadonlySet<string> = new Set(["float32", "float16", "float64"]);

/**
 * The output holding class scores, when the model is a classifier: one input, and an output
 * named `probabilities` (else `logits`) that is a float `[batch, classes]` tensor. Undefined for
 * anything else: a `[batch, k]` output under another name may as well be an embedding or a
 * regression, and is answered as it is rather than softmaxed into "probabilities".
 */
export function classScoreOutput(io: IoContract): TensorSpec | undefined {
  if (io.inputs.length !== 1) return undefined;
  const candidate =
    io.outputs.find((output) => output.name === "probabilities") ??
    io.outputs.find((output) => output.name === "logits");
  if (!candidate || !FLOAT_DTYPES.has(candidate.dtype) || candidate.shape.length !== 2) return undefined;
  return typeof candidate.shape[0] === "string" ? candidate : undefined;
}

/** Rows of class probabilities: a row that is already a distribution is kept, logits are softmaxed. */
export function probabilityRows(values: ArrayLike<number>, rows: number, classes: number): number[][] {
  const result: number[][] = [];
  for (let r = 0; r < rows; r++) {
    const row = Array.from({ length: classes }, (_, c) => Number(values[r * classes + c] ?? 0));
    result.push(isDistribution(row) ? row : softmax(row));
  }
  return result;
}

function isDistribution(row: readonly number[]): boolean {
  const sum = row.reduce((a, b) => a + b, 0);
  return row.every((v) => v >= 0) && Math.abs(sum - 1) < 1e-3;
}

function softmax(row: readonly number[]): number[] {
  const max = Math.max(...row);
  const exps = row.map((v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((v) => v / sum);
}

/** Index of the largest value in each row (the first on a tie). */
export function argmaxRows(rows: readonly (readonly number[])[]): number[] {
  return rows.map((row) => {
    let best = 0;
    for (let i = 1; i < row.length; i++) if ((row[i] ?? 0) > (row[best] ?? 0)) best = i;
    return best;
  });
}
