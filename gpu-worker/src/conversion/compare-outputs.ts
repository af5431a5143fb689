/**
 * Runs a converted model and its fp32 original on the same seeded inputs and measures how far
 * apart their outputs are: per position for LMs (logits, and the halt probability per sequence),
 * per row for tensor models, plus the median latency of each at the primary shape.
 */
import {
  err,
  haltProbability,
  type ModelKind,
  ok,
  type Result,
  type VerificationMetrics,
  type VerificationReport,
} from "@modelgate/shared";
import type * as ort from "onnxruntime-node";
import { argmax } from "../inference/sampling.js";
import { createSeededRandom } from "../random/seeded-random.js";
import { compareTensorSessions } from "./compare-tensor-outputs.js";
import { buildFeeds, errorText, floatValues, sizeIsSequence } from "./shape-enumeration.js";
import { rowCosine } from "./top1-agreement.js";

export const DEFAULT_VERIFY_SEED = 6001;
/** LMs: a few sequences of modest length (long ones add time, not information); tensor models: rows. */
const DEFAULT_SEQUENCES = 3;
const MAX_COMPARE_LENGTH = 128;
const DEFAULT_ROWS = 256;
const DEFAULT_LATENCY_RUNS = 3;

export interface ComparisonOptions {
  kind: ModelKind;
  primary: number;
  seed?: number;
  /** Sequences (LMs, scorers) or rows (tensor models) to compare. */
  samples?: number;
  latencyRuns?: number;
  vocabSize?: number;
}

export interface Comparison {
  metrics: Omit<VerificationMetrics, "size_ratio">;
  inputs: VerificationReport["inputs"];
}

/** The output compared for agreement: `logits`, else `probabilities`, else the first non-cache output. */
function primaryOutput(session: ort.InferenceSession): string | undefined {
  const names = session.outputNames;
  if (names.includes("logits")) return "logits";
  if (names.includes("probabilities")) return "probabilities";
  return names.find((name) => !name.startsWith("present.") && name !== "halt_logits");
}

/**
 * Whether the converted model's top choice is also the original's: strict arg-max agreement,
 * except that a choice the original scores exactly as high as its top (an exact tie) agrees.
 */
export function topChoiceAgrees(
  original: ArrayLike<number>,
  converted: ArrayLike<number>,
  from: number,
  length: number,
): boolean {
  const top = argmax(original, from, length);
  const choice = argmax(converted, from, length);
  return (original[from + choice] ?? Number.NEGATIVE_INFINITY) >= (original[from + top] ?? 0);
}

class Tally {
  maxAbsDiff = 0;
  cosineSum = 0;
  agreeing = 0;
  compared = 0;
  haltMaxDiff: number | undefined;

  /** Vectors along the last axis; a one-value vector (a score) agrees when both sit on the same side of 0.5. */
  addVectors(original: Float32Array, converted: Float32Array, width: number): void {
    for (let start = 0; start + width <= original.length; start += width) {
      for (let i = start; i < start + width; i++) {
        // NaN must not hide behind Math.max: a NaN output is as far off as it gets.
        const diff = Math.abs((original[i] ?? 0) - (converted[i] ?? 0));
        this.maxAbsDiff = Number.isNaN(diff) ? Number.POSITIVE_INFINITY : Math.max(this.maxAbsDiff, diff);
      }
      const cosine = rowCosine(original, converted, start, width);
      this.cosineSum += Number.isFinite(cosine) ? Math.max(-1, Math.min(1, cosine)) : -1;
      const same =
        width === 1
          ? (original[start] ?? 0) >= 0.5 === (converted[start] ?? 0) >= 0.5
          : topChoiceAgrees(original, converted, start, width);
      if (same) this.agreeing += 1;
      this.compared += 1;
    }
  }

  addHalt(original: Float32Array, converted: Float32Array): void {
    for (let i = 0; i + 1 < original.length; i += 2) {
      const a = haltProbability([original[i] ?? 0, original[i + 1] ?? 0]);
      const b = haltProbability([converted[i] ?? 0, converted[i + 1] ?? 0]);
      const diff = Math.abs(a - b);
      this.haltMaxDiff = Math.max(this.haltMaxDiff ?? 0, Number.isFinite(diff) ? diff : 1);
      this.maxAbsDiff = Math.max(this.maxAbsDiff, Math.abs((original[i] ?? 0) - (converted[i] ?? 0)));
      this.maxAbsDiff = Math.max(this.maxAbsDiff, Math.abs((original[i + 1] ?? 0) - (converted[i + 1] ?? 0)));
    }
  }
}

export async function medianLatency(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, runs: number) {
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    await session.run(feeds);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return Math.round((times[Math.floor(times.length / 2)] ?? 0) * 100) / 100;
}

/** Runs both sessions on the same seeded inputs; a run that throws or a missing output is a value. */
export async function compareSessions(
  original: ort.InferenceSession,
  converted: ort.InferenceSession,
  options: ComparisonOptions,
): Promise<Result<Comparison, string>> {
  // A tensor model has any outputs: each is compared (compare-tensor-outputs.ts).
  if (options.kind === "tensor") return compareTensorSessions(original, converted, options);
  const seed = options.seed ?? DEFAULT_VERIFY_SEED;
  const sequence = sizeIsSequence(options.kind);
  const samples = options.samples ?? (sequence ? DEFAULT_SEQUENCES : DEFAULT_ROWS);
  const length = Math.min(options.primary, MAX_COMPARE_LENGTH);
  const compared = primaryOutput(original);
  if (compared === undefined) return err("the original has no output to compare");
  // A converted model that lost its halt head still has its logits compared; the halt gate then
  // reads "not measured" and the outputs gate names the missing output.
  const halt = [original, converted].every((session) => session.outputNames.includes("halt_logits"))
    ? "halt_logits"
    : undefined;
  const fetches = [compared, ...(halt ? [halt] : [])];
  const tally = new Tally();
  // LMs: one sequence per run, batch 1, as served; tensor models: every row in one run.
  const runs = sequence ? samples : 1;
  const size = sequence ? length : samples;
  try {
    for (let run = 0; run < runs; run++) {
      const feedsA = buildFeeds(original, options.kind, size, createSeededRandom(seed + run), options);
      const feedsB = buildFeeds(converted, options.kind, size, createSeededRandom(seed + run), options);
      if (!feedsA.ok) return err(feedsA.error);
      if (!feedsB.ok) return err(`the converted model's inputs: ${feedsB.error}`);
      const outA = await original.run(feedsA.value, fetches);
      const outB = await converted.run(feedsB.value, fetches);
      for (const name of fetches) {
        const a = floatValues(outA[name]);
        const b = floatValues(outB[name]);
        if (a === undefined) return err(`the original's ${name} is not a float tensor`);
        if (b === undefined || b.length !== a.length) {
          return err(`the converted model's ${name} is missing, not a float tensor or of another shape`);
        }
        if (name === halt) tally.addHalt(a, b);
        else tally.addVectors(a, b, outA[name]?.dims.at(-1) ?? a.length);
      }
    }
  } catch (error) {
    return err(`running the comparison failed: ${errorText(error)}`);
  }
  if (tally.compared === 0) return err(`no ${compared} vectors to compare`);
  const latencyRuns = options.latencyRuns ?? DEFAULT_LATENCY_RUNS;
  const latency: { original?: number; converted?: number } = {};
  const primaryA = buildFeeds(original, options.kind, options.primary, createSeededRandom(seed), options);
  const primaryB = buildFeeds(converted, options.kind, options.primary, createSeededRandom(seed), options);
  // A primary shape that does not run has no latency; its own gate reports why.
  if (latencyRuns > 0 && primaryA.ok && primaryB.ok) {
    try {
      latency.original = await medianLatency(original, primaryA.value, latencyRuns);
      latency.converted = await medianLatency(converted, primaryB.value, latencyRuns);
    } catch {}
  }
  const tieNote = "top-1 agreement is strict arg-max equality (an exact tie in the original counts)";
  return ok({
    metrics: {
      max_abs_diff: Number.isFinite(tally.maxAbsDiff) ? tally.maxAbsDiff : Number.MAX_VALUE,
      cosine_similarity: tally.cosineSum / tally.compared,
      top1_agreement: tally.agreeing / tally.compared,
      compared: tally.compared,
      ...(tally.haltMaxDiff === undefined ? {} : { halt_probability_max_diff: Math.min(1, tally.haltMaxDiff) }),
      ...(latency.converted === undefined ? {} : { converted_latency_ms: latency.converted }),
      ...(latency.original === undefined ? {} : { original_latency_ms: latency.original }),
    },
    inputs: {
      description: sequence
        ? `${runs} sequences of ${length} uniformly drawn token ids (batch 1, empty KV cache), compared per position on ${compared}${halt ? " and per sequence on the halt probability" : ""}; ${tieNote}`
        : `${size} rows of standard-normal features, compared per row on ${compared}; ${tieNote}`,
      seed,
      ...(sequence ? { sequence_length: length } : {}),
      samples: sequence ? runs : size,
    },
  });
}
