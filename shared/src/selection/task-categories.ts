/**
 * Seed 002's task categories and benchmark weights, and its multi-category confidence, as
 * configuration with the seed's defaults. Routing (`selectRoute`) reads a version's
 * `benchmark_scores` (registry scale 0–100, higher is better) through these weights.
 */
import { z } from "zod";
import { freeText } from "../free-text.js";
import { MetricNameSchema, type ModelVersion } from "../model-version.js";
import { type NormalisedGpuWeights, normaliseGpuWeights, WorkerScoringSchema } from "./worker-score.js";

/** Same rule as a version's `categories` entries (model-version.ts). */
export const TaskCategoryNameSchema = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, "must be a lower-case category name");

/**
 * The sixteen benchmarks the default categories weigh. Every score is read as "higher is
 * better" on 0–100: a benchmark usually reported the other way round (ToxiGen's share of toxic
 * generations) is registered as its complement (share of non-toxic generations).
 */
export const DEFAULT_BENCHMARKS = [
  "HumanEval", // code: function synthesis from docstrings, pass@1
  "MBPP", // code: short Python problems, pass@1
  "GSM8K", // math: grade-school word problems
  "MATH", // math: competition problems (harder, so weighted above GSM8K)
  "MMLU", // general + knowledge: 57-subject multiple choice
  "MT-Bench", // general: multi-turn chat quality (judge score × 10)
  "HellaSwag", // general + reasoning: commonsense sentence completion
  "ARC-Challenge", // reasoning: grade-school science, challenge set
  "BBH", // reasoning: BIG-Bench Hard, multi-step
  "TriviaQA", // knowledge: closed-book factual recall
  "MGSM", // multilingual: GSM8K translated into 10 languages
  "FLORES-200", // multilingual: translation quality (chrF++)
  "LongBench", // long-context: QA/summarisation over long inputs
  "RULER", // long-context: retrieval and tracing at long lengths
  "TruthfulQA", // safety: avoids common falsehoods
  "ToxiGen", // safety: share of non-toxic generations
] as const;

export const BenchmarkWeightSchema = z.number().gt(0).max(100);

export const TaskCategorySchema = z.strictObject({
  description: freeText({ max: 500, multiline: true }).optional(),
  /** Benchmark name → weight in this category's weighted mean. */
  benchmarks: z
    .record(MetricNameSchema, BenchmarkWeightSchema)
    .refine((weights) => Object.keys(weights).length > 0, "a category needs at least one benchmark"),
});
export type TaskCategory = z.infer<typeof TaskCategorySchema>;

/**
 * Default weights. Code and math are the seed's own; the rest follow the same idea: the
 * harder or more direct measure of the category weighs more (MATH over GSM8K, BBH over
 * ARC-Challenge, RULER over LongBench), a broad proxy weighs less (HellaSwag in general and
 * reasoning, MMLU in knowledge).
 */
export const DEFAULT_TASK_CATEGORIES: Record<string, TaskCategory> = {
  general: {
    description: "open-ended chat and instructions",
    benchmarks: { MMLU: 1.0, "MT-Bench": 1.0, HellaSwag: 0.5 },
  },
  code: { description: "writing and fixing code", benchmarks: { HumanEval: 1.0, MBPP: 0.8 } },
  math: { description: "arithmetic and mathematical reasoning", benchmarks: { GSM8K: 1.2, MATH: 1.5 } },
  reasoning: {
    description: "multi-step logical and commonsense reasoning",
    benchmarks: { "ARC-Challenge": 1.0, BBH: 1.2, HellaSwag: 0.6 },
  },
  knowledge: { description: "factual question answering", benchmarks: { TriviaQA: 1.0, MMLU: 0.8 } },
  multilingual: { description: "non-English input and translation", benchmarks: { MGSM: 1.0, "FLORES-200": 1.0 } },
  "long-context": { description: "long documents and retrieval", benchmarks: { LongBench: 1.0, RULER: 1.2 } },
  safety: { description: "truthful, non-toxic answers", benchmarks: { TruthfulQA: 1.0, ToxiGen: 1.0 } },
};

const confidenceValue = z.number().gt(0).max(1);

/** Seed 002's multi-category confidence: how much to trust a model outside its main job. */
export const MultiCategoryConfidenceSchema = z.strictObject({
  /** The version lists exactly one category (the requested one). */
  single_category: confidenceValue.default(0.95),
  /** The version lists several; the requested one is its primary category. */
  primary_category: confidenceValue.default(0.9),
  /** The version lists several; the requested one is a secondary category. */
  secondary_category: confidenceValue.default(0.7),
});
export type MultiCategoryConfidence = z.infer<typeof MultiCategoryConfidenceSchema>;

/**
 * Everything `selectRoute` is configured with. `SelectionConfigSchema.parse({})` is the
 * complete default configuration.
 */
export const SelectionConfigSchema = z.strictObject({
  categories: z.record(TaskCategoryNameSchema, TaskCategorySchema).default(DEFAULT_TASK_CATEGORIES),
  confidence: MultiCategoryConfidenceSchema.prefault({}),
  /**
   * Benchmark score (0–1) of a version that reports none of the category's benchmarks: a
   * neutral prior, so an unbenchmarked model is neither preferred nor ruled out.
   */
  unscored_benchmark_score: z.number().min(0).max(1).default(0.5),
  scoring: WorkerScoringSchema.prefault({}),
});
export type SelectionConfig = z.infer<typeof SelectionConfigSchema>;

export const DEFAULT_SELECTION_CONFIG: SelectionConfig = SelectionConfigSchema.parse({});

/** The version's primary category: `primary_category`, else the first of `categories`. */
export function primaryCategoryOf(version: Pick<ModelVersion, "categories" | "primary_category">): string | undefined {
  return version.primary_category ?? version.categories[0];
}

/**
 * Seed 002's rule: one category → single; the requested one is the primary → primary;
 * otherwise secondary. The caller has already checked the version lists `category`.
 */
export function multiCategoryConfidence(
  version: Pick<ModelVersion, "categories" | "primary_category">,
  category: string,
  confidence: MultiCategoryConfidence,
): number {
  if (version.categories.length <= 1) return confidence.single_category;
  return primaryCategoryOf(version) === category ? confidence.primary_category : confidence.secondary_category;
}

/** A category's weights flattened for the hot loop. */
export interface PreparedCategory {
  readonly name: string;
  readonly benchmarks: readonly string[];
  readonly weights: Float64Array;
}

/** Flattens every category once per configuration (see `prepareSelection`). */
export function prepareCategories(categories: SelectionConfig["categories"]): Map<string, PreparedCategory> {
  const prepared = new Map<string, PreparedCategory>();
  for (const [name, category] of Object.entries(categories)) {
    const entries = Object.entries(category.benchmarks);
    prepared.set(name, {
      name,
      benchmarks: entries.map(([benchmark]) => benchmark),
      weights: Float64Array.from(entries.map(([, weight]) => weight)),
    });
  }
  return prepared;
}

/**
 * Weighted mean (0–1) of the version's scores over the category's benchmarks it reports;
 * `unscored` when it reports none of them (or the category has no configuration).
 */
export function benchmarkScore(
  scores: Readonly<Record<string, number>>,
  category: PreparedCategory | undefined,
  unscored: number,
): number {
  if (category === undefined) return unscored;
  let weighted = 0;
  let weightSum = 0;
  const { benchmarks, weights } = category;
  for (let i = 0; i < benchmarks.length; i++) {
    const score = scores[benchmarks[i] as string];
    if (score === undefined) continue;
    const weight = weights[i] as number;
    weighted += weight * score;
    weightSum += weight;
  }
  return weightSum > 0 ? weighted / weightSum / 100 : unscored;
}

/** Categories and GPU weights flattened once per configuration (see `prepareSelection`). */
export interface PreparedSelection {
  readonly kind: "prepared-selection";
  readonly config: SelectionConfig;
  readonly categories: ReadonlyMap<string, PreparedCategory>;
  readonly gpuWeights: NormalisedGpuWeights;
}

/** Flattens a validated configuration for `selectRoute`; do it once per configuration change. */
export function prepareSelection(config: SelectionConfig): PreparedSelection {
  return {
    kind: "prepared-selection",
    config,
    categories: prepareCategories(config.categories),
    gpuWeights: normaliseGpuWeights(config.scoring.gpu_weights),
  };
}

const preparedConfigs = new WeakMap<SelectionConfig, PreparedSelection>();

/** A prepared selection as is; a configuration prepared on first use and cached by identity. */
export function preparedSelectionFor(config: SelectionConfig | PreparedSelection): PreparedSelection {
  if ("kind" in config) return config;
  let prepared = preparedConfigs.get(config);
  if (prepared === undefined) {
    prepared = prepareSelection(config);
    preparedConfigs.set(config, prepared);
  }
  return prepared;
}
