import { mulberry32 } from "../seeded-random.js";
import type { EvaluationResult } from "./evaluation-report.js";

/**
 * Two targets of one evaluation side by side, per metric, with a paired bootstrap: the lines
 * both targets answered are resampled with replacement, and the 2.5th–97.5th percentiles of
 * the resampled mean differences are the 95% interval. An interval that excludes 0 means the
 * difference is unlikely to be noise from this dataset's particular lines.
 */

export interface MetricComparison {
  metric: "pass_rate" | "mean_judge_score" | "latency_ms" | "tokens_generated";
  /** Lines both targets have a value for. */
  paired: number;
  a: number | null;
  b: number | null;
  /** b − a; null when no line pairs up. */
  difference: number | null;
  ci95: [number, number] | null;
  significant: boolean;
}

export interface TargetComparison {
  a: string;
  b: string;
  resamples: number;
  seed: number;
  metrics: MetricComparison[];
}

export const DEFAULT_BOOTSTRAP_RESAMPLES = 2000;

const round = (value: number) => Math.round(value * 1e4) / 1e4;

type Extract = (row: EvaluationResult) => number | null;

const EXTRACTORS: Record<MetricComparison["metric"], Extract> = {
  pass_rate: (row) => (row.passed === null ? null : row.passed ? 1 : 0),
  mean_judge_score: (row) => (row.error === undefined ? row.judge_score : null),
  latency_ms: (row) => (row.error === undefined ? row.latency_ms : null),
  tokens_generated: (row) => (row.error === undefined ? row.tokens_generated : null),
};

function compareMetric(
  metric: MetricComparison["metric"],
  pairs: ReadonlyArray<[EvaluationResult, EvaluationResult]>,
  resamples: number,
  seed: number,
): MetricComparison {
  const extract = EXTRACTORS[metric];
  const values: Array<[number, number]> = [];
  for (const [a, b] of pairs) {
    const va = extract(a);
    const vb = extract(b);
    if (va !== null && vb !== null) values.push([va, vb]);
  }
  if (values.length === 0) {
    return { metric, paired: 0, a: null, b: null, difference: null, ci95: null, significant: false };
  }
  const n = values.length;
  const meanA = values.reduce((sum, [va]) => sum + va, 0) / n;
  const meanB = values.reduce((sum, [, vb]) => sum + vb, 0) / n;
  // Seeded, so the same results file always gives the same interval.
  const random = mulberry32(seed);
  const differences: number[] = [];
  for (let sample = 0; sample < resamples; sample++) {
    let total = 0;
    for (let i = 0; i < n; i++) {
      const pair = values[Math.floor(random() * n)];
      if (pair) total += pair[1] - pair[0];
    }
    differences.push(total / n);
  }
  differences.sort((x, y) => x - y);
  const at = (q: number) => differences[Math.min(resamples - 1, Math.max(0, Math.floor(q * resamples)))] ?? 0;
  const low = round(at(0.025));
  const high = round(at(0.975));
  return {
    metric,
    paired: n,
    a: round(meanA),
    b: round(meanB),
    difference: round(meanB - meanA),
    ci95: [low, high],
    significant: low > 0 || high < 0,
  };
}

/** Compares target `b` against target `a` over the lines of `rows` both answered. */
export function compareEvaluationTargets(
  rows: readonly EvaluationResult[],
  a: string,
  b: string,
  options: { resamples?: number; seed?: number } = {},
): TargetComparison {
  const resamples = options.resamples ?? DEFAULT_BOOTSTRAP_RESAMPLES;
  const seed = options.seed ?? 1;
  const byLine = new Map<number, EvaluationResult>();
  for (const row of rows) if (row.target === a) byLine.set(row.line, row);
  const pairs: Array<[EvaluationResult, EvaluationResult]> = [];
  for (const row of rows) {
    const partner = row.target === b ? byLine.get(row.line) : undefined;
    if (partner) pairs.push([partner, row]);
  }
  const metrics = (Object.keys(EXTRACTORS) as MetricComparison["metric"][]).map((metric) =>
    compareMetric(metric, pairs, resamples, seed),
  );
  return { a, b, resamples, seed, metrics };
}
