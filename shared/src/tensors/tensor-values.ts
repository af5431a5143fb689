/**
 * A tensor's elements in both of the protocol's encodings: JSON `data` (flat or nested,
 * row-major) and the binary tensor data extension's raw little-endian bytes (BYTES elements as a
 * 4-byte length and the UTF-8 bytes). Decoding checks every element against the datatype and
 * says which element is wrong; failures are messages, which the caller words into its error.
 */
import { err, ok, type Result } from "../errors.js";
import {
  allocateTensorValues,
  describeShape,
  ELEMENT_BYTES,
  elementCount,
  float16BitsToFloat32,
  float32ToFloat16Bits,
  type NumericTensorValues,
  type TensorValues,
  type V2Datatype,
} from "./tensor-datatypes.js";

/**
 * The elements of JSON `data` in row-major order. Flat data must hold exactly as many elements
 * as the shape; nested data must nest exactly as the shape does (a ragged array is refused, not
 * guessed). `label` names the tensor in messages (`input 'features'`).
 */
export function flattenJsonData(
  data: readonly unknown[],
  shape: readonly number[],
  label: string,
): Result<readonly unknown[], string> {
  const total = elementCount(shape);
  if (!data.some(Array.isArray)) {
    if (data.length !== total) {
      return err(`${label} has ${data.length} values, but shape ${describeShape(shape)} needs ${total}.`);
    }
    return ok(data);
  }
  const flat: unknown[] = [];
  let problem: string | undefined;
  const walk = (node: unknown, depth: number, path: string): void => {
    if (problem !== undefined) return;
    if (depth === shape.length) {
      if (Array.isArray(node)) problem = `${label}: ${path} nests deeper than shape ${describeShape(shape)}.`;
      else flat.push(node);
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      const found = Array.isArray(node) ? `${node.length} elements` : "a single value";
      problem = `${label}: ${path} has ${found}, but shape ${describeShape(shape)} needs ${shape[depth]} there.`;
      return;
    }
    for (let index = 0; index < node.length && problem === undefined; index++) {
      walk(node[index], depth + 1, `${path}[${index}]`);
    }
  };
  walk(data, 0, "data");
  return problem === undefined ? ok(flat) : err(problem);
}

/** Integer ranges of the fixed-width integer types (64-bit ones as bigint bounds). */
const INTEGER_RANGE: Partial<Record<V2Datatype, readonly [number, number]>> = {
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
  INT64: [-(2 ** 63), 2 ** 63 - 1],
  UINT64: [0, 2 ** 64 - 1],
};

function describeElement(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}

/** Flat JSON elements as the datatype's typed array, each checked; `label` names the tensor. */
export function decodeJsonElements(
  elements: readonly unknown[],
  datatype: V2Datatype,
  label: string,
): Result<TensorValues, string> {
  const bad = (index: number, rule: string) =>
    err(`${label}: element ${index} is ${describeElement(elements[index])}; ${datatype} data must be ${rule}.`);
  const count = elements.length;
  if (datatype === "BYTES") {
    const strings: string[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const value = elements[i];
      if (typeof value !== "string") return bad(i, "strings");
      strings[i] = value;
    }
    return ok(strings);
  }
  if (datatype === "BOOL") {
    const values = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      const value = elements[i];
      if (typeof value !== "boolean") return bad(i, "true or false");
      values[i] = value ? 1 : 0;
    }
    return ok(values);
  }
  if (datatype === "FP32" || datatype === "FP64" || datatype === "FP16") {
    const values = allocateTensorValues(datatype, count) as
      | Float32Array<ArrayBuffer>
      | Float64Array<ArrayBuffer>
      | Uint16Array<ArrayBuffer>;
    for (let i = 0; i < count; i++) {
      const value = elements[i];
      if (typeof value !== "number") return bad(i, "numbers");
      values[i] = datatype === "FP16" ? float32ToFloat16Bits(value) : value;
    }
    return ok(values);
  }
  const [min, max] = INTEGER_RANGE[datatype] ?? [0, 0];
  const wide = datatype === "INT64" || datatype === "UINT64";
  const upper = datatype === "UINT64" ? "18446744073709551615" : datatype === "INT64" ? "9223372036854775807" : max;
  const rule = `integers from ${min} to ${upper}`;
  // As doubles, 2^63 - 1 and 2^64 - 1 round up to 2^63 and 2^64, which are out of range.
  const inRange = (value: unknown): value is number =>
    typeof value === "number" && Number.isInteger(value) && value >= min && (wide ? value < max : value <= max);
  if (wide) {
    const values = datatype === "INT64" ? new BigInt64Array(count) : new BigUint64Array(count);
    for (let i = 0; i < count; i++) {
      const value = elements[i];
      if (!inRange(value)) return bad(i, rule);
      values[i] = BigInt(value);
    }
    return ok(values);
  }
  const values = allocateTensorValues(datatype, count) as Exclude<NumericTensorValues, BigInt64Array | BigUint64Array>;
  for (let i = 0; i < count; i++) {
    const value = elements[i];
    if (!inRange(value)) return bad(i, rule);
    values[i] = value;
  }
  return ok(values);
}

/** JSON `data` (flat or nested) for a tensor of `shape`: flattened, then each element checked. */
export function decodeJsonData(
  data: readonly unknown[],
  datatype: V2Datatype,
  shape: readonly number[],
  label: string,
): Result<TensorValues, string> {
  const flat = flattenJsonData(data, shape, label);
  if (!flat.ok) return flat;
  return decodeJsonElements(flat.value, datatype, label);
}

/** The elements as JSON values (flat): numbers, booleans for BOOL, strings for BYTES. */
export function encodeJsonData(values: TensorValues, datatype: V2Datatype): Array<number | boolean | string> {
  if (Array.isArray(values)) return values;
  if (datatype === "BOOL") return Array.from(values as Uint8Array, (value) => value !== 0);
  if (datatype === "FP16") return Array.from(values as Uint16Array, float16BitsToFloat32);
  if (values instanceof BigInt64Array || values instanceof BigUint64Array) return Array.from(values, Number);
  return Array.from(values as Exclude<NumericTensorValues, BigInt64Array | BigUint64Array>);
}

// ---- binary ----

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reverses each element's bytes in place (only on a big-endian host: the wire is little-endian). */
function swapElementBytes(bytes: Uint8Array, width: number): void {
  if (width === 1) return;
  for (let start = 0; start < bytes.length; start += width) bytes.subarray(start, start + width).reverse();
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Wire size of a BYTES tensor: a 4-byte length per element plus its UTF-8 bytes. */
export function bytesTensorWireSize(values: readonly string[]): number {
  let size = 0;
  for (const value of values) size += 4 + encoder.encode(value).byteLength;
  return size;
}

/** The tensor's wire bytes. Typed arrays are viewed, not copied, on a little-endian host. */
export function encodeTensorBytes(values: TensorValues): Uint8Array<ArrayBuffer> {
  if (Array.isArray(values)) {
    const encoded = values.map((value) => encoder.encode(value));
    const out = new Uint8Array(encoded.reduce((sum, part) => sum + 4 + part.byteLength, 0));
    const view = new DataView(out.buffer);
    let offset = 0;
    for (const part of encoded) {
      view.setUint32(offset, part.byteLength, true);
      out.set(part, offset + 4);
      offset += 4 + part.byteLength;
    }
    return out;
  }
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (HOST_IS_LITTLE_ENDIAN) return bytes;
  const copy = bytes.slice();
  swapElementBytes(copy, values.BYTES_PER_ELEMENT);
  return copy;
}

/**
 * Wire bytes as a tensor of `count` elements, copied into a fresh (aligned) buffer. The size must
 * be exact: a fixed-size datatype takes `count` × its width, BYTES exactly `count` elements.
 */
export function decodeTensorBytes(
  bytes: Uint8Array,
  datatype: V2Datatype,
  count: number,
  label: string,
): Result<TensorValues, string> {
  if (datatype === "BYTES") {
    const strings: string[] = [];
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let offset = 0;
    while (offset < bytes.byteLength) {
      if (offset + 4 > bytes.byteLength) return err(`${label}: BYTES element ${strings.length} is cut short.`);
      const length = view.getUint32(offset, true);
      if (offset + 4 + length > bytes.byteLength) {
        return err(`${label}: BYTES element ${strings.length} says ${length} bytes, more than are left.`);
      }
      strings.push(decoder.decode(bytes.subarray(offset + 4, offset + 4 + length)));
      offset += 4 + length;
      if (strings.length > count) break;
    }
    if (strings.length !== count) {
      return err(
        `${label} holds ${strings.length} BYTES elements in ${bytes.byteLength} bytes, but its shape needs ${count}.`,
      );
    }
    return ok(strings);
  }
  const width = ELEMENT_BYTES[datatype];
  if (bytes.byteLength !== count * width) {
    return err(
      `${label} has ${bytes.byteLength} bytes of data, but ${count} ${datatype} elements take ${count * width}.`,
    );
  }
  const values = allocateTensorValues(datatype, count);
  const target = new Uint8Array(values.buffer);
  target.set(bytes);
  if (!HOST_IS_LITTLE_ENDIAN) swapElementBytes(target, width);
  return ok(values);
}

/** Joins byte arrays into one (a frame, a binary response). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
