/**
 * A small builder over onnx-proto (protobufjs) for writing ONNX models from TypeScript, plus the
 * helpers that later passes (fp16/int8/int4 conversion) need to read a model back and rewrite it.
 *
 * Everything here is deterministic: the same calls produce the same bytes, because protobufjs
 * encodes fields in declaration order and tensors are stored as explicit little-endian raw_data.
 */

import type { onnx as OnnxTypes } from "onnx-proto";
import onnxProto from "onnx-proto";

// onnx-proto is CommonJS assigning `module.exports = $root`, so Node's ESM loader cannot see a
// named `onnx` export; the default import is the only form that works under Node, tsx and vitest.
export const onnx = onnxProto.onnx;
export type { OnnxTypes };

/** ONNX IR version 8 is the one that goes with opset 17 (ONNX 1.12+). */
export const DEFAULT_IR_VERSION = 8;
export const DEFAULT_OPSET_VERSION = 17;
export const DEFAULT_PRODUCER_NAME = "modelgate";

/** The element types modelgate contracts use (the same names as `TensorDtypeSchema`). */
export type ElementType =
  | "float32"
  | "float16"
  | "float64"
  | "int64"
  | "int32"
  | "int16"
  | "int8"
  | "uint64"
  | "uint32"
  | "uint16"
  | "uint8"
  | "bool";

/** A dimension is a fixed size or a symbolic name (`batch`, `sequence`). */
export type Dimension = number | string;

const DATA_TYPE_BY_ELEMENT: Readonly<Record<ElementType, number>> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float16: onnx.TensorProto.DataType.FLOAT16,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  int8: onnx.TensorProto.DataType.INT8,
  uint8: onnx.TensorProto.DataType.UINT8,
  bool: onnx.TensorProto.DataType.BOOL,
  float64: onnx.TensorProto.DataType.DOUBLE,
  int16: onnx.TensorProto.DataType.INT16,
  uint16: onnx.TensorProto.DataType.UINT16,
  uint32: onnx.TensorProto.DataType.UINT32,
  uint64: onnx.TensorProto.DataType.UINT64,
};

const BYTES_PER_ELEMENT: Readonly<Record<ElementType, number>> = {
  float32: 4,
  float16: 2,
  int64: 8,
  int32: 4,
  int8: 1,
  uint8: 1,
  bool: 1,
  float64: 8,
  int16: 2,
  uint16: 2,
  uint32: 4,
  uint64: 8,
};

export function onnxDataType(elementType: ElementType): number {
  return DATA_TYPE_BY_ELEMENT[elementType];
}

/** A contract's dtype for an ONNX `TensorProto.DataType`: the element types above, plus STRING (V2 BYTES). */
export function contractDtypeOf(dataType: number): ElementType | "string" | undefined {
  return dataType === onnx.TensorProto.DataType.STRING ? "string" : elementTypeOf(dataType);
}

/** The element type for an ONNX `TensorProto.DataType`, or undefined for types modelgate does not use. */
export function elementTypeOf(dataType: number): ElementType | undefined {
  for (const [name, value] of Object.entries(DATA_TYPE_BY_ELEMENT)) {
    if (value === dataType) return name as ElementType;
  }
  return undefined;
}

/**
 * protobufjs decodes int64 fields as Long objects when the `long` package is present. Typed
 * structurally because the global `Long` type is only visible when `@types/long` is in `types`.
 */
export function toNumber(value: number | { toNumber(): number } | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === "number" ? value : value.toNumber();
}

/**
 * Values for a tensor. Float16 values are given as their IEEE binary16 bit patterns
 * (`Uint16Array`), booleans as 0/1 bytes.
 */
export type TensorValues =
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | readonly number[]
  | readonly bigint[];

/** Values decoded from a tensor, one typed array per element type. */
export type DecodedTensorValues =
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array
  | Uint16Array
  | Uint32Array;

function elementCount(dims: readonly number[]): number {
  let count = 1;
  for (const dim of dims) {
    if (!Number.isInteger(dim) || dim < 0) throw new RangeError(`invalid tensor dimension ${dim}`);
    count *= dim;
  }
  return count;
}

function valueAt(values: TensorValues, index: number): number | bigint {
  const value = values[index];
  if (value === undefined) throw new RangeError(`tensor value ${index} is missing`);
  return value;
}

/** Little-endian bytes for `values`, written through a DataView so the host's byte order never matters. */
export function encodeRawData(elementType: ElementType, values: TensorValues): Uint8Array {
  const count = values.length;
  const bytes = new Uint8Array(count * BYTES_PER_ELEMENT[elementType]);
  const view = new DataView(bytes.buffer);
  for (let index = 0; index < count; index++) {
    const value = valueAt(values, index);
    switch (elementType) {
      case "float32":
        view.setFloat32(index * 4, Number(value), true);
        break;
      case "float16":
        view.setUint16(index * 2, Number(value), true);
        break;
      case "int64":
        view.setBigInt64(index * 8, typeof value === "bigint" ? value : BigInt(value), true);
        break;
      case "int32":
        view.setInt32(index * 4, Number(value), true);
        break;
      case "int8":
        view.setInt8(index, Number(value));
        break;
      case "uint8":
        view.setUint8(index, Number(value));
        break;
      case "bool":
        view.setUint8(index, Number(value) === 0 ? 0 : 1);
        break;
      case "float64":
        view.setFloat64(index * 8, Number(value), true);
        break;
      case "int16":
        view.setInt16(index * 2, Number(value), true);
        break;
      case "uint16":
        view.setUint16(index * 2, Number(value), true);
        break;
      case "uint32":
        view.setUint32(index * 4, Number(value), true);
        break;
      case "uint64":
        view.setBigUint64(index * 8, typeof value === "bigint" ? value : BigInt(value), true);
        break;
    }
  }
  return bytes;
}

/** A tensor proto with its values in `raw_data` (compact, and the form ONNX Runtime reads fastest). */
export function makeTensor(
  name: string,
  elementType: ElementType,
  dims: readonly number[],
  values: TensorValues,
): OnnxTypes.TensorProto {
  const expected = elementCount(dims);
  if (values.length !== expected) {
    throw new RangeError(
      `tensor ${name}: ${values.length} values for dims [${dims.join(", ")}] (${expected} expected)`,
    );
  }
  return onnx.TensorProto.create({
    name,
    dims: [...dims],
    dataType: onnxDataType(elementType),
    rawData: encodeRawData(elementType, values),
  });
}

/** Dims of a tensor as plain numbers. */
export function tensorDims(tensor: OnnxTypes.ITensorProto): number[] {
  return (tensor.dims ?? []).map((dim) => toNumber(dim));
}

/**
 * A tensor's values as a typed array, from raw_data or from the typed repeated fields
 * (float_data, int32_data, int64_data), whichever the producer used.
 */
export function readTensorValues(tensor: OnnxTypes.ITensorProto): DecodedTensorValues {
  const elementType = elementTypeOf(tensor.dataType ?? 0);
  if (elementType === undefined)
    throw new TypeError(`tensor ${tensor.name ?? ""}: unsupported data type ${tensor.dataType}`);
  const count = elementCount(tensorDims(tensor));
  const raw = tensor.rawData;
  if (raw && raw.length > 0) {
    if (raw.length !== count * BYTES_PER_ELEMENT[elementType]) {
      throw new RangeError(`tensor ${tensor.name ?? ""}: raw_data has ${raw.length} bytes for ${count} elements`);
    }
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    switch (elementType) {
      case "float32":
        return Float32Array.from({ length: count }, (_, i) => view.getFloat32(i * 4, true));
      case "float16":
        return Uint16Array.from({ length: count }, (_, i) => view.getUint16(i * 2, true));
      case "int64":
        return BigInt64Array.from({ length: count }, (_, i) => view.getBigInt64(i * 8, true));
      case "int32":
        return Int32Array.from({ length: count }, (_, i) => view.getInt32(i * 4, true));
      case "int8":
        return Int8Array.from({ length: count }, (_, i) => view.getInt8(i));
      case "uint8":
      case "bool":
        return Uint8Array.from(raw);
      case "float64":
        return Float64Array.from({ length: count }, (_, i) => view.getFloat64(i * 8, true));
      case "int16":
        return Int16Array.from({ length: count }, (_, i) => view.getInt16(i * 2, true));
      case "uint16":
        return Uint16Array.from({ length: count }, (_, i) => view.getUint16(i * 2, true));
      case "uint32":
        return Uint32Array.from({ length: count }, (_, i) => view.getUint32(i * 4, true));
      case "uint64":
        return BigUint64Array.from({ length: count }, (_, i) => view.getBigUint64(i * 8, true));
    }
  }
  // Without raw_data the values live in the repeated field ONNX assigns to the element type;
  // float16, int8, uint8 and bool all use int32_data.
  switch (elementType) {
    case "float32":
      return Float32Array.from(tensor.floatData ?? []);
    case "int64":
      return BigInt64Array.from((tensor.int64Data ?? []).map((v) => BigInt(toNumber(v))));
    case "int32":
      return Int32Array.from(tensor.int32Data ?? []);
    case "float16":
      return Uint16Array.from(tensor.int32Data ?? []);
    case "int8":
      return Int8Array.from(tensor.int32Data ?? []);
    case "uint8":
    case "bool":
      return Uint8Array.from(tensor.int32Data ?? []);
    case "int16":
      return Int16Array.from(tensor.int32Data ?? []);
    case "uint16":
      return Uint16Array.from(tensor.int32Data ?? []);
    case "float64":
      return Float64Array.from(tensor.doubleData ?? []);
    case "uint32":
      return Uint32Array.from((tensor.uint64Data ?? []).map((v) => toNumber(v)));
    case "uint64":
      return BigUint64Array.from((tensor.uint64Data ?? []).map((v) => BigInt(toNumber(v))));
  }
}

export type AttributeValue =
  | { int: number }
  | { float: number }
  | { string: string }
  | { ints: readonly number[] }
  | { floats: readonly number[] }
  | { tensor: OnnxTypes.ITensorProto };

const textEncoder = new TextEncoder();

export function makeAttribute(name: string, value: AttributeValue): OnnxTypes.AttributeProto {
  const { AttributeType } = onnx.AttributeProto;
  if ("int" in value) return onnx.AttributeProto.create({ name, type: AttributeType.INT, i: value.int });
  if ("float" in value) return onnx.AttributeProto.create({ name, type: AttributeType.FLOAT, f: value.float });
  if ("string" in value) {
    return onnx.AttributeProto.create({ name, type: AttributeType.STRING, s: textEncoder.encode(value.string) });
  }
  if ("ints" in value) return onnx.AttributeProto.create({ name, type: AttributeType.INTS, ints: [...value.ints] });
  if ("floats" in value) {
    return onnx.AttributeProto.create({ name, type: AttributeType.FLOATS, floats: [...value.floats] });
  }
  return onnx.AttributeProto.create({ name, type: AttributeType.TENSOR, t: value.tensor });
}

/** What a graph input or output may carry: the element types above, or strings (V2 BYTES). */
export type ValueElementType = ElementType | "string";

export function makeValueInfo(
  name: string,
  elementType: ValueElementType,
  shape: readonly Dimension[],
): OnnxTypes.ValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: elementType === "string" ? onnx.TensorProto.DataType.STRING : onnxDataType(elementType),
        shape: { dim: shape.map((dim) => (typeof dim === "number" ? { dimValue: dim } : { dimParam: dim })) },
      },
    },
  });
}

export interface NodeSpec {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  /** Defaults to a unique `<opType>_<n>`. */
  name?: string;
  /** Defaults to the standard ONNX domain (""). */
  domain?: string;
  /** Written in insertion order, so that the serialized bytes are reproducible. */
  attributes?: Readonly<Record<string, AttributeValue>>;
}

export interface GraphBuilderOptions {
  graphName: string;
  opsetVersion?: number;
  irVersion?: number;
  producerName?: string;
  producerVersion?: string;
  docString?: string;
}

export class OnnxGraphBuilder {
  private readonly options: GraphBuilderOptions;
  private readonly inputs: OnnxTypes.ValueInfoProto[] = [];
  private readonly outputs: OnnxTypes.ValueInfoProto[] = [];
  private readonly initializers: OnnxTypes.TensorProto[] = [];
  private readonly nodes: OnnxTypes.NodeProto[] = [];
  private readonly metadata: OnnxTypes.StringStringEntryProto[] = [];
  private readonly names = new Set<string>();
  private readonly counters = new Map<string, number>();

  constructor(options: GraphBuilderOptions) {
    this.options = options;
  }

  /** A name not yet used in this graph: `<prefix>_<n>`, numbered per prefix for stable output. */
  uniqueName(prefix: string): string {
    let next = this.counters.get(prefix) ?? 0;
    let candidate = `${prefix}_${next}`;
    while (this.names.has(candidate)) {
      next += 1;
      candidate = `${prefix}_${next}`;
    }
    this.counters.set(prefix, next + 1);
    return candidate;
  }

  private claim(name: string): string {
    if (name.length === 0) throw new RangeError("ONNX value names must be non-empty");
    if (this.names.has(name)) throw new RangeError(`ONNX value name ${name} is already defined`);
    this.names.add(name);
    return name;
  }

  addInput(name: string, elementType: ValueElementType, shape: readonly Dimension[]): string {
    this.inputs.push(makeValueInfo(this.claim(name), elementType, shape));
    return name;
  }

  /** Declares a graph output; the value itself is produced by a node (or is an input or initializer). */
  addOutput(name: string, elementType: ValueElementType, shape: readonly Dimension[]): string {
    this.outputs.push(makeValueInfo(name, elementType, shape));
    return name;
  }

  addInitializer(name: string, elementType: ElementType, dims: readonly number[], values: TensorValues): string {
    this.initializers.push(makeTensor(this.claim(name), elementType, dims, values));
    return name;
  }

  addFloatInitializer(name: string, dims: readonly number[], values: Float32Array | readonly number[]): string {
    return this.addInitializer(name, "float32", dims, values);
  }

  addInt64Initializer(
    name: string,
    dims: readonly number[],
    values: BigInt64Array | readonly number[] | readonly bigint[],
  ): string {
    return this.addInitializer(name, "int64", dims, values);
  }

  /** Adds a node and returns its output names (for chaining into the next node's inputs). */
  addNode(spec: NodeSpec): string[] {
    for (const output of spec.outputs) this.claim(output);
    const attributes = Object.entries(spec.attributes ?? {}).map(([name, value]) => makeAttribute(name, value));
    this.nodes.push(
      onnx.NodeProto.create({
        name: spec.name ?? this.uniqueName(spec.opType),
        opType: spec.opType,
        domain: spec.domain ?? "",
        input: [...spec.inputs],
        output: [...spec.outputs],
        attribute: attributes,
      }),
    );
    return [...spec.outputs];
  }

  /** A single-output node whose output gets a fresh name; returns that name. */
  op(opType: string, inputs: readonly string[], attributes?: Readonly<Record<string, AttributeValue>>): string {
    const output = this.uniqueName(opType.toLowerCase());
    this.addNode({ opType, inputs, outputs: [output], ...(attributes ? { attributes } : {}) });
    return output;
  }

  /** Model-level metadata (`metadata_props`), kept in insertion order. */
  addMetadata(key: string, value: string): void {
    this.metadata.push(onnx.StringStringEntryProto.create({ key, value }));
  }

  build(): OnnxTypes.ModelProto {
    if (this.outputs.length === 0) throw new RangeError(`graph ${this.options.graphName} has no outputs`);
    const graph = onnx.GraphProto.create({
      name: this.options.graphName,
      node: this.nodes,
      initializer: this.initializers,
      input: this.inputs,
      output: this.outputs,
      ...(this.options.docString ? { docString: this.options.docString } : {}),
    });
    return onnx.ModelProto.create({
      irVersion: this.options.irVersion ?? DEFAULT_IR_VERSION,
      opsetImport: [{ domain: "", version: this.options.opsetVersion ?? DEFAULT_OPSET_VERSION }],
      producerName: this.options.producerName ?? DEFAULT_PRODUCER_NAME,
      producerVersion: this.options.producerVersion ?? "",
      graph,
      metadataProps: this.metadata,
    });
  }

  serialize(): Uint8Array {
    return serializeModel(this.build());
  }
}

export function serializeModel(model: OnnxTypes.IModelProto): Uint8Array {
  // protobufjs may hand back a Buffer (a Uint8Array subclass) under Node; copy into a plain
  // Uint8Array so that callers comparing or hashing bytes see one type everywhere.
  return new Uint8Array(onnx.ModelProto.encode(model).finish());
}

export function parseModel(bytes: Uint8Array): OnnxTypes.ModelProto {
  return onnx.ModelProto.decode(bytes);
}
