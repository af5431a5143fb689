/**
 * Which float32 initializers the weight-only quantizers may rewrite, and along which axis each
 * one's output channels run. A weight qualifies only when every reader agrees on that axis, so a
 * single dequantized copy can serve all of them.
 */
import { type OnnxTypes, tensorDims } from "../onnx/onnx-graph-builder.js";
import { consumersByValue, FLOAT, intAttribute } from "./graph-analysis.js";

/**
 * Fewer values per scale than this and quantizing saves little or nothing (a float32 scale per
 * 2-wide row of demo-lm's halt table would make the table bigger), so such weights stay float32.
 */
export const MIN_VALUES_PER_SCALE = 16;

export interface WeightUse {
  node: OnnxTypes.INodeProto;
  kind: "matmul" | "gemm" | "gather" | "conv";
}

export interface WeightCandidate {
  name: string;
  tensor: OnnxTypes.ITensorProto;
  /** The weight's own dimensions ([K, N] for a matrix, [M, C/group, kH, kW] for a Conv). */
  dims: number[];
  /** The weight as a row-major matrix: dims[0] × the rest for a Conv weight. */
  rows: number;
  columns: number;
  /** The axis that indexes output channels: 1 for a MatMul B [K, N], 0 for a Gather table row or a Conv's output channels. */
  channelAxis: 0 | 1;
  uses: WeightUse[];
  /**
   * A MatMul/Gemm reading it writes a graph output directly: the model's output projection (a
   * language model's lm_head), whose error lands on the logits unaveraged. The quantizers keep it
   * one step more precise than the rest, as bitsandbytes (llm_int8_skip_modules=["lm_head"]),
   * llama.cpp (output.weight above the rest) and NVIDIA ModelOpt's ONNX int4 quantizer
   * (nodes_to_exclude=["/lm_head"] by default) do.
   */
  outputProjection: boolean;
}

/** MatMul and Gemm nodes that write a graph output: the layers whose precision the outputs see directly. */
export function isOutputProjection(node: OnnxTypes.INodeProto, graphOutputs: ReadonlySet<string>): boolean {
  if (node.domain && node.domain !== "ai.onnx") return false;
  if (node.opType !== "MatMul" && node.opType !== "Gemm") return false;
  return (node.output ?? []).some((output) => graphOutputs.has(output));
}

/** The channel axis this reader needs, or undefined when the reader cannot take a dequantized weight. */
function channelAxisFor(
  node: OnnxTypes.INodeProto,
  name: string,
): { axis: 0 | 1; kind: WeightUse["kind"] } | undefined {
  if (node.domain && node.domain !== "ai.onnx") return undefined;
  const inputs = node.input ?? [];
  // Only the B input: an initializer in the A slot (or in both) is data, not a layer's weight.
  const onlyAt = (index: number) => inputs.every((input, i) => (i === index) === (input === name));
  if (node.opType === "MatMul" && onlyAt(1)) return { axis: 1, kind: "matmul" };
  if (node.opType === "Gemm" && onlyAt(1)) return { axis: intAttribute(node, "transB", 0) === 1 ? 0 : 1, kind: "gemm" };
  if (node.opType === "Gather" && onlyAt(0) && intAttribute(node, "axis", 0) === 0) return { axis: 0, kind: "gather" };
  // A Conv weight W [M, C/group, k…] has its output channels on axis 0 (per-channel, as ORT's quantizer does).
  if (node.opType === "Conv" && onlyAt(1)) return { axis: 0, kind: "conv" };
  return undefined;
}

export function findWeightCandidates(graph: OnnxTypes.IGraphProto): WeightCandidate[] {
  const consumers = consumersByValue(graph);
  const graphInputs = new Set((graph.input ?? []).map((info) => info.name ?? ""));
  const graphOutputs = new Set((graph.output ?? []).map((info) => info.name ?? ""));
  const candidates: WeightCandidate[] = [];
  for (const tensor of graph.initializer ?? []) {
    const name = tensor.name ?? "";
    const dims = tensorDims(tensor);
    // A weight that is also a graph input can be overridden at run time; one that is a graph
    // output must come out as it went in.
    if (tensor.dataType !== FLOAT || graphInputs.has(name) || graphOutputs.has(name)) continue;
    const readers = consumers.get(name) ?? [];
    const axes = readers.map((node) => channelAxisFor(node, name));
    const first = axes[0];
    if (
      !first ||
      axes.some(
        (axis) => axis === undefined || axis.axis !== first.axis || (axis.kind === "conv") !== (first.kind === "conv"),
      )
    ) {
      continue;
    }
    // Matrices for MatMul/Gemm/Gather; a Conv weight of any spatial rank, seen as [M, C/group × k…].
    const matrix = first.kind === "conv" ? dims.length >= 3 : dims.length === 2;
    const rows = dims[0];
    const columns = dims.slice(1).reduce((product, dim) => product * dim, 1);
    if (!matrix || rows === undefined || columns === 0) continue;
    const valuesPerScale = first.axis === 1 ? rows : columns;
    if (valuesPerScale < MIN_VALUES_PER_SCALE) continue;
    const uses = readers.map((node, i) => ({ node, kind: axes[i]?.kind ?? first.kind }));
    const outputProjection = readers.some((node) => isOutputProjection(node, graphOutputs));
    candidates.push({ name, tensor, dims, rows, columns, channelAxis: first.axis, uses, outputProjection });
  }
  return candidates;
}

/** Sorted op types that still read a float32 matrix (2-D or larger) initializer after a pass. */
export function opsWithFloatMatrixWeights(graph: OnnxTypes.IGraphProto): string[] {
  const floatMatrices = new Set(
    (graph.initializer ?? [])
      .filter((tensor) => tensor.dataType === FLOAT && tensorDims(tensor).length >= 2)
      .map((tensor) => tensor.name ?? ""),
  );
  const ops = new Set<string>();
  for (const node of graph.node ?? []) {
    if ((node.input ?? []).some((input) => floatMatrices.has(input))) ops.add(node.opType ?? "");
  }
  return [...ops].sort();
}
