import { z } from "zod";
import { freeText } from "../free-text.js";
import type { ConversionTarget } from "./conversion-target.js";

/**
 * Seed 001's three gate levels. Only `must_pass` blocks: a version or format with a failed
 * must-pass gate is never promoted (unless forced, with a recorded reason) nor served.
 */
export const GateLevelSchema = z.enum(["must_pass", "should_pass", "nice_to_have"]);
export type GateLevel = z.infer<typeof GateLevelSchema>;

/** One checked condition: what was measured, against which threshold, and whether it held. */
export const GateResultSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/),
  level: GateLevelSchema,
  passed: z.boolean(),
  /** The measured value, when the gate compares a number. */
  value: z.number().optional(),
  threshold: z.number().optional(),
  comparison: z.enum([">=", "<="]).optional(),
  /** What was checked or why it failed, in words. */
  detail: z.string().max(2000),
});
export type GateResult = z.infer<typeof GateResultSchema>;

/** The gates of one report with their verdicts per level; `gates_ok` means every must-pass gate passed. */
export const GateSummarySchema = z.strictObject({
  gates: z.array(GateResultSchema).max(64),
  gates_ok: z.boolean(),
  should_pass_ok: z.boolean(),
  nice_to_have_ok: z.boolean(),
  /** Names of the failed must-pass gates (empty when `gates_ok`). */
  must_pass_failed: z.array(freeText({ max: 64 })).max(64),
});
export type GateSummary = z.infer<typeof GateSummarySchema>;

/** Summarises gate results into the verdicts a report and the registry carry. */
export function summariseGates(gates: readonly GateResult[]): GateSummary {
  const failed = (level: GateLevel) => gates.filter((gate) => gate.level === level && !gate.passed);
  const mustFailed = failed("must_pass");
  return {
    gates: [...gates],
    gates_ok: mustFailed.length === 0,
    should_pass_ok: failed("should_pass").length === 0,
    nice_to_have_ok: failed("nice_to_have").length === 0,
    must_pass_failed: mustFailed.map((gate) => gate.name),
  };
}

/** A numeric gate: `value comparison threshold`. NaN (nothing measured) never passes. */
export function numericGate(
  name: string,
  level: GateLevel,
  value: number,
  comparison: ">=" | "<=",
  threshold: number,
  what: string,
): GateResult {
  const passed = Number.isFinite(value) && (comparison === ">=" ? value >= threshold : value <= threshold);
  return {
    name,
    level,
    passed,
    ...(Number.isFinite(value) ? { value } : {}),
    threshold,
    comparison,
    detail: `${what}: ${Number.isFinite(value) ? formatNumber(value) : "not measured"} (needs ${comparison} ${threshold})`,
  };
}

/** A yes/no gate with what it checked. */
export function checkGate(name: string, level: GateLevel, passed: boolean, detail: string): GateResult {
  return { name, level, passed, detail };
}

function formatNumber(value: number): string {
  return Math.abs(value) >= 1e-3 || value === 0 ? String(Number(value.toPrecision(6))) : value.toExponential(3);
}

/**
 * Numeric thresholds of a converted format's gates. The must-pass agreement figures are the
 * issue's quality targets (fp16 ≥ 99.9 %, int8 ≥ 99 %, int4 ≥ 95 % top-1 agreement with fp32);
 * size ratios are nice-to-have because a tiny model's fixed overhead can dominate its size.
 */
export const FormatThresholdsSchema = z.strictObject({
  /** Must pass: next-token / class top-1 agreement with the fp32 original, 0–1. */
  min_top1_agreement: z.number().min(0).max(1),
  /** Should pass: mean cosine similarity of the output vectors, −1–1. */
  min_cosine_similarity: z.number().min(-1).max(1),
  /** Must pass: largest |halt probability − fp32 halt probability| (models with a halt head; it decides when refinement stops). */
  max_halt_probability_diff: z.number().min(0).max(1),
  /** Nice to have: converted bytes / fp32 bytes. */
  max_size_ratio: z.number().min(0).max(10),
  /** Nice to have: largest absolute difference of any output value. */
  max_abs_diff: z.number().min(0),
});
export type FormatThresholds = z.infer<typeof FormatThresholdsSchema>;

export const DEFAULT_FORMAT_THRESHOLDS: Readonly<Record<ConversionTarget, FormatThresholds>> = {
  fp16: {
    min_top1_agreement: 0.999,
    min_cosine_similarity: 0.9999,
    max_halt_probability_diff: 0.01,
    max_size_ratio: 0.55,
    max_abs_diff: 0.05,
  },
  int8: {
    min_top1_agreement: 0.99,
    min_cosine_similarity: 0.999,
    max_halt_probability_diff: 0.03,
    max_size_ratio: 0.3,
    max_abs_diff: 0.5,
  },
  int4: {
    min_top1_agreement: 0.95,
    min_cosine_similarity: 0.99,
    max_halt_probability_diff: 0.08,
    max_size_ratio: 0.2,
    max_abs_diff: 2,
  },
};

/** Per-request changes to the defaults, e.g. a stricter int4 agreement for a sensitive model. */
export const FormatThresholdOverridesSchema = z
  .strictObject({
    fp16: FormatThresholdsSchema.partial().optional(),
    int8: FormatThresholdsSchema.partial().optional(),
    int4: FormatThresholdsSchema.partial().optional(),
  })
  .optional();
export type FormatThresholdOverrides = z.infer<typeof FormatThresholdOverridesSchema>;

export function thresholdsFor(target: ConversionTarget, overrides: FormatThresholdOverrides): FormatThresholds {
  return { ...DEFAULT_FORMAT_THRESHOLDS[target], ...(overrides?.[target] ?? {}) };
}
