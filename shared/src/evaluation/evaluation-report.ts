import { z } from "zod";
import { FinishReasonSchema } from "../inference.js";
import { RefinementStopReasonSchema } from "../judge.js";

/**
 * One row of an evaluation's results file (JSONL): one dataset line on one target. A line
 * whose generation failed has `error` and no figures; it counts as not passed.
 */
export const EvaluationResultSchema = z.strictObject({
  /** 1-based, as the dataset's editor shows it. */
  line: z.int().min(1),
  id: z.string().optional(),
  /** The target's label (`name@3:int8`). */
  target: z.string(),
  text: z.string(),
  error: z.string().optional(),
  finish_reason: FinishReasonSchema.optional(),
  stop_reason: RefinementStopReasonSchema.optional(),
  refinement_loops: z.int().min(0),
  judge_score: z.number().min(0).max(1).nullable(),
  judge_passed: z.boolean().nullable(),
  halt_probability: z.number().min(0).max(1).nullable(),
  latent_spans_used: z.int().min(0),
  ces_tokens_total: z.int().min(0),
  tokens_generated: z.int().min(0),
  latency_ms: z.number().min(0),
  /** The scores against `expected`, by kind; absent when the line expects nothing. */
  exact_match: z.boolean().optional(),
  regex_match: z.boolean().optional(),
  schema_valid: z.boolean().optional(),
  /** Every check the line has (expected and judge) passed; null when it has none. */
  passed: z.boolean().nullable(),
});
export type EvaluationResult = z.infer<typeof EvaluationResultSchema>;

const rate = z.number().min(0).max(1).nullable();

/** Seed 000's metrics for one target, computed from its result rows alone. */
export const EvaluationTargetReportSchema = z.strictObject({
  target: z.string(),
  lines: z.int().min(0),
  errors: z.int().min(0),
  /** Lines with at least one check, and how many of them passed every check. */
  checked: z.int().min(0),
  passed: z.int().min(0),
  pass_rate: rate,
  mean_judge_score: rate,
  exact_match_rate: rate,
  regex_match_rate: rate,
  schema_valid_rate: rate,
  mean_refinement_loops: z.number().min(0),
  mean_latent_spans: z.number().min(0),
  mean_halt_probability: rate,
  /** Halt efficiency: the share of generations the halt head ended (rather than length or eos). */
  halt_rate: rate,
  ces_tokens_total: z.int().min(0),
  mean_ces_tokens: z.number().min(0),
  latency_ms_p50: z.number().min(0),
  latency_ms_p95: z.number().min(0),
  /** Generated tokens over the summed generation time: each request's own decode speed. */
  tokens_per_second: z.number().min(0),
});
export type EvaluationTargetReport = z.infer<typeof EvaluationTargetReportSchema>;

/** `report.json`: per-target metrics plus how the run went (wall time spans every worker that held it). */
export const EvaluationReportSchema = z.strictObject({
  job_id: z.string(),
  dataset_sha256: z.string(),
  lines: z.int().min(1),
  targets: z.array(EvaluationTargetReportSchema),
  run: z.strictObject({
    started_at: z.iso.datetime(),
    finished_at: z.iso.datetime(),
    wall_ms: z.number().min(0),
    /** Result rows over the wall time. */
    requests_per_second: z.number().min(0),
    attempts: z.int().min(1),
  }),
});
export type EvaluationReport = z.infer<typeof EvaluationReportSchema>;

const round = (value: number, digits = 4) => Math.round(value * 10 ** digits) / 10 ** digits;

const mean = (values: readonly number[]) =>
  values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length;

/** Share of `true` among the defined values; null when none is defined. */
function share(values: ReadonlyArray<boolean | null | undefined>): number | null {
  const defined = values.filter((value): value is boolean => typeof value === "boolean");
  return defined.length === 0 ? null : round(defined.filter(Boolean).length / defined.length);
}

/** Nearest-rank percentile of sorted values (0 for none). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? 0;
}

/** One target's report from its rows; the same rows always give the same report. */
export function reportTarget(target: string, rows: readonly EvaluationResult[]): EvaluationTargetReport {
  const ok = rows.filter((row) => row.error === undefined);
  const checked = rows.filter((row) => row.passed !== null);
  const judged = ok.flatMap((row) => (row.judge_score === null ? [] : [row.judge_score]));
  const halts = ok.flatMap((row) => (row.halt_probability === null ? [] : [row.halt_probability]));
  const latencies = ok.map((row) => row.latency_ms).sort((a, b) => a - b);
  const tokens = ok.reduce((sum, row) => sum + row.tokens_generated, 0);
  const seconds = ok.reduce((sum, row) => sum + row.latency_ms, 0) / 1000;
  const ces = ok.reduce((sum, row) => sum + row.ces_tokens_total, 0);
  const passed = checked.filter((row) => row.passed === true).length;
  return {
    target,
    lines: rows.length,
    errors: rows.length - ok.length,
    checked: checked.length,
    passed,
    pass_rate: checked.length === 0 ? null : round(passed / checked.length),
    mean_judge_score: judged.length === 0 ? null : round(mean(judged)),
    exact_match_rate: share(rows.map((row) => row.exact_match)),
    regex_match_rate: share(rows.map((row) => row.regex_match)),
    schema_valid_rate: share(rows.map((row) => row.schema_valid)),
    mean_refinement_loops: round(mean(ok.map((row) => row.refinement_loops))),
    mean_latent_spans: round(mean(ok.map((row) => row.latent_spans_used))),
    mean_halt_probability: halts.length === 0 ? null : round(mean(halts)),
    halt_rate: ok.length === 0 ? null : round(ok.filter((row) => row.finish_reason === "halt").length / ok.length),
    ces_tokens_total: ces,
    mean_ces_tokens: round(ok.length === 0 ? 0 : ces / ok.length),
    latency_ms_p50: round(percentile(latencies, 50), 3),
    latency_ms_p95: round(percentile(latencies, 95), 3),
    tokens_per_second: seconds === 0 ? 0 : round(tokens / seconds, 2),
  };
}

/** Every target's report, in the order given, from the whole results file's rows. */
export function reportTargets(targets: readonly string[], rows: readonly EvaluationResult[]): EvaluationTargetReport[] {
  return targets.map((target) =>
    reportTarget(
      target,
      rows.filter((row) => row.target === target),
    ),
  );
}

/** A results file's text as rows (blank lines skipped), each checked against the schema. */
export function parseEvaluationResults(text: string): EvaluationResult[] {
  return text
    .split("\n")
    .filter((row) => row.trim() !== "")
    .map((row) => EvaluationResultSchema.parse(JSON.parse(row)));
}
