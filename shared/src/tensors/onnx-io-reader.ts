/**
 * Reads what an ONNX model takes and returns (graph inputs and outputs: names, element types,
 * dimensions) straight from the protobuf bytes, without decoding the model: a push parser that
 * walks ModelProto → graph → input/output and skips everything else (nodes, weights) by length.
 *
 * Why not onnx-proto: protobufjs decodes a whole buffer, and a model is larger than a Worker's
 * memory; this reader holds only the small messages it keeps. The edge feeds it the chunks it
 * already streams through SHA-256 when it verifies an artifact, so the contract costs no extra
 * read; for an artifact verified before, `readOnnxIoByRanges` hops over the weights with range
 * reads instead (serializers write fields in number order, so `graph.input` (11) and
 * `graph.output` (12) follow `graph.initializer` (5): near the end of the file).
 */
import { type TensorDtype, TensorSpecSchema } from "../artifact.js";
import { type IoContract, IoContractSchema } from "../model-version.js";

export type OnnxIoReading = { ok: true; io: IoContract; irVersion: number } | { ok: false; reason: string };

/** TensorProto.DataType → dtype, for the element types a contract can name. */
const DTYPE_BY_ELEMENT_TYPE: Readonly<Record<number, TensorDtype>> = {
  1: "float32",
  2: "uint8",
  3: "int8",
  4: "uint16",
  5: "int16",
  6: "int32",
  7: "int64",
  8: "string",
  9: "bool",
  10: "float16",
  11: "float64",
  12: "uint32",
  13: "uint64",
};
const ELEMENT_TYPE_NAMES: Readonly<Record<number, string>> = {
  14: "COMPLEX64",
  15: "COMPLEX128",
  16: "BFLOAT16",
  17: "FLOAT8E4M3FN",
  18: "FLOAT8E4M3FNUZ",
  19: "FLOAT8E5M2",
  20: "FLOAT8E5M2FNUZ",
  21: "UINT4",
  22: "INT4",
};

/** A kept message (one ValueInfoProto, one initializer name) larger than this means a corrupt file. */
const MAX_CAPTURE_BYTES = 1024 * 1024;
const MAX_VALUES = 100_000;
const MAX_DIM_NAME = 64;

type FrameKind = "model" | "graph" | "initializer";
type Keep = "ir_version" | "input" | "output" | "initializer_name";

interface Frame {
  kind: FrameKind;
  end: number;
}

/** What to do with a field: descend into it, keep its bytes, or skip it. */
function actionFor(kind: FrameKind, field: number, wireType: number): { descend: FrameKind } | { keep: Keep } | null {
  if (kind === "model") {
    if (field === 1 && wireType === 0) return { keep: "ir_version" };
    if (field === 7 && wireType === 2) return { descend: "graph" };
  } else if (kind === "graph") {
    if (field === 5 && wireType === 2) return { descend: "initializer" };
    if (field === 11 && wireType === 2) return { keep: "input" };
    if (field === 12 && wireType === 2) return { keep: "output" };
  } else if (field === 8 && wireType === 2) {
    return { keep: "initializer_name" };
  }
  return null;
}

/**
 * Feed it the file's bytes in order (`push`, any chunk sizes); `finish` says what it read. Where
 * it is skipping, `skippable` bytes may be jumped over with `advance` instead of pushed.
 */
export class OnnxIoScanner {
  #position = 0;
  readonly #frames: Frame[] = [{ kind: "model", end: Number.POSITIVE_INFINITY }];
  #state: "tag" | "varint" | "length" | "skip" | "capture" = "tag";
  #varint = 0;
  #varintBytes = 0;
  #wireType = 0;
  #action: ReturnType<typeof actionFor> = null;
  #remaining = 0;
  #capture: Uint8Array | undefined;
  #captured = 0;
  #irVersion = 0;
  #graphRead = false;
  #failure: string | undefined;
  readonly #inputs: Uint8Array[] = [];
  readonly #outputs: Uint8Array[] = [];
  readonly #initializerNames = new Set<string>();

  /** True once the graph has been read through (the rest of the file is not needed). */
  get done(): boolean {
    return this.#graphRead || this.#failure !== undefined;
  }

  /** Bytes from here on that would only be skipped. */
  get skippable(): number {
    return this.#state === "skip" && !this.done ? this.#remaining : 0;
  }

  /** Jumps over `bytes` (at most `skippable`) without their content. */
  advance(bytes: number): void {
    const hop = Math.min(bytes, this.skippable);
    this.#position += hop;
    this.#remaining -= hop;
    if (this.#remaining === 0 && this.#state === "skip") this.#fieldDone();
  }

  push(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length && !this.done) {
      if (this.#state === "skip") {
        const take = Math.min(this.#remaining, chunk.length - i);
        i += take;
        this.#position += take;
        this.#remaining -= take;
        if (this.#remaining === 0) this.#fieldDone();
        continue;
      }
      if (this.#state === "capture" && this.#capture) {
        const take = Math.min(this.#capture.length - this.#captured, chunk.length - i);
        this.#capture.set(chunk.subarray(i, i + take), this.#captured);
        this.#captured += take;
        i += take;
        this.#position += take;
        if (this.#captured === this.#capture.length) this.#keepCaptured(this.#capture);
        continue;
      }
      const byte = chunk[i++] ?? 0;
      this.#position += 1;
      if (this.#varintBytes >= 10) {
        this.#fail("a varint runs past 10 bytes");
        return;
      }
      this.#varint += (byte & 0x7f) * 2 ** (7 * this.#varintBytes);
      this.#varintBytes += 1;
      if (byte & 0x80) continue;
      const value = this.#varint;
      this.#varint = 0;
      this.#varintBytes = 0;
      if (this.#state === "tag") this.#onTag(value);
      else if (this.#state === "varint") this.#onVarint(value);
      else this.#onLength(value);
    }
  }

  /** What the bytes said, once the file has ended. */
  finish(): OnnxIoReading {
    if (this.#failure !== undefined) return { ok: false, reason: this.#failure };
    if (!this.#graphRead) {
      return {
        ok: false,
        reason:
          this.#frames.length > 1
            ? "the file ends inside its graph (truncated?)"
            : "no ONNX graph found (not an ONNX model, or truncated before its graph)",
      };
    }
    if (this.#irVersion < 1) return { ok: false, reason: "no ir_version (not an ONNX model)" };
    const inputs = [];
    for (const bytes of this.#inputs) {
      const spec = readValueInfo(bytes, "input");
      if ("reason" in spec) return { ok: false, reason: spec.reason };
      // Before IR 4 every weight was also listed as an input; weights are not fed.
      if (!this.#initializerNames.has(spec.name)) inputs.push(spec);
    }
    const outputs = [];
    for (const bytes of this.#outputs) {
      const spec = readValueInfo(bytes, "output");
      if ("reason" in spec) return { ok: false, reason: spec.reason };
      outputs.push(spec);
    }
    if (inputs.length === 0) return { ok: false, reason: "the graph takes no inputs" };
    if (outputs.length === 0) return { ok: false, reason: "the graph declares no outputs" };
    const parsed = IoContractSchema.safeParse({ inputs, outputs });
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return {
        ok: false,
        reason: `the graph's inputs and outputs do not fit a contract (${issue?.path.join(".")}: ${issue?.message})`,
      };
    }
    return { ok: true, io: parsed.data, irVersion: this.#irVersion };
  }

  #fail(reason: string): void {
    this.#failure = `not a readable ONNX model: ${reason}`;
  }

  #onTag(tag: number): void {
    const field = Math.floor(tag / 8);
    this.#wireType = tag % 8;
    if (field === 0) {
      this.#fail(`field number 0 at byte ${this.#position}`);
      return;
    }
    const frame = this.#frames.at(-1);
    this.#action = frame ? actionFor(frame.kind, field, this.#wireType) : null;
    switch (this.#wireType) {
      case 0:
        this.#state = "varint";
        return;
      case 1:
        this.#skip(8);
        return;
      case 2:
        this.#state = "length";
        return;
      case 5:
        this.#skip(4);
        return;
      default:
        this.#fail(`wire type ${this.#wireType} at byte ${this.#position}`);
        return;
    }
  }

  #onVarint(value: number): void {
    if (this.#action && "keep" in this.#action && this.#action.keep === "ir_version") this.#irVersion = value;
    this.#fieldDone();
  }

  #onLength(length: number): void {
    const frame = this.#frames.at(-1);
    if (!frame || this.#position + length > frame.end) {
      this.#fail(`a field at byte ${this.#position} runs past the message that holds it`);
      return;
    }
    const action = this.#action;
    if (action && "descend" in action) {
      this.#frames.push({ kind: action.descend, end: this.#position + length });
      this.#state = "tag";
      this.#popFinishedFrames();
      return;
    }
    if (action && "keep" in action) {
      if (length > MAX_CAPTURE_BYTES) {
        this.#fail(`a graph ${action.keep} of ${length} bytes`);
        return;
      }
      this.#capture = new Uint8Array(length);
      this.#captured = 0;
      this.#state = "capture";
      if (length === 0) this.#keepCaptured(this.#capture);
      return;
    }
    this.#skip(length);
  }

  #keepCaptured(bytes: Uint8Array): void {
    const action = this.#action;
    this.#capture = undefined;
    if (action && "keep" in action) {
      if (this.#inputs.length + this.#outputs.length + this.#initializerNames.size > MAX_VALUES) {
        this.#fail(`more than ${MAX_VALUES} graph values`);
        return;
      }
      if (action.keep === "input") this.#inputs.push(bytes);
      else if (action.keep === "output") this.#outputs.push(bytes);
      else if (action.keep === "initializer_name") this.#initializerNames.add(utf8.decode(bytes));
    }
    this.#fieldDone();
  }

  #skip(bytes: number): void {
    this.#remaining = bytes;
    this.#state = "skip";
    if (bytes === 0) this.#fieldDone();
  }

  #fieldDone(): void {
    this.#state = "tag";
    this.#action = null;
    this.#popFinishedFrames();
  }

  #popFinishedFrames(): void {
    for (let frame = this.#frames.at(-1); frame && frame.end <= this.#position; frame = this.#frames.at(-1)) {
      if (frame.end < this.#position) {
        this.#fail(`a field runs past its message at byte ${frame.end}`);
        return;
      }
      this.#frames.pop();
      if (frame.kind === "graph") this.#graphRead = true;
    }
  }
}

const utf8 = new TextDecoder();

/** A synchronous protobuf reader over one small kept message. */
class Cursor {
  constructor(
    private readonly bytes: Uint8Array,
    private position = 0,
    private readonly end = bytes.length,
  ) {}

  get atEnd(): boolean {
    return this.position >= this.end;
  }

  varint(): number {
    let value = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.position >= this.end) throw new RangeError("truncated varint");
      const byte = this.bytes[this.position++] ?? 0;
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
    }
    throw new RangeError("varint too long");
  }

  message(): Cursor {
    const length = this.varint();
    if (this.position + length > this.end) throw new RangeError("truncated field");
    const inner = new Cursor(this.bytes, this.position, this.position + length);
    this.position += length;
    return inner;
  }

  string(): string {
    const inner = this.message();
    return utf8.decode(inner.bytes.subarray(inner.position, inner.end));
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.position += 8;
    else if (wireType === 2) this.message();
    else if (wireType === 5) this.position += 4;
    else throw new RangeError(`wire type ${wireType}`);
  }

  /** Calls `onField` for each field; it returns false to have the field skipped. */
  fields(onField: (field: number, wireType: number) => boolean): void {
    while (!this.atEnd) {
      const tag = this.varint();
      const wireType = tag % 8;
      if (!onField(Math.floor(tag / 8), wireType)) this.skip(wireType);
    }
  }
}

type ReadSpec = { name: string; dtype: TensorDtype; shape: (number | string)[] } | { reason: string };

/** One ValueInfoProto → a TensorSpec, or why it is not one a contract can hold. */
function readValueInfo(bytes: Uint8Array, role: "input" | "output"): ReadSpec {
  let info: ReturnType<typeof readValueInfoFields>;
  try {
    info = readValueInfoFields(bytes);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return { reason: `not a readable ONNX model: a graph ${role} is malformed (${why})` };
  }
  const { name, elementType, kind, shape } = info;
  if (kind !== "tensor") return { reason: `graph ${role} ${name} is ${kind}; only tensors are served` };
  const dtype = elementType === undefined ? undefined : DTYPE_BY_ELEMENT_TYPE[elementType];
  if (dtype === undefined) {
    const typeName =
      elementType === undefined
        ? "no element type"
        : (ELEMENT_TYPE_NAMES[elementType] ?? `element type ${elementType}`);
    return { reason: `graph ${role} ${name} has ${typeName}, which the Open Inference Protocol has no datatype for` };
  }
  if (shape === undefined) return { reason: `graph ${role} ${name} has no shape in the graph` };
  const spec = { name, dtype, shape };
  return TensorSpecSchema.safeParse(spec).success
    ? spec
    : { reason: `graph ${role} ${name.slice(0, 80)} does not fit a contract (name length or more than 8 dimensions)` };
}

function readValueInfoFields(bytes: Uint8Array): {
  name: string;
  elementType: number | undefined;
  kind: string;
  shape: (number | string)[] | undefined;
} {
  const result: ReturnType<typeof readValueInfoFields> = {
    name: "",
    elementType: undefined,
    kind: "a value without a type",
    shape: undefined,
  };
  const cursor = new Cursor(bytes);
  cursor.fields((field, wireType) => {
    if (wireType !== 2 || (field !== 1 && field !== 2)) return false;
    if (field === 1) {
      result.name = cursor.string();
      return true;
    }
    const type = cursor.message();
    type.fields((typeField, typeWire) => {
      if (typeWire !== 2) return false;
      if (typeField === 4) result.kind = "a sequence";
      else if (typeField === 5) result.kind = "a map";
      else if (typeField === 8) result.kind = "a sparse tensor";
      else if (typeField === 9) result.kind = "an optional value";
      if (typeField !== 1) return false;
      result.kind = "tensor";
      const tensor = type.message();
      tensor.fields((tensorField, tensorWire) => {
        if (tensorField === 1 && tensorWire === 0) {
          result.elementType = tensor.varint();
          return true;
        }
        if (tensorField !== 2 || tensorWire !== 2) return false;
        const shape = tensor.message();
        const dims: (number | string)[] = [];
        shape.fields((shapeField, shapeWire) => {
          if (shapeField !== 1 || shapeWire !== 2) return false;
          dims.push(readDimension(shape.message()));
          return true;
        });
        result.shape = dims;
        return true;
      });
      return true;
    });
    return true;
  });
  return result;
}

/** dim_value ≥ 1 is a size; otherwise dim_param names a dynamic axis, and "?" is an anonymous one. */
function readDimension(dimension: Cursor): number | string {
  let size = 0;
  let param = "";
  dimension.fields((field, wireType) => {
    if (field === 1 && wireType === 0) {
      size = dimension.varint();
      return true;
    }
    if (field === 2 && wireType === 2) {
      param = dimension.string();
      return true;
    }
    return false;
  });
  // A negative int64 reads as a huge varint: a dynamic dimension, like 0 with no name.
  if (size >= 1 && size <= 2 ** 31) return size;
  return param ? param.slice(0, MAX_DIM_NAME) : "?";
}

/**
 * The io of an object read with range requests: `fetchRange(offset, length)` returns those bytes
 * (fewer only at the end). Weights are hopped over, not fetched: a model's reads are a few
 * windows at the start and around its graph's inputs and outputs.
 */
export async function readOnnxIoByRanges(
  fetchRange: (offset: number, length: number) => Promise<Uint8Array>,
  totalBytes: number,
  windowBytes = 256 * 1024,
): Promise<OnnxIoReading & { bytesFetched: number; requests: number }> {
  const scanner = new OnnxIoScanner();
  let position = 0;
  let bytesFetched = 0;
  let requests = 0;
  while (position < totalBytes && !scanner.done) {
    const hop = Math.min(scanner.skippable, totalBytes - position);
    if (hop > 0) {
      scanner.advance(hop);
      position += hop;
      continue;
    }
    const chunk = await fetchRange(position, Math.min(windowBytes, totalBytes - position));
    requests += 1;
    if (chunk.byteLength === 0) break;
    bytesFetched += chunk.byteLength;
    scanner.push(chunk);
    position += chunk.byteLength;
  }
  return { ...scanner.finish(), bytesFetched, requests };
}

/** A reading as the verified-artifact record keeps it, and back. */
export function recordedOnnxIo(
  reading: OnnxIoReading,
): { io: IoContract; ir_version: number } | { unreadable: string } {
  return reading.ok ? { io: reading.io, ir_version: reading.irVersion } : { unreadable: reading.reason.slice(0, 2000) };
}

export function onnxIoFromRecord(
  recorded: { io: IoContract; ir_version: number } | { unreadable: string },
): OnnxIoReading {
  return "io" in recorded
    ? { ok: true, io: recorded.io, irVersion: recorded.ir_version }
    : { ok: false, reason: recorded.unreadable };
}
