/**
 * The stand-in worker's `/v1/infer`: it decodes the edge's tensor frame with the same shared
 * codec the real worker uses and answers with outputs a test can predict, so the edge's V2 and
 * seed 004 translations run on real frames. For each output the target's contract lists:
 * - `echo_<input>`: that input, unchanged (every datatype's round trip);
 * - a float `[batch, k]` output of a model with a float `features` `[batch, n]` input: each row's
 *   softmax (columns past n read 0), which makes `spirals` a working classifier;
 * - anything else: zeros of the output's datatype, dynamic dimensions the batch.
 * A `features` input whose rows are not 2 wide is refused with 400, as a worker would refuse
 * rows its model cannot take.
 */
import {
  decodeTensorBytes,
  decodeTensorFrame,
  elementCount,
  encodeTensorBytes,
  encodeTensorFrame,
  type FrameTensor,
  type TensorValues,
  v2DatatypeOf,
  WorkerInferHeaderSchema,
  type WorkerInferResultHeader,
} from "@modelgate/shared";

function problem(status: number, detail: string) {
  return {
    status,
    body: JSON.stringify({ type: "about:blank", title: "Refused", status, code: "validation_failed", detail }),
  };
}

export function standInTensorAnswer(bytes: Uint8Array): { status: number; body: Uint8Array | string } {
  const frame = decodeTensorFrame(bytes, WorkerInferHeaderSchema, (header) => header.inputs);
  if (!frame.ok) return problem(400, frame.error);
  const { header, tensors } = frame.value;
  const inputs = new Map<string, { tensor: FrameTensor; bytes: Uint8Array; values: TensorValues }>();
  for (const [index, tensor] of header.inputs.entries()) {
    const raw = tensors[index] ?? new Uint8Array();
    const values = decodeTensorBytes(raw, tensor.datatype, elementCount(tensor.shape), tensor.name);
    if (!values.ok) return problem(400, values.error);
    inputs.set(tensor.name, { tensor, bytes: raw, values: values.value });
  }
  const features = inputs.get("features");
  if (features && features.tensor.shape[1] !== 2) {
    return problem(400, `each row of features must have 2 values, not ${features.tensor.shape[1]}`);
  }
  const batch = header.inputs[0]?.shape[0] ?? 1;
  const wanted = header.outputs ?? header.target.io.outputs.map((output) => output.name);
  const outputs: FrameTensor[] = [];
  const parts: Uint8Array[] = [];
  for (const name of wanted) {
    const spec = header.target.io.outputs.find((output) => output.name === name);
    if (!spec) return problem(400, `no output ${name}`);
    const echoed = name.startsWith("echo_") ? inputs.get(name.slice("echo_".length)) : undefined;
    if (echoed) {
      outputs.push({ ...echoed.tensor, name });
      parts.push(echoed.bytes);
      continue;
    }
    const shape = spec.shape.map((dim) => (typeof dim === "number" ? dim : batch));
    const datatype = v2DatatypeOf(spec.dtype);
    let part: Uint8Array;
    if (features && spec.dtype === "float32" && shape.length === 2 && !Array.isArray(features.values)) {
      const width = features.tensor.shape[1] ?? 0;
      const columns = shape[1] ?? 0;
      const values = new Float32Array(batch * columns);
      for (let row = 0; row < batch; row++) {
        const logits = Array.from({ length: columns }, (_, c) =>
          c < width ? Number(features.values[row * width + c]) : 0,
        );
        const max = Math.max(...logits);
        const exps = logits.map((v) => Math.exp(v - max));
        const sum = exps.reduce((a, b) => a + b, 0);
        exps.forEach((v, c) => {
          values[row * columns + c] = v / sum;
        });
      }
      part = encodeTensorBytes(values);
    } else if (spec.dtype === "string") {
      part = encodeTensorBytes(new Array<string>(elementCount(shape)).fill(""));
    } else {
      const width = {
        bool: 1,
        uint8: 1,
        int8: 1,
        uint16: 2,
        int16: 2,
        float16: 2,
        uint32: 4,
        int32: 4,
        float32: 4,
        uint64: 8,
        int64: 8,
        float64: 8,
      }[spec.dtype];
      part = new Uint8Array(elementCount(shape) * width);
    }
    outputs.push({ name, datatype, shape, byte_size: part.byteLength });
    parts.push(part);
  }
  const result: WorkerInferResultHeader = {
    model: header.target.name,
    version: header.target.version,
    worker_id: "stand-in",
    inference_time_ms: 1.5,
    queue_time_ms: 0,
    batch_size: batch,
    outputs,
  };
  return { status: 200, body: encodeTensorFrame(result, parts) };
}
