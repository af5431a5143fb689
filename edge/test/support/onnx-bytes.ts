/**
 * ONNX files for the edge's tests, written byte by byte: a ModelProto whose graph declares the
 * given inputs and outputs (and optionally a large initializer before them, as exporters put
 * weights), with no nodes. onnxruntime could not run it; the edge only reads its io, so this is
 * all the registry needs, and it keeps onnx-proto (a worker dependency) out of workerd.
 */
import type { TensorSpec } from "@modelgate/shared";

const ELEMENT_TYPE: Record<TensorSpec["dtype"], number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  string: 8,
  bool: 9,
  float16: 10,
  float64: 11,
  uint32: 12,
  uint64: 13,
};

const encoder = new TextEncoder();

function varint(value: number): number[] {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return bytes;
}

const field = (number: number, wireType: number) => varint(number * 8 + wireType);
const varintField = (number: number, value: number) => [...field(number, 0), ...varint(value)];
const bytesField = (number: number, bytes: ArrayLike<number>) => [
  ...field(number, 2),
  ...varint(bytes.length),
  ...Array.from(bytes),
];
const stringField = (number: number, text: string) => bytesField(number, encoder.encode(text));

function valueInfo(spec: TensorSpec): number[] {
  const dims = spec.shape.map((dim) =>
    bytesField(1, typeof dim === "number" ? varintField(1, dim) : stringField(2, dim)),
  );
  const tensor = [...varintField(1, ELEMENT_TYPE[spec.dtype]), ...bytesField(2, dims.flat())];
  return [...stringField(1, spec.name), ...bytesField(2, bytesField(1, tensor))];
}

export function onnxIoModel(
  io: { inputs: TensorSpec[]; outputs: TensorSpec[] },
  options: { weightBytes?: number } = {},
): Uint8Array {
  const weights = options.weightBytes
    ? [
        bytesField(5, [
          ...varintField(1, options.weightBytes / 4),
          ...varintField(2, 1),
          ...stringField(8, "weight"),
          ...bytesField(9, new Uint8Array(options.weightBytes)),
        ]),
      ]
    : [];
  const graph = [
    ...stringField(2, "test-graph"),
    ...weights.flat(),
    ...io.inputs.flatMap((spec) => bytesField(11, valueInfo(spec))),
    ...io.outputs.flatMap((spec) => bytesField(12, valueInfo(spec))),
  ];
  const opset = [...stringField(1, ""), ...varintField(2, 17)];
  return Uint8Array.from([
    ...varintField(1, 8),
    ...stringField(2, "modelgate-test"),
    ...bytesField(7, graph),
    ...bytesField(8, opset),
  ]);
}
