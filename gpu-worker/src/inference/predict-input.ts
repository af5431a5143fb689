/** Turns `/v1/predict` rows into one float32 [rows, features] tensor, checked against the io contract. */
import {
  err,
  type FieldProblem,
  type IoContract,
  ModelgateError,
  ok,
  type Result,
  type TensorSpec,
} from "@modelgate/shared";

export interface PredictTensor {
  inputName: string;
  rows: number;
  features: number;
  values: Float32Array<ArrayBuffer>;
}

/** Field problems listed in one response; the rest are counted, not listed. */
const MAX_LISTED_PROBLEMS = 10;

export function buildPredictTensor(io: IoContract, data: readonly (readonly number[])[]): Result<PredictTensor> {
  if (io.inputs.length !== 1) {
    return err(
      new ModelgateError("bad_request", `This model has ${io.inputs.length} inputs; /v1/predict feeds exactly one.`),
    );
  }
  const [input] = io.inputs as [TensorSpec];
  if (input.dtype !== "float32") {
    return err(
      new ModelgateError(
        "bad_request",
        `This model's input ${input.name} is ${input.dtype}; /v1/predict sends float32.`,
      ),
    );
  }
  // [batch, features]: the last dimension, when fixed, is the number of values each row must have.
  const declared = input.shape.length === 2 ? input.shape[1] : undefined;
  const expected = typeof declared === "number" ? declared : (data[0]?.length ?? 0);
  const problems: FieldProblem[] = [];
  data.forEach((row, index) => {
    if (row.length !== expected)
      problems.push({ field: `data.${index}`, message: `expected ${expected} values, got ${row.length}` });
  });
  const [first] = problems;
  if (first) {
    const shape = `[${input.shape.join(", ")}]`;
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more row(s))` : "";
    return err(
      new ModelgateError(
        "validation_failed",
        `Invalid request body: each row of data must have ${expected} feature values (the model's input ${input.name} is ${shape}); ${first.field}: ${first.message}${more}.`,
        problems.slice(0, MAX_LISTED_PROBLEMS),
      ),
    );
  }
  const values = new Float32Array(data.length * expected);
  data.forEach((row, index) => {
    values.set(row, index * expected);
  });
  return ok({ inputName: input.name, rows: data.length, features: expected, values });
}

/** Rows of class probabilities from a [rows, classes] output; softmaxed when the model emits logits. */
export function probabilityRows(dims: readonly number[], values: Float32Array): Result<number[][]> {
  const rows = dims[0];
  const classes = dims.length === 2 ? dims[1] : undefined;
  if (rows === undefined || classes === undefined || rows * classes !== values.length) {
    return err(
      new ModelgateError(
        "internal",
        `The model returned an output of shape [${dims.join(", ")}], not [rows, classes].`,
      ),
    );
  }
  const result: number[][] = [];
  for (let r = 0; r < rows; r++) {
    const row = Array.from(values.subarray(r * classes, (r + 1) * classes));
    result.push(isDistribution(row) ? row : softmax(row));
  }
  return ok(result);
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
