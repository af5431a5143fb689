/**
 * fp32 -> fp16, in the manner of onnxconverter-common's `convert_float_to_float16(keep_io_types=True)`:
 * every float initializer is stored as float16 and the graph computes in float16, except for ops
 * kept in float32 (with Casts around them); graph inputs and outputs stay float32 under their
 * original names, so callers (and the KV-cache loop feeding present.* back as past_key_values.*)
 * see the same contract as before. The output projection (a MatMul/Gemm writing a graph output,
 * an LM's lm_head) keeps its float32 weight and compute, as ORT's auto_mixed_precision does.
 */
import { makeTensor, type OnnxTypes, onnx, readTensorValues } from "../onnx/onnx-graph-builder.js";
import { float32ArrayToFloat16 } from "./float16.js";
import { consumersByValue, FLOAT, FLOAT16, inferElementTypes, NameAllocator } from "./graph-analysis.js";
import { isOutputProjection } from "./weight-candidates.js";

/**
 * Ops that compute in float32 whatever the target: reductions and normalizations whose
 * accumulations lose too much (or overflow: a mean of squares passes 65504 as soon as an
 * activation passes 256), transcendental functions with poor float16 conditioning (Cos/Sin of a
 * RoPE angle: at position 1000 float16 has half a radian of resolution), ops whose float inputs
 * or attributes are not of the tensor's type (Range, Resize scales, ConstantOfShape's value,
 * quantization scales before opset 19), and ops with subgraphs this pass does not descend into.
 */
export const FP16_KEEP_FP32_OPS: readonly string[] = [
  "Softmax",
  "LogSoftmax",
  "ReduceMean",
  "ReduceSum",
  "ReduceSumSquare",
  "ReduceL2",
  "ReduceLogSum",
  "ReduceLogSumExp",
  "ReduceProd",
  "CumSum",
  "Pow",
  "Sqrt",
  "Exp",
  "Log",
  "Reciprocal",
  "Cos",
  "Sin",
  "LayerNormalization",
  "SimplifiedLayerNormalization",
  "SkipLayerNormalization",
  "SkipSimplifiedLayerNormalization",
  "RMSNormalization",
  "GroupNormalization",
  "InstanceNormalization",
  "Range",
  "Resize",
  "Upsample",
  "ConstantOfShape",
  "EyeLike",
  "RandomNormal",
  "RandomUniform",
  "RandomNormalLike",
  "RandomUniformLike",
  "Multinomial",
  "QuantizeLinear",
  "DequantizeLinear",
  "DynamicQuantizeLinear",
  "If",
  "Loop",
  "Scan",
];

/**
 * Ops the CPU execution provider cannot run in float16. Empty, measured on onnxruntime-node
 * 1.30 (x64): session creation never fails with "Could not find an implementation" for a float16
 * node, because ORT's InsertCastTransformer wraps every CPU node lacking a float16 kernel in
 * Casts to float32 (on x64 that is all arithmetic: Add, Mul, MatMul, Gemm, Softmax, Sigmoid, ...;
 * only data movement, Min/Max/Clip and the LayerNormalization family have float16 CPU kernels).
 * So the converted model loads and runs on CPU as is, computing in float32 between float16
 * roundings; on CUDA the same file computes in float16. Kept as a list so that an execution
 * provider that does fail on an op can name it here.
 */
export const CPU_FP16_BLOCKED_OPS: readonly string[] = [];

/**
 * Cheap ops that follow their consumers: when everything that reads such a node's output computes
 * in float32, the node runs in float32 too. That is what keeps "anything feeding the RMSNorm
 * statistic" (the x*x under ReduceMean, the +eps before Sqrt) and the RoPE angle (Cast of
 * position_ids, Unsqueeze, Mul by inv_freq before Cos/Sin) in full precision, without a Cast
 * round trip through float16 in between. MatMul/Gemm never follow: they are what fp16 is for.
 */
const FOLLOW_CONSUMER_OPS = new Set([
  "Add",
  "Sub",
  "Mul",
  "Div",
  "Neg",
  "Abs",
  "Max",
  "Min",
  "Clip",
  "Where",
  "Cast",
  "Identity",
  "Constant",
  "Unsqueeze",
  "Squeeze",
  "Reshape",
  "Flatten",
  "Transpose",
  "Expand",
  "Tile",
  "Concat",
  "Slice",
  "Gather",
  "Split",
]);

/** Ops whose first input may be of any float type: no Cast is needed in front of them. */
const ANY_TYPE_FIRST_INPUT = new Set(["Shape", "Size", "Cast"]);

type Precision = "fp16" | "fp32";

export interface Fp16Options {
  /** Op types to keep in float32 on top of FP16_KEEP_FP32_OPS and CPU_FP16_BLOCKED_OPS. */
  keepFp32Ops?: readonly string[];
  /** Keep MatMul/Gemm nodes that write a graph output, and their weights, in float32 (see below). Default true. */
  keepOutputProjectionFp32?: boolean;
}

export interface PassStats {
  convertedInitializers: number;
  /** Sorted op types that still compute in float32 (fp16) or keep float32 weights (int8/int4). */
  keptFp32Ops: string[];
}

function hasSubgraph(node: OnnxTypes.INodeProto): boolean {
  return (node.attribute ?? []).some((attr) => attr.g || (attr.graphs ?? []).length > 0);
}

function toFloat16Tensor(tensor: OnnxTypes.ITensorProto, name: string): OnnxTypes.TensorProto {
  const values = readTensorValues(tensor);
  if (!(values instanceof Float32Array)) throw new TypeError(`tensor ${name} is not float32`);
  const dims = (tensor.dims ?? []).map(Number);
  return makeTensor(name, "float16", dims, float32ArrayToFloat16(values));
}

/** Rewrites `model` (a freshly parsed copy) in place. */
export function convertToFp16(model: OnnxTypes.IModelProto, options: Fp16Options = {}): PassStats {
  const graph = model.graph;
  if (!graph) throw new TypeError("the model has no graph");
  const nodes = graph.node ?? [];
  const types = inferElementTypes(graph);
  const isFloat = (name: string | null | undefined): name is string => !!name && types.get(name) === FLOAT;
  const consumers = consumersByValue(graph);
  const graphInputs = new Set((graph.input ?? []).map((info) => info.name ?? ""));
  const graphOutputs = new Set((graph.output ?? []).map((info) => info.name ?? ""));
  const keepFp32 = new Set([...FP16_KEEP_FP32_OPS, ...CPU_FP16_BLOCKED_OPS, ...(options.keepFp32Ops ?? [])]);
  const names = new NameAllocator(graph);
  const keepOutputProjection = options.keepOutputProjectionFp32 !== false;

  // 1. Which nodes compute in which precision ("none": no float in or out, left alone).
  const precision = new Map<OnnxTypes.INodeProto, Precision | "none">();
  for (const node of nodes) {
    const touchesFloat = [...(node.input ?? []), ...(node.output ?? [])].some(isFloat);
    const foreignDomain = !!node.domain && node.domain !== "ai.onnx";
    // A Constant given by value_float(s) has no tensor to convert: it stays a float32 source.
    const scalarConstant = node.opType === "Constant" && !(node.attribute ?? []).some((attr) => attr.name === "value");
    // The output projection (lm_head) stays float32 as in ORT's auto_mixed_precision for GPT-2, T5
    // and Whisper ("keep logits and last MatMul in float32"): float16 logits of 10-30 come in
    // 0.008-0.016 steps (on GPUs; ORT's CPU provider computes MatMul in float32 anyway).
    const outputProjection = keepOutputProjection && isOutputProjection(node, graphOutputs);
    const fp32 =
      keepFp32.has(node.opType ?? "") || foreignDomain || hasSubgraph(node) || scalarConstant || outputProjection;
    precision.set(node, !touchesFloat ? "none" : fp32 ? "fp32" : "fp16");
  }
  const acceptsFp32 = (reader: OnnxTypes.INodeProto, input: string): boolean =>
    precision.get(reader) === "fp32" || (ANY_TYPE_FIRST_INPUT.has(reader.opType ?? "") && reader.input?.[0] === input);
  for (let changed = true; changed; ) {
    changed = false;
    for (const node of [...nodes].reverse()) {
      if (precision.get(node) !== "fp16" || !FOLLOW_CONSUMER_OPS.has(node.opType ?? "")) continue;
      const outputs = (node.output ?? []).filter(isFloat);
      const follows = outputs.every((output) => {
        const readers = consumers.get(output) ?? [];
        return !graphOutputs.has(output) && readers.length > 0 && readers.every((r) => acceptsFp32(r, output));
      });
      if (outputs.length > 0 && follows) {
        precision.set(node, "fp32");
        changed = true;
      }
    }
  }

  // 2. The precision each float value is produced in, and float16 storage for initializers.
  const native = new Map<string, Precision>();
  for (const name of graphInputs) if (isFloat(name)) native.set(name, "fp32");
  let convertedInitializers = 0;
  // Its weights stay float32 too, as in ORT's recipe: float16 storage alone moves ref-decoder's
  // logits by up to 0.005, enough to reorder 13 of 909 near-ties. Float16 readers get a Cast.
  const fp32Weights = new Set<string>();
  for (const node of nodes) {
    if (keepOutputProjection && isOutputProjection(node, graphOutputs))
      for (const input of node.input ?? []) fp32Weights.add(input);
  }
  graph.initializer = (graph.initializer ?? []).map((tensor) => {
    const name = tensor.name ?? "";
    if (tensor.dataType !== FLOAT || graphInputs.has(name)) return tensor;
    if (fp32Weights.has(name)) {
      native.set(name, "fp32");
      return tensor;
    }
    native.set(name, "fp16");
    convertedInitializers += 1;
    return toFloat16Tensor(tensor, name);
  });
  for (const node of nodes) {
    const nodePrecision = precision.get(node);
    if (nodePrecision === "none" || nodePrecision === undefined) continue;
    for (const output of node.output ?? []) if (isFloat(output)) native.set(output, nodePrecision);
  }

  // 3. Graph outputs produced in float16 get their float16 value renamed; a final Cast restores the name.
  const nativeName = new Map<string, string>();
  for (const name of graphOutputs) {
    if (native.get(name) === "fp16") nativeName.set(name, names.allocate(`${name}_fp16`));
  }
  for (const tensor of graph.initializer) {
    const renamed = nativeName.get(tensor.name ?? "");
    if (renamed) tensor.name = renamed;
  }

  const rewritten: OnnxTypes.INodeProto[] = [];
  const casts = new Map<string, string>();
  const pendingOutputCasts = new Set(nativeName.keys());
  const emitCast = (from: string, to: string, target: Precision) => {
    rewritten.push(
      onnx.NodeProto.create({
        name: names.allocate(`cast_${to}`),
        opType: "Cast",
        input: [from],
        output: [to],
        attribute: [
          { name: "to", type: onnx.AttributeProto.AttributeType.INT, i: target === "fp16" ? FLOAT16 : FLOAT },
        ],
      }),
    );
  };
  const emitOutputCast = (name: string) => {
    if (!pendingOutputCasts.delete(name)) return;
    emitCast(nativeName.get(name) ?? name, name, "fp32");
  };
  /** `name` as `wanted` reads it: the value itself, or a Cast of it emitted before its first reader. */
  const valueAs = (name: string, wanted: Precision): string => {
    const produced = native.get(name);
    if (!isFloat(name) || produced === undefined || produced === wanted) return nativeName.get(name) ?? name;
    if (wanted === "fp32" && nativeName.has(name)) {
      emitOutputCast(name);
      return name;
    }
    const key = `${name}\u0000${wanted}`;
    const cached = casts.get(key);
    if (cached) return cached;
    const cast = names.allocate(`${name}_${wanted}`);
    emitCast(nativeName.get(name) ?? name, cast, wanted);
    casts.set(key, cast);
    return cast;
  };

  // 4. Rewrite nodes in order, casting each float input to the precision its reader computes in.
  for (const node of nodes) {
    const nodePrecision = precision.get(node);
    if (nodePrecision === "none" || nodePrecision === undefined) {
      rewritten.push(node);
      continue;
    }
    const op = node.opType ?? "";
    node.input = (node.input ?? []).map((input, index) => {
      if (!input) return input;
      if (index === 0 && ANY_TYPE_FIRST_INPUT.has(op)) return nativeName.get(input) ?? input;
      return valueAs(input, nodePrecision);
    });
    node.output = (node.output ?? []).map((output) => nativeName.get(output) ?? output);
    if (nodePrecision === "fp16") {
      for (const attr of node.attribute ?? []) {
        if (op === "Cast" && attr.name === "to" && Number(attr.i) === FLOAT) attr.i = FLOAT16;
        if (op === "Constant" && attr.name === "value" && attr.t?.dataType === FLOAT) {
          attr.t = toFloat16Tensor(attr.t, attr.t.name ?? "");
          convertedInitializers += 1;
        }
      }
    }
    rewritten.push(node);
  }
  for (const name of [...pendingOutputCasts]) emitOutputCast(name);
  graph.node = rewritten;

  // 5. Declared intermediate types follow the values they describe.
  for (const info of graph.valueInfo ?? []) {
    const tensorType = info.type?.tensorType;
    if (tensorType && native.get(info.name ?? "") === "fp16") tensorType.elemType = FLOAT16;
  }
  const kept = new Set<string>();
  for (const [node, nodePrecision] of precision) if (nodePrecision === "fp32") kept.add(node.opType ?? "");
  return { convertedInitializers, keptFp32Ops: [...kept].sort() };
}
