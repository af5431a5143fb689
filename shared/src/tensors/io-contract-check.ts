/**
 * A version's io contract at registration: the one read out of its ONNX file, with a declared
 * `io` checked against it. A declared contract may say more than the file (fix a dimension the
 * file leaves dynamic, name one, leave out outputs it does not want served) but never contradict
 * it: a tensor the file lacks, another element type or rank, or another size for a dimension the
 * file fixes is refused, naming the field. A file whose graph cannot be read keeps the declared
 * contract as it is (`io_source: "declared"`); with nothing declared, that is an error.
 */
import type { TensorSpec } from "../artifact.js";
import { err, type FieldProblem, ModelgateError, ok, type Result } from "../errors.js";
import type { IoContract, IoSource, ModelKind } from "../model-version.js";
import type { OnnxIoReading } from "./onnx-io-reader.js";
import { describeShape } from "./tensor-datatypes.js";

export interface ResolvedIo {
  io: IoContract;
  source: IoSource;
}

const describe = (spec: TensorSpec) => `${spec.dtype} ${describeShape(spec.shape)}`;

function compareTensors(
  role: "input" | "output",
  declared: readonly TensorSpec[],
  actual: readonly TensorSpec[],
  problems: FieldProblem[],
): void {
  const field = `io.${role}s`;
  declared.forEach((spec, index) => {
    const found = actual.find((tensor) => tensor.name === spec.name);
    if (!found) {
      const names = actual.map((tensor) => `'${tensor.name}'`).join(", ");
      problems.push({
        field: `${field}.${index}.name`,
        message: `the model file has no ${role} '${spec.name}'; its ${role}s are ${names}`,
      });
      return;
    }
    if (found.dtype !== spec.dtype) {
      problems.push({
        field: `${field}.${index}.dtype`,
        message: `is ${spec.dtype}, but the model file's ${role} '${spec.name}' is ${found.dtype}`,
      });
    }
    if (found.shape.length !== spec.shape.length) {
      problems.push({
        field: `${field}.${index}.shape`,
        message: `has ${spec.shape.length} dimensions, but the model file's ${role} '${spec.name}' is ${describeShape(found.shape)}`,
      });
      return;
    }
    found.shape.forEach((dimension, d) => {
      if (typeof dimension === "number" && spec.shape[d] !== dimension) {
        problems.push({
          field: `${field}.${index}.shape.${d}`,
          message: `is ${JSON.stringify(spec.shape[d])}, but the model file fixes dimension ${d} of '${spec.name}' at ${dimension}`,
        });
      }
    });
  });
}

/** The contract to register: the file's, or the declared one checked against it. */
export function resolveIoContract(
  kind: ModelKind,
  declared: IoContract | undefined,
  reading: OnnxIoReading,
): Result<ResolvedIo> {
  if (!reading.ok) {
    if (declared !== undefined) return ok({ io: declared, source: "declared" });
    return err(
      new ModelgateError(
        "validation_failed",
        `Declare io: the model's inputs and outputs could not be read from the artifact (${reading.reason}).`,
        [{ field: "io", message: `required: the artifact's graph could not be read (${reading.reason})` }],
      ),
    );
  }
  if (declared === undefined) return ok({ io: reading.io, source: "artifact" });
  const problems: FieldProblem[] = [];
  compareTensors("input", declared.inputs, reading.io.inputs, problems);
  compareTensors("output", declared.outputs, reading.io.outputs, problems);
  // V2 and /predict feed exactly the contract's inputs; a language model's decoder feeds what the session takes.
  if (kind === "tensor") {
    for (const input of reading.io.inputs) {
      if (!declared.inputs.some((spec) => spec.name === input.name)) {
        problems.push({
          field: "io.inputs",
          message: `the model file also takes input '${input.name}' (${describe(input)}), which is not declared`,
        });
      }
    }
  }
  const [first] = problems;
  if (first) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : "";
    return err(
      new ModelgateError(
        "artifact_mismatch",
        `The declared io does not match the model file: ${first.field}: ${first.message}${more}.`,
        problems,
      ),
    );
  }
  return ok({ io: declared, source: "artifact" });
}
