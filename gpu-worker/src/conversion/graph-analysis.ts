/**
 * What the conversion passes need to know about a parsed graph before rewriting it: the element
 * type of every value (ONNX files rarely carry value_info for intermediates, and there is no
 * shape inference in TypeScript), who consumes each value, and names that are still free.
 */
import { type OnnxTypes, onnx, toNumber } from "../onnx/onnx-graph-builder.js";

const { DataType } = onnx.TensorProto;
export const FLOAT = DataType.FLOAT;
export const FLOAT16 = DataType.FLOAT16;

/** Ops whose outputs are int64 whatever their inputs. */
const INT64_OUTPUT_OPS = new Set(["Shape", "Size", "NonZero", "ArgMax", "ArgMin", "NonMaxSuppression"]);
/** Ops whose outputs are bool whatever their inputs. */
const BOOL_OUTPUT_OPS = new Set([
  "Equal",
  "Less",
  "LessOrEqual",
  "Greater",
  "GreaterOrEqual",
  "And",
  "Or",
  "Xor",
  "Not",
  "IsNaN",
  "IsInf",
]);

function attribute(node: OnnxTypes.INodeProto, name: string): OnnxTypes.IAttributeProto | undefined {
  return (node.attribute ?? []).find((candidate) => candidate.name === name);
}

export function intAttribute(node: OnnxTypes.INodeProto, name: string, fallback: number): number {
  const found = attribute(node, name);
  return found ? toNumber(found.i) : fallback;
}

export function floatAttribute(node: OnnxTypes.INodeProto, name: string, fallback: number): number {
  const found = attribute(node, name);
  return found ? (found.f ?? fallback) : fallback;
}

/** The element type of a Constant node's value, from whichever value_* attribute it uses. */
function constantType(node: OnnxTypes.INodeProto): number | undefined {
  for (const attr of node.attribute ?? []) {
    if (attr.name === "value" || attr.name === "sparse_value")
      return attr.t?.dataType ?? attr.sparseTensor?.values?.dataType ?? undefined;
    if (attr.name === "value_float" || attr.name === "value_floats") return FLOAT;
    if (attr.name === "value_int" || attr.name === "value_ints") return DataType.INT64;
    if (attr.name === "value_string" || attr.name === "value_strings") return DataType.STRING;
  }
  return undefined;
}

/** Output element types of one node from the types of its inputs (undefined where unknown). */
function outputTypes(node: OnnxTypes.INodeProto, typeOf: (name: string) => number | undefined): (number | undefined)[] {
  const op = node.opType ?? "";
  const inputs = node.input ?? [];
  const first = inputs[0] !== undefined ? typeOf(inputs[0]) : undefined;
  const count = (node.output ?? []).length;
  const all = (type: number | undefined) => new Array<number | undefined>(count).fill(type);
  if (op === "Cast") return all(intAttribute(node, "to", 0));
  if (op === "CastLike") return all(inputs[1] !== undefined ? typeOf(inputs[1]) : undefined);
  if (INT64_OUTPUT_OPS.has(op)) return all(DataType.INT64);
  if (BOOL_OUTPUT_OPS.has(op)) return all(DataType.BOOL);
  if (op === "Constant") return all(constantType(node));
  if (op === "ConstantOfShape") return all(attribute(node, "value")?.t?.dataType ?? FLOAT);
  if (op === "Where") return all(inputs[1] !== undefined ? typeOf(inputs[1]) : undefined);
  if (op === "DequantizeLinear") return all(inputs[1] !== undefined ? typeOf(inputs[1]) : undefined);
  if (op === "QuantizeLinear") return all(inputs[2] !== undefined ? typeOf(inputs[2]) : DataType.UINT8);
  if (op === "TopK") return [first, DataType.INT64];
  if (op === "Unique") return [first, DataType.INT64, DataType.INT64, DataType.INT64];
  if (op === "LayerNormalization") return [first, FLOAT, FLOAT];
  if (op === "RandomNormal" || op === "RandomUniform") return all(intAttribute(node, "dtype", FLOAT));
  if (op === "EyeLike" || op === "RandomNormalLike" || op === "RandomUniformLike") {
    return all(attribute(node, "dtype") ? intAttribute(node, "dtype", FLOAT) : first);
  }
  // Everything else (elementwise math, MatMul, Gather, Reshape, Concat, Softmax, ...) keeps the
  // type of its first input.
  return all(first);
}

function declaredType(info: OnnxTypes.IValueInfoProto): number | undefined {
  const type = info.type?.tensorType?.elemType;
  return type ? type : undefined;
}

/**
 * The element type of every value in the top-level graph. Declared types (graph inputs, outputs,
 * value_info, initializers) win over inference; nodes are visited in order, which ONNX requires
 * to be topological (convertModel checks that before any pass runs).
 */
export function inferElementTypes(graph: OnnxTypes.IGraphProto): Map<string, number> {
  const types = new Map<string, number>();
  const declared = new Map<string, number>();
  for (const info of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])]) {
    const type = declaredType(info);
    if (info.name && type !== undefined) declared.set(info.name, type);
  }
  for (const info of graph.input ?? []) {
    const type = declaredType(info);
    if (info.name && type !== undefined) types.set(info.name, type);
  }
  for (const tensor of graph.initializer ?? []) {
    if (tensor.name) types.set(tensor.name, tensor.dataType ?? 0);
  }
  const typeOf = (name: string) => types.get(name);
  for (const node of graph.node ?? []) {
    const inferred = outputTypes(node, typeOf);
    (node.output ?? []).forEach((output, index) => {
      if (!output) return;
      const type = declared.get(output) ?? inferred[index];
      if (type !== undefined) types.set(output, type);
    });
  }
  return types;
}

/** value name -> the nodes that read it (in graph order; a node reading it twice appears twice). */
export function consumersByValue(graph: OnnxTypes.IGraphProto): Map<string, OnnxTypes.INodeProto[]> {
  const consumers = new Map<string, OnnxTypes.INodeProto[]>();
  for (const node of graph.node ?? []) {
    for (const input of node.input ?? []) {
      if (!input) continue;
      const list = consumers.get(input) ?? [];
      list.push(node);
      consumers.set(input, list);
    }
  }
  return consumers;
}

/** Hands out value and node names that collide with nothing in the graph, deterministically. */
export class NameAllocator {
  private readonly taken = new Set<string>();

  constructor(graph: OnnxTypes.IGraphProto) {
    for (const info of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])]) {
      if (info.name) this.taken.add(info.name);
    }
    for (const tensor of graph.initializer ?? []) if (tensor.name) this.taken.add(tensor.name);
    for (const node of graph.node ?? []) {
      if (node.name) this.taken.add(node.name);
      for (const output of node.output ?? []) if (output) this.taken.add(output);
    }
  }

  /** `base` itself when free, otherwise `base_1`, `base_2`, ... */
  allocate(base: string): string {
    let candidate = base;
    for (let n = 1; this.taken.has(candidate); n++) candidate = `${base}_${n}`;
    this.taken.add(candidate);
    return candidate;
  }
}

/**
 * A reason the graph cannot be rewritten safely, or undefined: every node input must be defined
 * before the node that reads it (a graph input, an initializer or an earlier node's output).
 * The passes insert Casts and dequantization right before a value's first reader, which is only
 * correct in a topologically sorted graph.
 */
export function findGraphProblem(graph: OnnxTypes.IGraphProto): string | undefined {
  const defined = new Set<string>();
  for (const info of graph.input ?? []) if (info.name) defined.add(info.name);
  for (const tensor of graph.initializer ?? []) if (tensor.name) defined.add(tensor.name);
  for (const [index, node] of (graph.node ?? []).entries()) {
    for (const input of node.input ?? []) {
      if (input && !defined.has(input)) {
        return `node ${index} (${node.opType ?? "?"} ${node.name ?? ""}) reads '${input}', which is not defined before it`;
      }
    }
    for (const output of node.output ?? []) if (output) defined.add(output);
  }
  for (const output of graph.output ?? []) {
    if (output.name && !defined.has(output.name)) return `graph output '${output.name}' is never produced`;
  }
  return undefined;
}

/** The version of the default ("" / ai.onnx) opset the model imports, 0 if none. */
export function defaultOpsetVersion(model: OnnxTypes.IModelProto): number {
  const entry = (model.opsetImport ?? []).find((opset) => !opset.domain || opset.domain === "ai.onnx");
  return entry ? toNumber(entry.version) : 0;
}

/** Adds an opset import for `domain` unless the model already has one. */
export function ensureOpsetImport(model: OnnxTypes.IModelProto, domain: string, version: number): void {
  const imports = model.opsetImport ?? [];
  if (imports.some((opset) => opset.domain === domain)) return;
  model.opsetImport = [...imports, onnx.OperatorSetIdProto.create({ domain, version })];
}
