/**
 * int8 weight-only quantization: each MatMul/Gemm weight (the B input), each Gather embedding
 * table and each Conv weight (per output channel, axis 0 of [M, C/group, kH, kW]) becomes int8
 * with one float32 scale per output channel (symmetric, so no zero point is stored), and a
 * DequantizeLinear node recreates the float32 weight under its original name.
 * Every reader is untouched and all compute stays float32; only storage shrinks, about 4x. The
 * output projection (lm_head) is stored as float16 instead (see Int8Options).
 *
 * Gather tables are dequantized whole, then gathered (rather than gathering int8 rows and scaling
 * them): one node instead of four, the same graph shape as the MatMul weights, and ORT
 * dequantizes a constant table once per run at memory speed (a few microseconds for the
 * reference decoder's 512x512 table), which the tests' latency does not notice.
 */
import { makeTensor, type OnnxTypes, onnx, readTensorValues } from "../onnx/onnx-graph-builder.js";
import type { PassStats } from "./convert-to-fp16.js";
import { float32ArrayToFloat16 } from "./float16.js";
import { defaultOpsetVersion, FLOAT, NameAllocator } from "./graph-analysis.js";
import { findWeightCandidates, opsWithFloatMatrixWeights, type WeightCandidate } from "./weight-candidates.js";

/** DequantizeLinear gained its `axis` attribute (per-channel scales) in opset 13. */
export const MIN_OPSET_FOR_PER_CHANNEL = 13;

export interface QuantizedChannels {
  values: Int8Array;
  scales: Float32Array;
}

/**
 * Symmetric per-channel int8 of a row-major [rows, columns] matrix, channels along `channelAxis`:
 * scale = max|w| / 127 per channel and q = round(w / scale) in [-127, 127] (-128 is left unused
 * so that the range is symmetric and w = -max stays exact).
 */
export function quantizePerChannelInt8(
  weights: Float32Array,
  rows: number,
  columns: number,
  channelAxis: 0 | 1,
): QuantizedChannels {
  const channels = channelAxis === 1 ? columns : rows;
  const maxAbs = new Float64Array(channels);
  const channelOf = (row: number, column: number) => (channelAxis === 1 ? column : row);
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) {
      const channel = channelOf(row, column);
      maxAbs[channel] = Math.max(maxAbs[channel] ?? 0, Math.abs(weights[row * columns + column] ?? 0));
    }
  }
  // An all-zero channel gets scale 1 (any non-zero scale reproduces its zeros exactly).
  const scales = Float32Array.from(maxAbs, (max) => (max > 0 ? max / 127 : 1));
  const values = new Int8Array(rows * columns);
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) {
      const index = row * columns + column;
      const scaled = (weights[index] ?? 0) / (scales[channelOf(row, column)] ?? 1);
      // Rounds halves away from zero, so that w and -w quantize to opposite values.
      values[index] = Math.max(-127, Math.min(127, Math.sign(scaled) * Math.round(Math.abs(scaled))));
    }
  }
  return { values, scales };
}

/**
 * Replaces one weight initializer with int8 values + scales and a DequantizeLinear that outputs
 * the original name; returns the node, which must run before the weight's first reader.
 */
export function dequantizedInt8Weight(
  graph: OnnxTypes.IGraphProto,
  candidate: WeightCandidate,
  names: NameAllocator,
): { initializers: OnnxTypes.TensorProto[]; node: OnnxTypes.NodeProto } {
  const weights = readTensorValues(candidate.tensor);
  if (!(weights instanceof Float32Array)) throw new TypeError(`weight ${candidate.name} is not float32`);
  const { values, scales } = quantizePerChannelInt8(weights, candidate.rows, candidate.columns, candidate.channelAxis);
  const valuesName = names.allocate(`${candidate.name}_int8`);
  const scalesName = names.allocate(`${candidate.name}_scale`);
  const node = onnx.NodeProto.create({
    name: names.allocate(`${candidate.name}_dequantize`),
    opType: "DequantizeLinear",
    input: [valuesName, scalesName],
    output: [candidate.name],
    attribute: [{ name: "axis", type: onnx.AttributeProto.AttributeType.INT, i: candidate.channelAxis }],
  });
  graph.initializer = (graph.initializer ?? []).filter((tensor) => tensor !== candidate.tensor);
  return {
    initializers: [
      makeTensor(valuesName, "int8", candidate.dims, values),
      makeTensor(scalesName, "float32", [scales.length], scales),
    ],
    node,
  };
}

/** Stores a weight as float16 with a Cast back to float32 under its original name (half the bytes, exact to 2^-11). */
export function castFloat16Weight(
  graph: OnnxTypes.IGraphProto,
  candidate: WeightCandidate,
  names: NameAllocator,
): { initializers: OnnxTypes.TensorProto[]; node: OnnxTypes.NodeProto } {
  const weights = readTensorValues(candidate.tensor);
  if (!(weights instanceof Float32Array)) throw new TypeError(`weight ${candidate.name} is not float32`);
  const storedName = names.allocate(`${candidate.name}_fp16`);
  const node = onnx.NodeProto.create({
    name: names.allocate(`${candidate.name}_cast`),
    opType: "Cast",
    input: [storedName],
    output: [candidate.name],
    attribute: [{ name: "to", type: onnx.AttributeProto.AttributeType.INT, i: FLOAT }],
  });
  graph.initializer = (graph.initializer ?? []).filter((tensor) => tensor !== candidate.tensor);
  return {
    initializers: [makeTensor(storedName, "float16", candidate.dims, float32ArrayToFloat16(weights))],
    node,
  };
}

/** How the output projection (see WeightCandidate.outputProjection) is stored. */
export type OutputProjectionStorage = "int8" | "fp16" | "fp32";

export interface Int8Options {
  /**
   * Default "fp16". ref-decoder's top two logits are often within 0.01 of each other, and int8's
   * per-column step moves its logits by up to 0.1 (float16's by up to 0.005): measured on
   * ref-decoder-large, top-1 agreement is 96.7 % with an int8 lm_head, 99.0 % with float16 and
   * 98.8 % with float32 (the rest is the int8 blocks' noise), for +0.5 % and +1.5 % of the bytes.
   * "fp32" leaves it as it is, as bitsandbytes' llm_int8_skip_modules=["lm_head"] does.
   */
  outputProjection?: OutputProjectionStorage;
}

/**
 * Quantizes every qualifying weight (see weight-candidates.ts) of `model` in place. Returns a
 * reason instead when the model's opset predates per-channel DequantizeLinear: raising the
 * opset would silently change the meaning of other ops (Unsqueeze, Squeeze, ReduceSum, Split).
 */
export function quantizeInt8(model: OnnxTypes.IModelProto, options: Int8Options = {}): PassStats | { reason: string } {
  const graph = model.graph;
  if (!graph) throw new TypeError("the model has no graph");
  const opset = defaultOpsetVersion(model);
  const outputProjection = options.outputProjection ?? "fp16";
  const candidates = findWeightCandidates(graph).filter(
    (candidate) => !candidate.outputProjection || outputProjection !== "fp32",
  );
  if (candidates.length > 0 && opset < MIN_OPSET_FOR_PER_CHANNEL) {
    return {
      reason: `int8 needs opset >= ${MIN_OPSET_FOR_PER_CHANNEL} (per-channel DequantizeLinear); the model imports opset ${opset}`,
    };
  }
  const names = new NameAllocator(graph);
  const dequantizeNodes: OnnxTypes.NodeProto[] = [];
  const added: OnnxTypes.TensorProto[] = [];
  for (const candidate of candidates) {
    const storeFp16 = candidate.outputProjection && outputProjection === "fp16";
    const { initializers, node } = (storeFp16 ? castFloat16Weight : dequantizedInt8Weight)(graph, candidate, names);
    added.push(...initializers);
    dequantizeNodes.push(node);
  }
  // Dequantization reads only initializers, so it can all run first, before any reader.
  graph.node = [...dequantizeNodes, ...(graph.node ?? [])];
  graph.initializer = [...(graph.initializer ?? []), ...added];
  return { convertedInitializers: candidates.length, keptFp32Ops: opsWithFloatMatrixWeights(graph) };
}
