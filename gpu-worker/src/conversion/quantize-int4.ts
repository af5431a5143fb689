/**
 * int4 block-wise weight-only quantization onto onnxruntime's `com.microsoft.MatMulNBits`
 * (bits 4, block_size 32): a MatMul (or plain Gemm) whose B is a constant [K, N] float32 matrix
 * becomes one MatMulNBits node reading
 *   B           uint8 [N, ceil(K/32), 16]  column n's K values, 32 per block, two per byte
 *                                          (even k in the low nibble, odd k in the high nibble);
 *   scales      float32 [N * ceil(K/32)]   one per (column, block), column-major like B;
 *   zero_points uint8 [N * ceil(ceil(K/32) / 2)]  one 4-bit zero point per block, packed the same way;
 * and computes A @ ((q - zero_point) * scale). Blocks are symmetric by default, as MLAS quantizes
 * them: zero point 8 and the block's larger-magnitude value exactly at -8, a step of max|w| / 8
 * against asymmetric min/max's (max - min) / 15, so finer for zero-centred weights (measured on
 * ref-decoder-large: logit cosine 0.99999 against 0.99995, max logit error 1.66 against 1.77).
 * Zero points are still stored (all 8) so the file does not depend on the op's default.
 *
 * A K that is not a multiple of 32 gets a zero-padded last block, as the op's ceil(K/32) layout
 * expects; a K under 32 (a single mostly-padding block would be larger than int8), anything
 * MatMulNBits cannot express (Gather tables, Gemm with transA/alpha/beta) and the output
 * projection are left to the int8 pass, which runs after this one.
 */
import { makeTensor, type OnnxTypes, onnx, readTensorValues } from "../onnx/onnx-graph-builder.js";
import type { PassStats } from "./convert-to-fp16.js";
import { ensureOpsetImport, floatAttribute, intAttribute, NameAllocator } from "./graph-analysis.js";
import { type OutputProjectionStorage, quantizeInt8 } from "./quantize-int8.js";
import { findWeightCandidates, opsWithFloatMatrixWeights, type WeightCandidate } from "./weight-candidates.js";

export const INT4_BLOCK_SIZE = 32;
const BYTES_PER_BLOCK = INT4_BLOCK_SIZE / 2;
const MICROSOFT_DOMAIN = "com.microsoft";

export interface Int4Blocks {
  /** [N, kBlocks, 16] */
  packed: Uint8Array;
  /** [N * kBlocks] */
  scales: Float32Array;
  /** [N, ceil(kBlocks / 2)] */
  zeroPoints: Uint8Array;
  kBlocks: number;
}

/** Stores 4-bit value `index` of a packed run starting at byte `base`: even in the low nibble, odd in the high. */
function setNibble(bytes: Uint8Array, base: number, index: number, value: number): void {
  const at = base + (index >> 1);
  bytes[at] = (bytes[at] ?? 0) | (value << ((index & 1) * 4));
}

/**
 * Quantizes B (row-major [K, N], or [N, K] when `transposed`, as Gemm's transB stores it) into
 * MatMulNBits' layout.
 */
export function quantizeBlockwiseInt4(
  weights: Float32Array,
  k: number,
  n: number,
  transposed: boolean,
  symmetric = true,
): Int4Blocks {
  const kBlocks = Math.ceil(k / INT4_BLOCK_SIZE);
  const zeroPointStride = Math.ceil(kBlocks / 2);
  const packed = new Uint8Array(n * kBlocks * BYTES_PER_BLOCK);
  const scales = new Float32Array(n * kBlocks);
  const zeroPoints = new Uint8Array(n * zeroPointStride);
  const weightAt = (row: number, column: number) => weights[transposed ? column * k + row : row * n + column] ?? 0;
  for (let column = 0; column < n; column++) {
    for (let block = 0; block < kBlocks; block++) {
      const start = block * INT4_BLOCK_SIZE;
      const end = Math.min(k, start + INT4_BLOCK_SIZE);
      let min = 0;
      let max = 0;
      for (let row = start; row < end; row++) {
        min = Math.min(min, weightAt(row, column));
        max = Math.max(max, weightAt(row, column));
      }
      let scale: number;
      let zeroPoint: number;
      if (symmetric) {
        // MLAS's symmetric scheme: the larger-magnitude end maps exactly onto -8 (a negative
        // scale when that end is positive), so only the smaller end can meet the clamp at 7.
        const extreme = -min > max ? min : max;
        scale = extreme !== 0 ? Math.fround(extreme / -8) : 1;
        zeroPoint = 8;
      } else {
        scale = max > min ? Math.fround((max - min) / 15) : 1;
        zeroPoint = Math.max(0, Math.min(15, Math.round(-min / scale)));
      }
      const blockIndex = column * kBlocks + block;
      scales[blockIndex] = scale;
      setNibble(zeroPoints, column * zeroPointStride, block, zeroPoint);
      for (let offset = 0; offset < INT4_BLOCK_SIZE; offset++) {
        const row = start + offset;
        // Padding rows past K hold the zero point, i.e. dequantize to exactly 0.
        const q =
          row < end ? Math.max(0, Math.min(15, Math.round(weightAt(row, column) / scale) + zeroPoint)) : zeroPoint;
        setNibble(packed, blockIndex * BYTES_PER_BLOCK, offset, q);
      }
    }
  }
  return { packed, scales, zeroPoints, kBlocks };
}

/** Gemm maps onto MatMulNBits (+ Add for C) only as plain Y = A @ B' + C. */
function isPlainGemm(node: OnnxTypes.INodeProto): boolean {
  return (
    intAttribute(node, "transA", 0) === 0 &&
    floatAttribute(node, "alpha", 1) === 1 &&
    floatAttribute(node, "beta", 1) === 1
  );
}

function int4Eligible(candidate: WeightCandidate): boolean {
  const k = candidate.channelAxis === 1 ? candidate.rows : candidate.columns;
  if (k < INT4_BLOCK_SIZE) return false;
  return candidate.uses.every(({ node, kind }) => kind === "matmul" || (kind === "gemm" && isPlainGemm(node)));
}

function intAttr(name: string, value: number): OnnxTypes.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i: value };
}

export interface Int4Options {
  /**
   * The output projection is never int4 (see WeightCandidate.outputProjection). Default "fp16":
   * measured on ref-decoder-large, an int8 lm_head leaves top-1 agreement at 95.0 % (the int8
   * pass's per-column steps reorder near-ties), a float16 one at 96.0 %, for 0.5 % more bytes.
   */
  outputProjection?: OutputProjectionStorage;
  /** Default true (see quantizeBlockwiseInt4); false gives asymmetric min/max blocks. */
  symmetric?: boolean;
}

/** Rewrites `model` in place: MatMulNBits where possible, int8 DequantizeLinear for the rest. */
export function quantizeInt4(model: OnnxTypes.IModelProto, options: Int4Options = {}): PassStats | { reason: string } {
  const graph = model.graph;
  if (!graph) throw new TypeError("the model has no graph");
  const names = new NameAllocator(graph);
  const candidates = findWeightCandidates(graph).filter(
    (candidate) => !candidate.outputProjection && int4Eligible(candidate),
  );
  const replacements = new Map<OnnxTypes.INodeProto, OnnxTypes.INodeProto[]>();
  const added: OnnxTypes.TensorProto[] = [];
  const removed = new Set<OnnxTypes.ITensorProto>();

  for (const candidate of candidates) {
    const weights = readTensorValues(candidate.tensor);
    if (!(weights instanceof Float32Array)) throw new TypeError(`weight ${candidate.name} is not float32`);
    // channelAxis 0 means Gemm with transB=1: the matrix is stored [N, K].
    const transposed = candidate.channelAxis === 0;
    const k = transposed ? candidate.columns : candidate.rows;
    const n = transposed ? candidate.rows : candidate.columns;
    const blocks = quantizeBlockwiseInt4(weights, k, n, transposed, options.symmetric ?? true);
    const packedName = names.allocate(`${candidate.name}_int4`);
    const scalesName = names.allocate(`${candidate.name}_int4_scales`);
    const zeroPointsName = names.allocate(`${candidate.name}_int4_zero_points`);
    added.push(
      makeTensor(packedName, "uint8", [n, blocks.kBlocks, BYTES_PER_BLOCK], blocks.packed),
      makeTensor(scalesName, "float32", [blocks.scales.length], blocks.scales),
      makeTensor(zeroPointsName, "uint8", [blocks.zeroPoints.length], blocks.zeroPoints),
    );
    removed.add(candidate.tensor);

    for (const { node } of candidate.uses) {
      const [a = "", , bias] = node.input ?? [];
      const [output = ""] = node.output ?? [];
      const matMulOutput = bias ? names.allocate(`${output}_before_bias`) : output;
      const nodeName = node.name || names.allocate(`${candidate.name}_matmul`);
      const rewritten: OnnxTypes.INodeProto[] = [
        onnx.NodeProto.create({
          name: names.allocate(`${nodeName}_int4`),
          opType: "MatMulNBits",
          domain: MICROSOFT_DOMAIN,
          input: [a, packedName, scalesName, zeroPointsName],
          output: [matMulOutput],
          attribute: [intAttr("K", k), intAttr("N", n), intAttr("bits", 4), intAttr("block_size", INT4_BLOCK_SIZE)],
        }),
      ];
      if (bias) {
        rewritten.push(
          onnx.NodeProto.create({
            name: names.allocate(`${nodeName}_bias`),
            opType: "Add",
            input: [matMulOutput, bias],
            output: [output],
          }),
        );
      }
      replacements.set(node, rewritten);
    }
  }

  graph.node = (graph.node ?? []).flatMap((node) => replacements.get(node) ?? [node]);
  graph.initializer = [...(graph.initializer ?? []).filter((tensor) => !removed.has(tensor)), ...added];
  if (candidates.length > 0) ensureOpsetImport(model, MICROSOFT_DOMAIN, 1);

  const rest = quantizeInt8(model, { outputProjection: options.outputProjection ?? "fp16" });
  if ("reason" in rest) return rest;
  return {
    convertedInitializers: candidates.length + rest.convertedInitializers,
    keptFp32Ops: opsWithFloatMatrixWeights(graph),
  };
}
