/**
 * A converted tensor model against its fp32 original, output by output: every numeric output is
 * compared (max |diff|, the mean cosine of its vectors along the last axis), and the decision
 * outputs for top-1 — class scores (`probabilities`/`logits`, by arg-max, an exact tie in the
 * original agreeing) and integer outputs (class ids, compared exactly). The report's headline
 * figures are the worst output's.
 */
import { err, ok, type Result, type VerificationMetrics } from "@modelgate/shared";
import * as ort from "onnxruntime-node";
import { createSeededRandom } from "../random/seeded-random.js";
import {
  type Comparison,
  type ComparisonOptions,
  DEFAULT_VERIFY_SEED,
  medianLatency,
  topChoiceAgrees,
} from "./compare-outputs.js";
import { float16BitsToFloat32 } from "./float16.js";
import { buildFeeds, errorText, TENSOR_DYNAMIC_DIM_SIZE } from "./shape-enumeration.js";
import { rowCosine } from "./top1-agreement.js";

const DEFAULT_ROWS = 256;
const DEFAULT_LATENCY_RUNS = 3;
const CLASS_SCORE_NAMES = new Set(["probabilities", "logits"]);
const FLOAT_TYPES = new Set(["float32", "float16", "float64"]);

/** Any numeric tensor's values as float64 (float16 widened, 64-bit integers as numbers); undefined for strings. */
function numericValues(value: ort.OnnxValue | undefined): Float64Array | undefined {
  if (!(value instanceof ort.Tensor) || value.type === "string") return undefined;
  if (value.type === "float16" && value.data instanceof Uint16Array)
    return Float64Array.from(value.data, float16BitsToFloat32);
  const data = value.data as ArrayLike<number | bigint>;
  return Float64Array.from({ length: data.length }, (_, i) => Number(data[i]));
}

interface OutputTally {
  maxAbsDiff: number;
  cosineSum: number;
  vectors: number;
  agreeing: number;
  decisions: number;
}

function compareOutput(
  a: Float64Array,
  b: Float64Array,
  width: number,
  decision: "argmax" | "exact" | undefined,
): OutputTally {
  const tally: OutputTally = { maxAbsDiff: 0, cosineSum: 0, vectors: 0, agreeing: 0, decisions: 0 };
  const step = Math.max(1, width);
  for (let start = 0; start + step <= a.length; start += step) {
    for (let i = start; i < start + step; i++) {
      const diff = Math.abs((a[i] ?? 0) - (b[i] ?? 0));
      tally.maxAbsDiff = Number.isNaN(diff) ? Number.POSITIVE_INFINITY : Math.max(tally.maxAbsDiff, diff);
    }
    const cosine = rowCosine(
      Float32Array.from(a.subarray(start, start + step)),
      Float32Array.from(b.subarray(start, start + step)),
      0,
      step,
    );
    tally.cosineSum += Number.isFinite(cosine) ? Math.max(-1, Math.min(1, cosine)) : -1;
    tally.vectors += 1;
    if (decision === "argmax") {
      tally.decisions += 1;
      if (topChoiceAgrees(a, b, start, step)) tally.agreeing += 1;
    }
  }
  if (decision === "exact") {
    for (let i = 0; i < a.length; i++) {
      tally.decisions += 1;
      if (a[i] === b[i]) tally.agreeing += 1;
    }
  }
  return tally;
}

/** The decision an output carries, from its metadata: class scores, integer ids, or none. */
function decisionOf(session: ort.InferenceSession, name: string): "argmax" | "exact" | undefined {
  const metadata = session.outputMetadata.find((entry) => entry.name === name);
  if (!metadata?.isTensor) return undefined;
  if (FLOAT_TYPES.has(metadata.type))
    return CLASS_SCORE_NAMES.has(name) && metadata.shape.length === 2 ? "argmax" : undefined;
  return metadata.type === "string" ? undefined : "exact";
}

export async function compareTensorSessions(
  original: ort.InferenceSession,
  converted: ort.InferenceSession,
  options: ComparisonOptions,
): Promise<Result<Comparison, string>> {
  const seed = options.seed ?? DEFAULT_VERIFY_SEED;
  const rows = options.samples ?? DEFAULT_ROWS;
  const outputs = original.outputNames.filter((name) => {
    const metadata = original.outputMetadata.find((entry) => entry.name === name);
    return metadata?.isTensor === true && metadata.type !== "string";
  });
  if (outputs.length === 0) return err("the original has no numeric output to compare");
  const feedsA = buildFeeds(original, "tensor", rows, createSeededRandom(seed), options);
  const feedsB = buildFeeds(converted, "tensor", rows, createSeededRandom(seed), options);
  if (!feedsA.ok) return err(feedsA.error);
  if (!feedsB.ok) return err(`the converted model's inputs: ${feedsB.error}`);
  const perOutput: NonNullable<VerificationMetrics["outputs"]> = {};
  const decisionOutputs: string[] = [];
  let maxAbsDiff = 0;
  let cosine = 1;
  let top1 = 1;
  try {
    const outA = await original.run(feedsA.value, outputs);
    const outB = await converted.run(feedsB.value, outputs);
    for (const name of outputs) {
      const a = numericValues(outA[name]);
      const b = numericValues(outB[name]);
      if (a === undefined) return err(`the original's ${name} is not a numeric tensor`);
      if (b === undefined || b.length !== a.length)
        return err(`the converted model's ${name} is missing, not numeric or of another shape`);
      const dims = outA[name]?.dims ?? [];
      const decision = decisionOf(original, name);
      const tally = compareOutput(a, b, dims.length > 1 ? (dims.at(-1) ?? a.length) : a.length, decision);
      const meanCosine = tally.vectors === 0 ? 1 : tally.cosineSum / tally.vectors;
      const agreement = tally.decisions === 0 ? undefined : tally.agreeing / tally.decisions;
      perOutput[name] = {
        max_abs_diff: Number.isFinite(tally.maxAbsDiff) ? tally.maxAbsDiff : Number.MAX_VALUE,
        cosine_similarity: meanCosine,
        ...(agreement === undefined ? {} : { top1_agreement: agreement }),
      };
      maxAbsDiff = Math.max(maxAbsDiff, perOutput[name].max_abs_diff);
      cosine = Math.min(cosine, meanCosine);
      if (agreement !== undefined) {
        decisionOutputs.push(name);
        top1 = Math.min(top1, agreement);
      }
    }
  } catch (error) {
    return err(`running the comparison failed: ${errorText(error)}`);
  }
  const latencyRuns = options.latencyRuns ?? DEFAULT_LATENCY_RUNS;
  const latency: { original?: number; converted?: number } = {};
  const primaryA = buildFeeds(original, "tensor", options.primary, createSeededRandom(seed), options);
  const primaryB = buildFeeds(converted, "tensor", options.primary, createSeededRandom(seed), options);
  if (latencyRuns > 0 && primaryA.ok && primaryB.ok) {
    try {
      latency.original = await medianLatency(original, primaryA.value, latencyRuns);
      latency.converted = await medianLatency(converted, primaryB.value, latencyRuns);
    } catch {}
  }
  const decided =
    decisionOutputs.length === 0
      ? "no output is a class score or an integer decision, so top-1 does not apply"
      : `top-1 on ${decisionOutputs.join(", ")} (class scores by strict arg-max, an exact tie in the original counting; integer outputs exactly)`;
  return ok({
    metrics: {
      max_abs_diff: maxAbsDiff,
      cosine_similarity: cosine,
      top1_agreement: top1,
      compared: rows,
      top1_outputs: decisionOutputs,
      outputs: perOutput,
      ...(latency.converted === undefined ? {} : { converted_latency_ms: latency.converted }),
      ...(latency.original === undefined ? {} : { original_latency_ms: latency.original }),
    },
    inputs: {
      description: `${rows} rows of seeded inputs (floats standard-normal, uint8 0–255, other integers 0, dynamic dimensions past the batch ${TENSOR_DYNAMIC_DIM_SIZE}), every output compared (${outputs.join(", ")}); ${decided}`,
      seed,
      samples: rows,
    },
  });
}
