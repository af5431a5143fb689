/**
 * Seed 001's shape enumeration: run the model once at each requested size and record whether it
 * worked, how long it took and how much memory it added. For language models and scorers the size
 * is the sequence length T (batch 1, empty KV cache); for tensor models it is the number of rows.
 *
 * A shape the model cannot take is a result (`status: "error"` with the runtime's message), never a
 * throw: secondary shapes may fail without blocking anything. `session.run` is blocking native
 * work, so these functions are meant to run in a worker thread or child process.
 */
import { err, type ModelKind, ok, type Result, type ShapeValidation, shapeKey } from "@modelgate/shared";
import * as ort from "onnxruntime-node";
import { createSeededRandom, type SeededRandom } from "../random/seeded-random.js";
import { float16BitsToFloat32, float32ArrayToFloat16 } from "./float16.js";

export type Feeds = Record<string, ort.Tensor>;
export type SessionOptions = ort.InferenceSession.SessionOptions;

export const DEFAULT_SHAPE_SEED = 1001;
/** Tensor models: a dynamic dimension past an input's batch (an image's height, a sequence) gets this size. */
export const TENSOR_DYNAMIC_DIM_SIZE = 8;
const PAST_PATTERN = /^past_key_values\.\d+\.(key|value)$/;
const MAX_ERROR_LENGTH = 2000;

export function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH - 1)}…` : text;
}

/** A session for `bytes`, or why it does not load (the "model loads" gate). */
export async function loadModelSession(
  bytes: Uint8Array,
  sessionOptions: SessionOptions = {},
): Promise<Result<ort.InferenceSession, string>> {
  try {
    // A shape that fails is recorded with the runtime's message; its copy on stderr is only noise.
    return ok(await ort.InferenceSession.create(bytes, { logSeverityLevel: 4, ...sessionOptions }));
  } catch (error) {
    return err(errorText(error));
  }
}

/** Whether a model's size axis is the sequence (LMs, scorers reading text) or the batch (tensor models). */
export function sizeIsSequence(kind: ModelKind): boolean {
  return kind !== "tensor";
}

/** A float tensor's values as float32 (float16 outputs are widened so they can be compared). */
export function floatValues(value: ort.OnnxValue | undefined): Float32Array | undefined {
  if (!(value instanceof ort.Tensor)) return undefined;
  if (value.type === "float32" && value.data instanceof Float32Array) return value.data;
  if (value.type === "float16" && value.data instanceof Uint16Array)
    return Float32Array.from(value.data, float16BitsToFloat32);
  return undefined;
}

// ---- Deterministic inputs ----

export interface FeedOptions {
  /** Token ids are drawn from [0, vocab): the `logits` output's fixed last dimension, else this, else 256 (bytes). */
  vocabSize?: number;
}

function tensorMetadata(
  session: ort.InferenceSession,
  name: string,
): ort.InferenceSession.TensorValueMetadata | undefined {
  const metadata = session.inputMetadata.find((entry) => entry.name === name);
  return metadata?.isTensor ? metadata : undefined;
}

/** The graph's own vocabulary wins: a tokenizer may have ids the embedding table lacks. */
function vocabularyOf(session: ort.InferenceSession, options: FeedOptions): number {
  const logits = session.outputMetadata.find((entry) => entry.name === "logits");
  const last = logits?.isTensor ? logits.shape.at(-1) : undefined;
  if (typeof last === "number" && last > 0) return last;
  return options.vocabSize ?? 256;
}

function tensorOf(type: ort.Tensor.Type, dims: readonly number[], draw: () => number): Result<ort.Tensor, string> {
  const count = dims.reduce((product, dim) => product * dim, 1);
  const values = Array.from({ length: count }, draw);
  switch (type) {
    case "float32":
      return ok(new ort.Tensor("float32", Float32Array.from(values), dims));
    case "float16":
      return ok(new ort.Tensor("float16", float32ArrayToFloat16(Float32Array.from(values)), dims));
    case "int64":
      return ok(
        new ort.Tensor(
          "int64",
          BigInt64Array.from(values, (v) => BigInt(Math.trunc(v))),
          dims,
        ),
      );
    case "int32":
      return ok(new ort.Tensor("int32", Int32Array.from(values, Math.trunc), dims));
    case "bool":
      return ok(
        new ort.Tensor(
          "bool",
          Uint8Array.from(values, (v) => (v === 0 ? 0 : 1)),
          dims,
        ),
      );
    case "float64":
      return ok(new ort.Tensor("float64", Float64Array.from(values), dims));
    case "uint8":
      return ok(
        new ort.Tensor(
          "uint8",
          Uint8Array.from(values, (v) => Math.max(0, Math.min(255, Math.trunc(v)))),
          dims,
        ),
      );
    case "int8":
      return ok(new ort.Tensor("int8", Int8Array.from(values, Math.trunc), dims));
    case "int16":
      return ok(new ort.Tensor("int16", Int16Array.from(values, Math.trunc), dims));
    case "uint16":
      return ok(
        new ort.Tensor(
          "uint16",
          Uint16Array.from(values, (v) => Math.max(0, Math.trunc(v))),
          dims,
        ),
      );
    case "uint32":
      return ok(
        new ort.Tensor(
          "uint32",
          Uint32Array.from(values, (v) => Math.max(0, Math.trunc(v))),
          dims,
        ),
      );
    case "uint64":
      return ok(
        new ort.Tensor(
          "uint64",
          BigUint64Array.from(values, (v) => BigInt(Math.max(0, Math.trunc(v)))),
          dims,
        ),
      );
    case "string":
      return ok(
        new ort.Tensor(
          "string",
          values.map(() => ""),
          dims,
        ),
      );
    default:
      return err(`inputs of type ${type} are not generated`);
  }
}

/**
 * Inputs for one run at `size`, the same for every session given the same seed and input shapes:
 * random draws do not depend on the element type, so an fp16 copy sees the fp32 values rounded.
 */
export function buildFeeds(
  session: ort.InferenceSession,
  kind: ModelKind,
  size: number,
  random: SeededRandom,
  options: FeedOptions = {},
): Result<Feeds, string> {
  const sequence = sizeIsSequence(kind);
  const vocab = vocabularyOf(session, options);
  const feeds: Feeds = {};
  // Tensor models: a named dimension has one size across inputs (`batch` in two inputs agrees).
  const named = new Map<string, number>();
  for (const name of session.inputNames) {
    const metadata = tensorMetadata(session, name);
    if (!metadata) return err(`input ${name} is not a tensor`);
    const past = PAST_PATTERN.test(name);
    let symbolicSeen = 0;
    // Fixed dimensions are kept; named ones get the size being checked, batch 1 and an empty past.
    const dims = metadata.shape.map((dim, index) => {
      if (typeof dim === "number" && dim >= 0) return dim;
      symbolicSeen += 1;
      if (!sequence) {
        // An input's first dynamic dimension is its batch (rows); later ones a modest size.
        const chosen =
          (typeof dim === "string" ? named.get(dim) : undefined) ??
          (symbolicSeen === 1 ? size : TENSOR_DYNAMIC_DIM_SIZE);
        if (typeof dim === "string") named.set(dim, chosen);
        return chosen;
      }
      if (index === 0) return 1;
      return past ? 0 : size;
    });
    let draw: () => number;
    if (name === "input_ids") draw = () => random.int(vocab);
    else if (name === "attention_mask") draw = () => 1;
    else if (name === "position_ids") {
      let position = 0;
      draw = () => position++ % Math.max(1, size);
    } else if (metadata.type === "float32" || metadata.type === "float16" || metadata.type === "float64") {
      draw = () => random.gaussian();
    } else if (metadata.type === "uint8") {
      // Pixels: the whole 0–255 range.
      draw = () => random.int(256);
    } else if (metadata.type === "bool") draw = () => random.int(2);
    // Other integers are often indices (a category, a token): 0 is one every table has.
    else draw = () => 0;
    const tensor = tensorOf(metadata.type, dims, draw);
    if (!tensor.ok) return err(`input ${name}: ${tensor.error}`);
    feeds[name] = tensor.value;
  }
  return ok(feeds);
}

// ---- Runs ----

const MB = 1024 * 1024;

/** Resident memory the run added: RSS growth or the rise of the process's peak RSS, whichever is larger. */
function memoryGrowthMb(rssBefore: number, peakBeforeKb: number): number {
  const rssGrowth = (process.memoryUsage.rss() - rssBefore) / MB;
  const peakGrowth = (process.resourceUsage().maxRSS - peakBeforeKb) / 1024;
  return Math.round(Math.max(0, rssGrowth, peakGrowth) * 10) / 10;
}

export interface ShapeRunOptions extends FeedOptions {
  seed?: number;
  /**
   * The longest sequence the model takes (the version's `max_context_tokens`). Longer sizes are
   * recorded as errors without running: a decoder may compute past its context without failing
   * (RoPE has no table to overrun), but what it computes there means nothing.
   */
  maxSize?: number;
}

/** One run at `size`; failures (bad input, runtime error, allocation failure) become `status: "error"`. */
export async function runShape(
  session: ort.InferenceSession,
  kind: ModelKind,
  size: number,
  options: ShapeRunOptions = {},
): Promise<ShapeValidation> {
  const feeds = buildFeeds(
    session,
    kind,
    size,
    createSeededRandom((options.seed ?? DEFAULT_SHAPE_SEED) + size),
    options,
  );
  if (!feeds.ok) return { status: "error", sequence_length: size, error: feeds.error };
  const rssBefore = process.memoryUsage.rss();
  const peakBefore = process.resourceUsage().maxRSS;
  const started = performance.now();
  try {
    await session.run(feeds.value);
    const latency = performance.now() - started;
    return {
      status: "ok",
      sequence_length: size,
      latency_ms: Math.round(latency * 100) / 100,
      memory_mb: memoryGrowthMb(rssBefore, peakBefore),
    };
  } catch (error) {
    return {
      status: "error",
      sequence_length: size,
      latency_ms: Math.round((performance.now() - started) * 100) / 100,
      error: errorText(error),
    };
  }
}

/** Every size on one session, smallest first so that a size that exhausts memory comes last. */
export async function enumerateSessionShapes(
  session: ort.InferenceSession,
  kind: ModelKind,
  sizes: readonly number[],
  options: ShapeRunOptions = {},
): Promise<Record<string, ShapeValidation>> {
  const results: Record<string, ShapeValidation> = {};
  for (const size of [...sizes].sort((a, b) => a - b)) {
    results[shapeKey(size)] =
      options.maxSize !== undefined && size > options.maxSize
        ? {
            status: "error",
            sequence_length: size,
            error: `${shapeKey(size)} exceeds the model's context of ${options.maxSize} tokens (max_context_tokens); not run`,
          }
        : await runShape(session, kind, size, options);
  }
  return results;
}

export type ShapeEnumeration =
  | { loaded: true; load_ms: number; shapes: Record<string, ShapeValidation> }
  | { loaded: false; error: string };

/** Loads `bytes` once and runs every size on that session; a model that does not load is a value too. */
export async function enumerateShapes(
  bytes: Uint8Array,
  kind: ModelKind,
  sizes: readonly number[],
  options: ShapeRunOptions & { sessionOptions?: SessionOptions } = {},
): Promise<ShapeEnumeration> {
  const started = performance.now();
  const session = await loadModelSession(bytes, options.sessionOptions);
  if (!session.ok) return { loaded: false, error: session.error };
  const loadMs = Math.round((performance.now() - started) * 100) / 100;
  try {
    return { loaded: true, load_ms: loadMs, shapes: await enumerateSessionShapes(session.value, kind, sizes, options) };
  } finally {
    await session.value.release();
  }
}
