/**
 * The Open Inference Protocol's datatypes and how each is held in memory: the registry's dtype
 * (onnxruntime's tensor type names), the bytes one element takes on the wire (little-endian, as
 * the binary tensor data extension and onnxruntime both lay them out) and the typed array that
 * holds it. Shared by the edge (which validates) and the worker (which decodes the same bytes).
 */
import { z } from "zod";
import type { TensorDtype } from "../artifact.js";

/** The protocol's tensor data types; strings are case-sensitive. */
export const V2DatatypeSchema = z.enum([
  "BOOL",
  "UINT8",
  "UINT16",
  "UINT32",
  "UINT64",
  "INT8",
  "INT16",
  "INT32",
  "INT64",
  "FP16",
  "FP32",
  "FP64",
  "BYTES",
]);
export type V2Datatype = z.infer<typeof V2DatatypeSchema>;

const DATATYPE_FOR_DTYPE: Record<TensorDtype, V2Datatype> = {
  float32: "FP32",
  float16: "FP16",
  float64: "FP64",
  int64: "INT64",
  int32: "INT32",
  int16: "INT16",
  int8: "INT8",
  uint64: "UINT64",
  uint32: "UINT32",
  uint16: "UINT16",
  uint8: "UINT8",
  bool: "BOOL",
  string: "BYTES",
};

const DTYPE_FOR_DATATYPE = Object.fromEntries(
  Object.entries(DATATYPE_FOR_DTYPE).map(([dtype, datatype]) => [datatype, dtype]),
) as Record<V2Datatype, TensorDtype>;

export function v2DatatypeOf(dtype: TensorDtype): V2Datatype {
  return DATATYPE_FOR_DTYPE[dtype];
}

export function dtypeOfV2(datatype: V2Datatype): TensorDtype {
  return DTYPE_FOR_DATATYPE[datatype];
}

/** Bytes per element on the wire; BYTES elements are variable (a 4-byte length, then the bytes). */
export const ELEMENT_BYTES: Record<Exclude<V2Datatype, "BYTES">, number> = {
  BOOL: 1,
  UINT8: 1,
  UINT16: 2,
  UINT32: 4,
  UINT64: 8,
  INT8: 1,
  INT16: 2,
  INT32: 4,
  INT64: 8,
  FP16: 2,
  FP32: 4,
  FP64: 8,
};

/**
 * A tensor's elements in memory, row-major: one typed array per datatype (FP16 as its IEEE
 * binary16 bit patterns, BOOL as 0/1 bytes), BYTES as strings (UTF-8 on the wire).
 */
export type NumericTensorValues =
  | Float32Array<ArrayBuffer>
  | Float64Array<ArrayBuffer>
  | Uint16Array<ArrayBuffer>
  | Int8Array<ArrayBuffer>
  | Int16Array<ArrayBuffer>
  | Int32Array<ArrayBuffer>
  | Uint8Array<ArrayBuffer>
  | Uint32Array<ArrayBuffer>
  | BigInt64Array<ArrayBuffer>
  | BigUint64Array<ArrayBuffer>;
export type TensorValues = NumericTensorValues | string[];

/** A new, zeroed typed array of `count` elements for a fixed-size datatype. */
export function allocateTensorValues(datatype: Exclude<V2Datatype, "BYTES">, count: number): NumericTensorValues {
  switch (datatype) {
    case "FP32":
      return new Float32Array(count);
    case "FP64":
      return new Float64Array(count);
    case "FP16":
    case "UINT16":
      return new Uint16Array(count);
    case "INT8":
      return new Int8Array(count);
    case "INT16":
      return new Int16Array(count);
    case "INT32":
      return new Int32Array(count);
    case "UINT8":
    case "BOOL":
      return new Uint8Array(count);
    case "UINT32":
      return new Uint32Array(count);
    case "INT64":
      return new BigInt64Array(count);
    case "UINT64":
      return new BigUint64Array(count);
  }
}

/** Product of the dimensions (1 for a scalar). */
export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) count *= dim;
  return count;
}

export function describeShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(",")}]`;
}

// binary16 (FP16) values are converted by ./float16.ts.
export { FLOAT16_MAX, float16BitsToFloat32, float32ToFloat16Bits } from "./float16.js";
