import { describe, expect, it } from "vitest";
import { ModelgateError } from "../src/errors.js";
import { type GpuSnapshot, type WorkerState, WorkerStateSchema } from "../src/gpu.js";
import type { ModelVersion } from "../src/model-version.js";
import { hasHaltHead, STAGE_PREFERENCE, supportsLatentMode } from "../src/selection/candidate-index.js";
import { headerSafe, type RouteSelectionError } from "../src/selection/route-explain.js";
import {
  RouteConstraintsSchema,
  type RouteDecision,
  type SelectRouteInput,
  selectRoute,
} from "../src/selection/select-route.js";
import {
  applySelectionFlagsPatch,
  DEFAULT_SELECTION_FLAGS,
  type SelectionFlags,
  SelectionFlagsPatchSchema,
  SelectionFlagsSchema,
} from "../src/selection/selection-flags.js";
import {
  benchmarkScore,
  DEFAULT_BENCHMARKS,
  multiCategoryConfidence,
  prepareCategories,
  prepareSelection,
  primaryCategoryOf,
  type SelectionConfig,
  SelectionConfigSchema,
} from "../src/selection/task-categories.js";
import {
  coldLoadMs,
  expectedServiceMs,
  gpuLoadScore,
  heartbeatFreshness,
  latencyScaleFor,
  normaliseGpuWeights,
  parseTimestampMs,
  stalenessFactor,
} from "../src/selection/worker-score.js";
import { gpu, modelVersion, SHA_B, T0 } from "./fixtures.js";

const DEFAULTS = SelectionConfigSchema.parse({});
const CONFIG = prepareSelection(DEFAULTS);
const ALL_FLAG_SETS: SelectionFlags[] = [false, true].flatMap((benchmark_scoring) =>
  [false, true].flatMap((multi_category) =>
    [false, true].map((gpu_awareness) => ({ benchmark_scoring, multi_category, gpu_awareness })),
  ),
);

interface WorkerOptions {
  id: string;
  ageMs?: number;
  intervalMs?: number;
  queueDepth?: number;
  inFlight?: number;
  tokensPerSecond?: number;
  gpus?: Partial<GpuSnapshot>[];
  loaded?: { version: ModelVersion; gpu?: number }[];
}

function worker(options: WorkerOptions): WorkerState {
  const receivedAt = new Date(T0 - (options.ageMs ?? 0)).toISOString();
  return WorkerStateSchema.parse({
    heartbeat: {
      worker_id: options.id,
      url: `http://${options.id}.internal:8790`,
      sent_at: receivedAt,
      interval_ms: options.intervalMs ?? 5000,
      gpus: (options.gpus ?? [{}]).map((overrides, index) => gpu({ index, ...overrides })),
      loaded_models: (options.loaded ?? []).map(({ version, gpu: gpuIndex }) => ({
        name: version.name,
        version: version.version,
        sha256: version.artifact.sha256,
        memory_mb: version.memory_mb,
        gpu_index: gpuIndex ?? 0,
      })),
      queue_depth: options.queueDepth ?? 0,
      in_flight: options.inFlight ?? 0,
      tokens_per_second: options.tokensPerSecond ?? 0,
    },
    received_at: receivedAt,
  });
}

/** A causal LM version; code-only with no benchmark scores unless told otherwise. */
function lm(name: string, overrides: Partial<ModelVersion> = {}): ModelVersion {
  return modelVersion({
    name,
    kind: "causal-lm",
    tokenizer: { type: "byte-level", vocab_size: 258, bos_token_id: 256, eos_token_id: 257 },
    io: {
      inputs: [{ name: "input_ids", dtype: "int64", shape: ["batch", "sequence"] }],
      outputs: [{ name: "logits", dtype: "float32", shape: ["batch", "sequence", 258] }],
    },
    categories: ["code"],
    memory_mb: 2048,
    ...overrides,
  });
}

type RouteArgs = Partial<SelectRouteInput> & Pick<SelectRouteInput, "candidates" | "workers">;

function attempt(args: RouteArgs) {
  return selectRoute({ now: T0, config: CONFIG, flags: DEFAULT_SELECTION_FLAGS, ...args });
}

function route(args: RouteArgs): RouteDecision {
  const result = attempt(args);
  if (!result.ok) throw new Error(`expected a decision, got: ${result.error.message}`);
  return result.value;
}

function failure(args: RouteArgs): RouteSelectionError {
  const result = attempt(args);
  if (result.ok) throw new Error(`expected a failure, got ${result.value.reason}`);
  return result.error;
}

const workerIds = (decision: RouteDecision): string[] => [
  decision.worker.workerId,
  ...decision.fallbacks.map((option) => option.worker.workerId),
];

describe("task categories and confidence (configuration)", () => {
  it("has seed 002's code and math weights and sixteen benchmarks in all", () => {
    expect(DEFAULTS.categories.code?.benchmarks).toEqual({ HumanEval: 1.0, MBPP: 0.8 });
    expect(DEFAULTS.categories.math?.benchmarks).toEqual({ GSM8K: 1.2, MATH: 1.5 });
    const used = new Set(Object.values(DEFAULTS.categories).flatMap((category) => Object.keys(category.benchmarks)));
    expect(used.size).toBe(16);
    expect([...used].sort()).toEqual([...DEFAULT_BENCHMARKS].sort());
    expect(Object.keys(DEFAULTS.categories)).toEqual(
      expect.arrayContaining(["general", "code", "math", "reasoning", "knowledge", "multilingual", "long-context"]),
    );
  });

  it("has seed 002's multi-category confidence 0.95 / 0.9 / 0.7", () => {
    expect(DEFAULTS.confidence).toEqual({ single_category: 0.95, primary_category: 0.9, secondary_category: 0.7 });
  });

  it("takes partial overrides and keeps the other defaults", () => {
    const config = SelectionConfigSchema.parse({
      confidence: { secondary_category: 0.5 },
      scoring: { loaded_bonus: 0 },
    });
    expect(config.confidence).toEqual({ single_category: 0.95, primary_category: 0.9, secondary_category: 0.5 });
    expect(config.scoring.loaded_bonus).toBe(0);
    expect(config.scoring.model_weight).toBe(0.6);
    expect(config.categories.code?.benchmarks.HumanEval).toBe(1.0);
  });

  it.each([
    [{ categories: { code: { benchmarks: {} } } }, "categories.code.benchmarks"],
    [{ categories: { code: { benchmarks: { HumanEval: 0 } } } }, "categories.code.benchmarks.HumanEval"],
    [{ categories: { Code: { benchmarks: { HumanEval: 1 } } } }, "categories.Code"],
    [{ confidence: { primary_category: 1.5 } }, "confidence.primary_category"],
    [{ scoring: { temperature_c: { cool: 90, hot: 60 } } }, "scoring.temperature_c"],
  ])("rejects %j naming the field", (raw, field) => {
    const parsed = SelectionConfigSchema.safeParse(raw);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.path.join("."))).toContain(field);
  });

  it("scores the weighted mean of the benchmarks a version reports, on 0-1", () => {
    const code = prepareCategories(DEFAULTS.categories).get("code");
    expect(benchmarkScore({ HumanEval: 80, MBPP: 60 }, code, 0.5)).toBeCloseTo((0.8 * 1 + 0.6 * 0.8) / 1.8, 12);
    expect(benchmarkScore({ HumanEval: 80, GSM8K: 10 }, code, 0.5)).toBeCloseTo(0.8, 12);
    expect(benchmarkScore({ GSM8K: 90 }, code, 0.5)).toBe(0.5);
    expect(benchmarkScore({ HumanEval: 80 }, undefined, 0.3)).toBe(0.3);
  });

  it("gives 0.95 to a single-category version, 0.9 in its primary category, 0.7 in a secondary one", () => {
    const { confidence } = DEFAULTS;
    expect(multiCategoryConfidence(lm("a", { categories: ["code"] }), "code", confidence)).toBe(0.95);
    const both = lm("b", { categories: ["general", "code"] });
    expect(multiCategoryConfidence(both, "general", confidence)).toBe(0.9);
    expect(multiCategoryConfidence(both, "code", confidence)).toBe(0.7);
    const declared = lm("c", { categories: ["general", "code"], primary_category: "code" });
    expect(primaryCategoryOf(declared)).toBe("code");
    expect(multiCategoryConfidence(declared, "code", confidence)).toBe(0.9);
  });
});

describe("selection flags", () => {
  it("are all on by default", () => {
    expect(SelectionFlagsSchema.parse({})).toEqual({
      benchmark_scoring: true,
      multi_category: true,
      gpu_awareness: true,
    });
  });

  it("apply a patch and keep the flags it does not name", () => {
    const patch = SelectionFlagsPatchSchema.parse({ gpu_awareness: false });
    expect(applySelectionFlagsPatch(DEFAULT_SELECTION_FLAGS, patch)).toEqual({
      benchmark_scoring: true,
      multi_category: true,
      gpu_awareness: false,
    });
    expect(SelectionFlagsPatchSchema.safeParse({}).success).toBe(false);
    expect(SelectionFlagsSchema.safeParse({ gpu_awareness: "no" }).success).toBe(false);
  });
});

describe("selectRoute: model score", () => {
  const solo = lm("solo", { categories: ["code"], benchmark_scores: { HumanEval: 70 } });
  const generalist = lm("generalist", { categories: ["general", "code"], benchmark_scores: { HumanEval: 90 } });
  const coder = lm("coder", { categories: ["code", "general"], benchmark_scores: { HumanEval: 80, MBPP: 80 } });
  const workers = [worker({ id: "a" })];

  it("weighs benchmarks by confidence: a single-category 70 beats a secondary-category 90", () => {
    const decision = route({ candidates: [generalist, solo], category: "code", workers });
    expect(decision.version.name).toBe("solo");
    expect(decision.modelScore).toBeCloseTo(0.7 * 0.95, 12);
    expect(decision.confidence).toBe(0.95);
    expect(decision.primaryCategory).toBe(true);
    expect(decision.category).toBe("code");
  });

  it("prefers the primary-category 80 (0.72) over both", () => {
    const decision = route({ candidates: [generalist, solo, coder], category: "code", workers });
    expect(decision.version.name).toBe("coder");
    expect(decision.confidence).toBe(0.9);
  });

  it("reports secondary-category use", () => {
    const decision = route({ candidates: [generalist], category: "code", workers });
    expect(decision.confidence).toBe(0.7);
    expect(decision.primaryCategory).toBe(false);
    expect(decision.reason).toContain("secondary");
  });

  it("leaves out versions that do not list the category", () => {
    const mathOnly = lm("mathy", { categories: ["math"], benchmark_scores: { GSM8K: 99, MATH: 99 } });
    expect(route({ candidates: [mathOnly, solo], category: "code", workers }).version.name).toBe("solo");
    const error = failure({ candidates: [mathOnly], category: "code", workers });
    expect(error.reason).toBe("no_candidates");
    expect(error.status).toBe(404);
    expect(error.message).toContain("1 not in category code");
  });

  it("scores an explicit target (no category) without benchmarks or confidence", () => {
    const decision = route({ candidates: [generalist], workers });
    expect(decision.modelScore).toBe(1);
    expect(decision.confidence).toBeUndefined();
    expect(decision.category).toBeUndefined();
  });

  it("gives a category without configuration the neutral unscored score", () => {
    const tagged = lm("tagged", { categories: ["poetry"], benchmark_scores: { HumanEval: 99 } });
    const decision = route({ candidates: [tagged], category: "poetry", workers });
    expect(decision.modelScore).toBeCloseTo(0.5 * 0.95, 12);
  });
});

describe("selectRoute: flags off", () => {
  const workers = [worker({ id: "a" })];
  const oldProduction = lm("p-old", {
    stage: "Production",
    updated_at: "2025-01-01T00:00:00.000Z",
    benchmark_scores: { HumanEval: 10 },
  });
  const newProduction = lm("p-new", {
    stage: "Production",
    updated_at: "2025-01-02T00:00:00.000Z",
    benchmark_scores: { HumanEval: 20 },
  });
  const stagingStar = lm("staging-star", { stage: "Staging", benchmark_scores: { HumanEval: 99 } });

  it("benchmark_scoring off: the most recently promoted Production version instead of the best benchmark", () => {
    const candidates = [oldProduction, stagingStar, newProduction];
    expect(route({ candidates, category: "code", workers }).version.name).toBe("staging-star");
    const flags = { ...DEFAULT_SELECTION_FLAGS, benchmark_scoring: false };
    const decision = route({ candidates, category: "code", workers, flags });
    expect(decision.version.name).toBe("p-new");
    expect(decision.modelScore).toBeCloseTo(STAGE_PREFERENCE.Production * 0.95, 12);
    expect(decision.reason).toContain("stage Production");
    expect(decision.reason).toContain("off: benchmark_scoring");
  });

  it("benchmark_scoring off: a primary-category Production version beats a secondary-category one", () => {
    const secondary = lm("second", {
      stage: "Production",
      categories: ["general", "code"],
      updated_at: "2025-02-01T00:00:00.000Z",
    });
    const primary = lm("first", { stage: "Production", categories: ["code", "general"] });
    const flags = { ...DEFAULT_SELECTION_FLAGS, benchmark_scoring: false };
    expect(route({ candidates: [secondary, primary], category: "code", workers, flags }).version.name).toBe("first");
  });

  it("multi_category off: only primary-category versions, without confidence", () => {
    const secondaryStar = lm("secondary-star", {
      categories: ["general", "code"],
      benchmark_scores: { HumanEval: 99 },
    });
    const primaryPlain = lm("primary-plain", { categories: ["code"], benchmark_scores: { HumanEval: 60 } });
    const candidates = [secondaryStar, primaryPlain];
    expect(route({ candidates, category: "code", workers }).version.name).toBe("secondary-star");
    const flags = { ...DEFAULT_SELECTION_FLAGS, multi_category: false };
    const decision = route({ candidates, category: "code", workers, flags });
    expect(decision.version.name).toBe("primary-plain");
    expect(decision.confidence).toBeUndefined();
    expect(decision.modelScore).toBeCloseTo(0.6, 12);
    const error = failure({ candidates: [secondaryStar], category: "code", workers, flags });
    expect(error.reason).toBe("no_candidates");
    expect(error.message).toContain("multi_category is off");
    expect(error.exclusions.versions.notPrimaryCategory).toBe(1);
  });

  it("gpu_awareness off: shortest queue among live workers, no memory, temperature or utilization read", () => {
    const version = lm("big", { memory_mb: 4000 });
    const crowded = worker({ id: "a-hot", queueDepth: 0, gpus: [{ memory_free_mb: 3000, temperature_c: 89 }] });
    const calm = worker({ id: "b-cool", queueDepth: 1 });
    expect(route({ candidates: [version], workers: [crowded, calm] }).worker.workerId).toBe("b-cool");
    const flags = { ...DEFAULT_SELECTION_FLAGS, gpu_awareness: false };
    const decision = route({ candidates: [version], workers: [crowded, calm], flags });
    expect(workerIds(decision)).toEqual(["a-hot", "b-cool"]);
    expect(decision.reason).toContain("off: gpu_awareness");
    expect(decision.reason).not.toContain("MB free");
  });

  it("gpu_awareness off: an aging worker is not penalised, a stale one is still excluded", () => {
    const aging = worker({ id: "a-aging", ageMs: 14_000 });
    const fresh = worker({ id: "b-fresh" });
    const stale = worker({ id: "0-stale", ageMs: 15_001 });
    const workers3 = [stale, aging, fresh];
    const version = lm("m");
    expect(route({ candidates: [version], workers: workers3 }).worker.workerId).toBe("b-fresh");
    const flags = { ...DEFAULT_SELECTION_FLAGS, gpu_awareness: false };
    expect(workerIds(route({ candidates: [version], workers: workers3, flags }))).toEqual(["a-aging", "b-fresh"]);
  });

  it("every combination of flags decides without throwing and names the flags that are off", () => {
    const candidates = [
      oldProduction,
      stagingStar,
      lm("multi", { categories: ["general", "code"], benchmark_scores: { MBPP: 70 } }),
    ];
    const fleet = [
      worker({ id: "a", queueDepth: 2, loaded: [{ version: stagingStar }] }),
      worker({ id: "b", ageMs: 9000, gpus: [{ memory_free_mb: null, temperature_c: null }, {}] }),
      worker({ id: "c", ageMs: 60_000 }),
    ];
    for (const flags of ALL_FLAG_SETS) {
      const result = attempt({ candidates, category: "code", workers: fleet, flags });
      expect(result.ok).toBe(true);
      if (!result.ok) continue;
      for (const name of Object.keys(flags) as (keyof SelectionFlags)[]) {
        expect(result.value.reason.includes(name)).toBe(!flags[name]);
      }
      expect(workerIds(result.value).sort()).toEqual(["a", "b"]);
    }
  });
});

describe("selectRoute: constraints", () => {
  const workers = [worker({ id: "a" })];

  it("max_gpu_memory_mb leaves out larger versions, and says so when none is left", () => {
    const big = lm("big", { memory_mb: 30_000, benchmark_scores: { HumanEval: 90 } });
    const small = lm("small", { memory_mb: 6000, benchmark_scores: { HumanEval: 60 } });
    expect(route({ candidates: [big, small], category: "code", workers }).version.name).toBe("big");
    const limited = { max_gpu_memory_mb: 16_384 };
    expect(route({ candidates: [big, small], category: "code", workers, constraints: limited }).version.name).toBe(
      "small",
    );
    const error = failure({
      candidates: [big, small],
      category: "code",
      workers,
      constraints: { max_gpu_memory_mb: 1000 },
    });
    expect(error.reason).toBe("no_version_fits");
    expect(error.code).toBe("bad_request");
    expect(error.exclusions.versions.overMemoryLimit).toBe(2);
    expect(error.message).toContain("2 need more than max_gpu_memory_mb 1000");
  });

  it("requires.halt_head keeps only versions with a halt_logits output", () => {
    const plain = lm("plain", { benchmark_scores: { HumanEval: 90 } });
    const halting = lm("halting", {
      benchmark_scores: { HumanEval: 50 },
      io: {
        inputs: [{ name: "input_ids", dtype: "int64", shape: ["batch", "sequence"] }],
        outputs: [
          { name: "logits", dtype: "float32", shape: ["batch", "sequence", 258] },
          { name: "halt_logits", dtype: "float32", shape: ["batch", 2] },
        ],
      },
    });
    expect(hasHaltHead(halting)).toBe(true);
    expect(hasHaltHead(plain)).toBe(false);
    const constraints = { requires: { halt_head: true } };
    expect(route({ candidates: [plain, halting], category: "code", workers, constraints }).version.name).toBe(
      "halting",
    );
    const error = failure({ candidates: [plain], workers, constraints });
    expect(error.reason).toBe("no_version_fits");
    expect(error.message).toContain("plain@1");
    expect(error.message).toContain("1 without a halt head");
  });

  it("latent mode: byte-level vocabulary with room for <bot>/<eot>, or declared in runtime_config", () => {
    const roomy = lm("roomy", {
      tokenizer: { type: "byte-level", vocab_size: 260, bos_token_id: 256, eos_token_id: 257 },
    });
    const tight = lm("tight");
    const hf = lm("hf", {
      tokenizer: {
        type: "hf-tokenizer",
        tokenizer_json: { uri: "s3://models/hf/tokenizer.json", sha256: SHA_B, bytes: 10 },
        eos_token_ids: [2],
      },
    });
    const hfDeclared = lm("hf-latent", { ...hf, name: "hf-latent", runtime_config: { latent_mode_enabled: true } });
    const roomyOff = lm("roomy-off", { ...roomy, name: "roomy-off", runtime_config: { latent_mode_enabled: false } });
    const tensor = modelVersion({ runtime_config: { latent_mode_enabled: true } });
    expect([roomy, tight, hf, hfDeclared, roomyOff, tensor].map(supportsLatentMode)).toEqual([
      true,
      false,
      false,
      true,
      false,
      false,
    ]);
    const constraints = { requires: { latent_mode: true } };
    expect(route({ candidates: [tight, roomy], category: "code", workers, constraints }).version.name).toBe("roomy");
    expect(
      failure({ candidates: [tight, hf], category: "code", workers, constraints }).exclusions.versions.noLatentMode,
    ).toBe(2);
  });

  it("requires.min_context_tokens leaves out shorter and unknown context lengths", () => {
    const short = lm("short", { max_context_tokens: 4096, benchmark_scores: { HumanEval: 90 } });
    const unknown = lm("unknown", { benchmark_scores: { HumanEval: 90 } });
    const long = lm("long", { max_context_tokens: 32_768, benchmark_scores: { HumanEval: 40 } });
    const constraints = { requires: { min_context_tokens: 8192 } };
    expect(route({ candidates: [short, unknown, long], category: "code", workers, constraints }).version.name).toBe(
      "long",
    );
    expect(
      route({
        candidates: [short, long],
        category: "code",
        workers,
        constraints: { requires: { min_context_tokens: 4096 } },
      }).version.name,
    ).toBe("short");
    const error = failure({ candidates: [short, unknown], category: "code", workers, constraints });
    expect(error.exclusions.versions.shortContext).toBe(2);
    expect(error.message).toContain("fewer than 8192 context tokens");
  });

  it("estimates latency as T x (queue + in-flight + 1) / tokens/s plus a cold load", () => {
    const latency = DEFAULTS.scoring.latency;
    expect(expectedServiceMs({ queue_depth: 1, in_flight: 1, tokens_per_second: 100 }, latency)).toBe(7680);
    // 0 tokens/s (idle) falls back to the assumed 100 tokens/s.
    expect(expectedServiceMs({ queue_depth: 0, in_flight: 0, tokens_per_second: 0 }, latency)).toBe(2560);
    // A worker that served nothing lately is credited with the fleet's best recent rate.
    expect(expectedServiceMs({ queue_depth: 0, in_flight: 0, tokens_per_second: 0 }, latency, 1000)).toBe(256);
    expect(coldLoadMs(2048, latency)).toBe(2048);
    const decision = route({ candidates: [lm("m")], workers: [worker({ id: "a", tokensPerSecond: 1000 })] });
    expect(decision.worker.expectedLatencyMs).toBe(256 + 2048);
  });

  it("max_expected_latency_ms leaves out slow workers and cold loads that take too long", () => {
    const version = lm("m", { memory_mb: 8000 });
    const slow = worker({ id: "a-slow", queueDepth: 10, tokensPerSecond: 100 }); // 28160 ms
    const fastCold = worker({ id: "b-fast-cold", tokensPerSecond: 1000 }); // 256 ms + 8000 ms load
    const fastWarm = worker({ id: "c-fast-warm", tokensPerSecond: 1000, loaded: [{ version }] }); // 256 ms
    const workers3 = [slow, fastCold, fastWarm];
    expect(workerIds(route({ candidates: [version], workers: workers3 })).sort()).toEqual([
      "a-slow",
      "b-fast-cold",
      "c-fast-warm",
    ]);
    const decision = route({
      candidates: [version],
      workers: workers3,
      constraints: { max_expected_latency_ms: 5000 },
    });
    expect(workerIds(decision)).toEqual(["c-fast-warm"]);
    expect(decision.worker.expectedLatencyMs).toBe(256);
    const error = failure({
      candidates: [version],
      workers: [slow, fastCold],
      constraints: { max_expected_latency_ms: 5000 },
    });
    expect(error.reason).toBe("no_worker_available");
    expect(error.exclusions.workers).toEqual({ total: 2, stale: 0, tooSmall: 0, tooSlow: 2 });
    expect(error.message).toContain("2 over the 5000 ms expected-latency limit");
  });

  it("validates constraints at the boundary", () => {
    expect(RouteConstraintsSchema.safeParse({ max_gpu_memory_mb: -1 }).success).toBe(false);
    expect(RouteConstraintsSchema.safeParse({ requires: { min_context_tokens: 1.5 } }).success).toBe(false);
    expect(
      RouteConstraintsSchema.safeParse({ requires: { halt_head: true }, max_expected_latency_ms: 500 }).success,
    ).toBe(true);
  });
});

describe("selectRoute: GPU memory and loaded models", () => {
  const version = lm("m", { memory_mb: 4000 });

  it("skips GPUs without the model's memory free, unless the model is loaded there", () => {
    const small = worker({ id: "a-small", gpus: [{ memory_free_mb: 1000 }] });
    const big = worker({ id: "b-big" });
    expect(workerIds(route({ candidates: [version], workers: [small, big] }))).toEqual(["b-big"]);
    const holding = worker({ id: "a-small", gpus: [{ memory_free_mb: 1000 }], loaded: [{ version }] });
    const decision = route({ candidates: [version], workers: [holding, big] });
    expect(workerIds(decision).sort()).toEqual(["a-small", "b-big"]);
    const held = [decision, ...decision.fallbacks].find((option) => option.worker.workerId === "a-small");
    expect(held?.worker.modelLoaded).toBe(true);
  });

  it("treats unknown free memory as fitting", () => {
    const unknown = worker({ id: "a", gpus: [{ memory_free_mb: null }] });
    expect(route({ candidates: [version], workers: [unknown] }).worker.freeMemoryMb).toBeNull();
  });

  it("picks the GPU with room on a multi-GPU worker", () => {
    const host = worker({ id: "a", gpus: [{ memory_free_mb: 1000 }, { memory_free_mb: 50_000 }] });
    expect(route({ candidates: [version], workers: [host] }).worker.gpuIndex).toBe(1);
  });

  it("gives a worker that holds the version the loaded bonus", () => {
    const cold = worker({ id: "a-cold" });
    const warm = worker({ id: "b-warm", loaded: [{ version }] });
    const decision = route({ candidates: [version], workers: [cold, warm] });
    expect(decision.worker.workerId).toBe("b-warm");
    expect(decision.worker.modelLoaded).toBe(true);
    expect(decision.reason).toContain("loaded");
    expect(decision.score - (decision.fallbacks[0]?.score ?? 0)).toBeCloseTo(DEFAULTS.scoring.loaded_bonus, 12);
    const noBonus = prepareSelection(SelectionConfigSchema.parse({ scoring: { loaded_bonus: 0 } }));
    expect(route({ candidates: [version], workers: [cold, warm], config: noBonus }).worker.workerId).toBe("a-cold");
  });

  it("does not let the bonus outweigh a much busier worker", () => {
    const idle = worker({ id: "a-idle" });
    const busyWarm = worker({ id: "b-busy", queueDepth: 6, loaded: [{ version }] });
    expect(route({ candidates: [version], workers: [idle, busyWarm] }).worker.workerId).toBe("a-idle");
  });

  it("matches a loaded model by name, version, sha256 and GPU", () => {
    const other = lm("m", { version: 2, memory_mb: 4000 });
    const wrongSha = lm("m", { memory_mb: 4000, artifact: { ...version.artifact, sha256: SHA_B } });
    for (const loaded of [{ version: other }, { version: wrongSha }, { version, gpu: 1 }]) {
      const host = worker({ id: "a", gpus: [{}, { memory_free_mb: 100 }], loaded: [loaded] });
      const decision = route({ candidates: [version], workers: [host] });
      expect(decision.worker.modelLoaded).toBe(loaded.gpu === 1 ? decision.worker.gpuIndex === 1 : false);
    }
  });

  it("prefers a GPU that holds the version over an emptier one on the same worker", () => {
    const host = worker({ id: "a", gpus: [{}, { memory_free_mb: 60_000 }], loaded: [{ version, gpu: 1 }] });
    const decision = route({ candidates: [version], workers: [host] });
    expect(decision.worker.gpuIndex).toBe(1);
    expect(decision.worker.modelLoaded).toBe(true);
  });
});

describe("selectRoute: staleness", () => {
  it("classifies heartbeat ages at the boundaries (interval 5000 ms)", () => {
    expect([-1000, 0, 5000, 5001, 10_000, 15_000, 15_001].map((age) => heartbeatFreshness(age, 5000))).toEqual([
      "fresh",
      "fresh",
      "fresh",
      "aging",
      "aging",
      "aging",
      "stale",
    ]);
    expect([0, 5000, 10_000, 15_000, 15_001].map((age) => stalenessFactor(age, 5000, 0.5))).toEqual([
      1, 1, 0.75, 0.5, 0,
    ]);
    expect(stalenessFactor(Number.NaN, 5000, 0.5)).toBe(0);
  });

  it("uses a fresh worker as is, penalises an aging one proportionally, excludes a stale one", () => {
    const version = lm("m");
    const scoreAt = (ageMs: number) => route({ candidates: [version], workers: [worker({ id: "a", ageMs })] });
    const fresh = scoreAt(0);
    expect(scoreAt(5000).workerScore).toBe(fresh.workerScore);
    expect(scoreAt(5000).worker.freshness).toBe("fresh");
    expect(scoreAt(5001).workerScore).toBeLessThan(fresh.workerScore);
    expect(scoreAt(10_000).workerScore).toBeCloseTo(0.75 * fresh.workerScore, 12);
    expect(scoreAt(15_000).workerScore).toBeCloseTo(0.5 * fresh.workerScore, 12);
    expect(scoreAt(15_000).worker.freshness).toBe("aging");
    expect(scoreAt(15_000).reason).toContain("aging 15000 ms");
    const error = failure({ candidates: [version], workers: [worker({ id: "a", ageMs: 15_001 })] });
    expect(error.reason).toBe("no_worker_available");
    expect(error.exclusions.workers.stale).toBe(1);
  });

  it("uses each worker's own interval", () => {
    const version = lm("m");
    const fastInterval = worker({ id: "a", intervalMs: 1000, ageMs: 4000 });
    const slowInterval = worker({ id: "b", intervalMs: 2000, ageMs: 4000 });
    expect(workerIds(route({ candidates: [version], workers: [fastInterval, slowInterval] }))).toEqual(["b"]);
  });

  it("routes to an otherwise equal fresh worker before an aging one", () => {
    const version = lm("m");
    const aging = worker({ id: "a", ageMs: 8000 });
    const fresh = worker({ id: "b" });
    expect(workerIds(route({ candidates: [version], workers: [aging, fresh] }))).toEqual(["b", "a"]);
  });
});

describe("selectRoute: load figures move the choice", () => {
  const version = lm("m");
  // In every case "a" would win the tie on its id: only the figure can explain "b".
  it.each<[string, WorkerOptions, WorkerOptions]>([
    ["queue depth", { id: "a", queueDepth: 3 }, { id: "b", queueDepth: 0 }],
    ["in-flight requests", { id: "a", inFlight: 4 }, { id: "b", inFlight: 0 }],
    [
      "recent tokens/s",
      { id: "a", queueDepth: 2, tokensPerSecond: 50 },
      { id: "b", queueDepth: 2, tokensPerSecond: 500 },
    ],
    ["temperature", { id: "a", gpus: [{ temperature_c: 85 }] }, { id: "b", gpus: [{ temperature_c: 50 }] }],
    ["utilization", { id: "a", gpus: [{ utilization_gpu_pct: 95 }] }, { id: "b", gpus: [{ utilization_gpu_pct: 5 }] }],
    ["free memory", { id: "a", gpus: [{ memory_free_mb: 8000 }] }, { id: "b", gpus: [{ memory_free_mb: 80_000 }] }],
  ])("%s", (_figure, worse, better) => {
    const decision = route({ candidates: [version], workers: [worker(worse), worker(better)] });
    expect(workerIds(decision)).toEqual(["b", "a"]);
    expect(decision.workerScore).toBeGreaterThan(decision.fallbacks[0]?.workerScore ?? 1);
  });

  it("computes the GPU part from the documented parts", () => {
    const weights = normaliseGpuWeights(DEFAULTS.scoring.gpu_weights);
    const snapshot = gpu({
      memory_free_mb: 40_960,
      memory_total_mb: 81_920,
      utilization_gpu_pct: 50,
      temperature_c: 75,
    });
    // latency 1/(1 + 5000/5000) = 0.5, memory 0.5, utilization 0.5, temperature (90-75)/30 = 0.5.
    expect(gpuLoadScore(snapshot, 5000, weights, DEFAULTS.scoring)).toBeCloseTo(0.5, 12);
    const unknown = gpu({ memory_free_mb: null, utilization_gpu_pct: null, temperature_c: null });
    expect(gpuLoadScore(unknown, 0, weights, DEFAULTS.scoring)).toBeCloseTo(0.4 + 0.6 * 0.5, 12);
  });
});

describe("selectRoute: fallbacks and ties", () => {
  it("orders one fallback per worker, best first", () => {
    const version = lm("m");
    const fleet = [
      worker({ id: "a", queueDepth: 2, gpus: [{}, { temperature_c: 80 }] }),
      worker({ id: "b", gpus: [{ utilization_gpu_pct: 90 }, {}] }),
      worker({ id: "c", queueDepth: 1, gpus: [{}, {}] }),
    ];
    const decision = route({ candidates: [version], workers: fleet });
    expect(workerIds(decision)).toEqual(["b", "c", "a"]);
    expect(decision.worker.gpuIndex).toBe(1);
    const scores = [decision.score, ...decision.fallbacks.map((option) => option.score)];
    expect(scores).toEqual([...scores].sort((x, y) => y - x));
    expect(decision.fallbacks[1]?.worker.gpuIndex).toBe(0);
  });

  it("lets a fallback carry another version for an auto target", () => {
    const big = lm("big", { memory_mb: 30_000, benchmark_scores: { HumanEval: 90 } });
    const small = lm("small", { memory_mb: 4000, benchmark_scores: { HumanEval: 50 } });
    const roomy = worker({ id: "b-roomy" });
    const tight = worker({ id: "a-tight", gpus: [{ memory_free_mb: 5000 }] });
    const decision = route({ candidates: [small, big], category: "code", workers: [tight, roomy] });
    expect(`${decision.worker.workerId} ${decision.version.name}`).toBe("b-roomy big");
    expect(decision.fallbacks.map((option) => `${option.worker.workerId} ${option.version.name}`)).toEqual([
      "a-tight small",
    ]);
  });

  it("breaks full ties by worker id, then GPU index, whatever the input order", () => {
    const version = lm("m");
    const fleet = ["c", "a", "b"].map((id) => worker({ id, gpus: [{ index: 1 }, { index: 0 }] }));
    for (const order of [fleet, [...fleet].reverse()]) {
      const decision = route({ candidates: [version], workers: order });
      expect(workerIds(decision)).toEqual(["a", "b", "c"]);
      expect(decision.worker.gpuIndex).toBe(0);
    }
  });

  it("breaks version ties by the most recent update, then name, then the highest version number", () => {
    const workers = [worker({ id: "a" })];
    const base = { benchmark_scores: { HumanEval: 80 }, updated_at: "2025-01-01T00:00:00.000Z" };
    const older = lm("zeta", base);
    const newer = lm("zeta-new", { ...base, updated_at: "2025-03-01T00:00:00.000Z" });
    const alpha = lm("alpha", base);
    const beta = lm("beta", base);
    const beta2 = lm("beta", { ...base, version: 2 });
    const pick = (candidates: ModelVersion[]) => {
      const { version } = route({ candidates, category: "code", workers });
      return `${version.name}@${version.version}`;
    };
    expect(pick([older, newer])).toBe("zeta-new@1");
    expect(pick([newer, older])).toBe("zeta-new@1");
    expect(pick([beta, alpha])).toBe("alpha@1");
    expect(pick([beta, beta2])).toBe("beta@2");
    expect(pick([beta2, beta])).toBe("beta@2");
  });
});

describe("selectRoute: failures and the reason line", () => {
  it("fails with no candidates", () => {
    const error = failure({ candidates: [], category: "code", workers: [worker({ id: "a" })] });
    expect(error).toBeInstanceOf(ModelgateError);
    expect(error.reason).toBe("no_candidates");
    expect(error.message).toBe("No servable version for auto:code.");
  });

  it("fails with no workers", () => {
    const error = failure({ candidates: [lm("m")], workers: [] });
    expect(error.reason).toBe("no_worker_available");
    expect(error.status).toBe(503);
    expect(error.message).toBe("No worker can serve m@1: none is registered.");
  });

  it("says how many workers were stale and how many too small", () => {
    const version = lm("m", { memory_mb: 4000 });
    const error = failure({
      candidates: [version],
      workers: [
        worker({ id: "a", ageMs: 60_000 }),
        worker({ id: "b", ageMs: 16_000 }),
        worker({ id: "c", gpus: [{ memory_free_mb: 3000 }, { memory_free_mb: 2000 }] }),
      ],
    });
    expect(error.reason).toBe("no_worker_available");
    expect(error.code).toBe("no_worker_available");
    expect(error.exclusions.workers).toEqual({ total: 3, stale: 2, tooSmall: 1, tooSlow: 0 });
    expect(error.message).toBe(
      "No worker can serve m@1: of 3 worker(s), 2 stale (no heartbeat for over 3 intervals), 1 without 4000 MB free on any GPU.",
    );
  });

  it("explains a decision in one printable-ASCII line under 300 characters", () => {
    const version = lm("coder", { benchmark_scores: { HumanEval: 80 } });
    const decision = route({
      candidates: [version],
      category: "code",
      workers: [worker({ id: "a", queueDepth: 1, loaded: [{ version }] })],
    });
    expect(decision.reason).toMatch(
      /^auto:code -> coder@1 \(bench x conf 0\.95 primary = 0\.76\) on a gpu 0: loaded, queue 1/,
    );
    expect(decision.reason).toContain("80920 MB free, util 10%, 40C, fresh");
    const long = lm("x".repeat(64), { categories: ["long-context"] });
    const fleet = ["w".repeat(64), "v".repeat(64)].map((id) => worker({ id, ageMs: 12_345 }));
    for (const flags of ALL_FLAG_SETS) {
      const result = attempt({ candidates: [long], category: "long-context", workers: fleet, flags });
      expect(result.ok && result.value.reason).toMatch(/^[\x20-\x7e]{1,299}$/);
    }
  });

  it("makes any text header-safe", () => {
    expect(headerSafe("naïve → ok")).toBe("na?ve ? ok");
    const cut = headerSafe("y".repeat(400));
    expect(cut).toHaveLength(299);
    expect(cut.endsWith("...")).toBe(true);
  });

  it("does not mutate its input and notices a candidate array changed in place", () => {
    const first = lm("first", { benchmark_scores: { HumanEval: 50 } });
    const candidates = [first];
    const workers = [worker({ id: "a" })];
    const before = JSON.stringify({ candidates, workers });
    expect(route({ candidates, category: "code", workers }).version.name).toBe("first");
    expect(JSON.stringify({ candidates, workers })).toBe(before);
    candidates.push(lm("second", { benchmark_scores: { HumanEval: 90 } }));
    expect(route({ candidates, category: "code", workers }).version.name).toBe("second");
  });
});

describe("selectRoute agrees with scoring every (version, GPU) pair", () => {
  function seeded(seed: number): () => number {
    let state = seed;
    return () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state / 2 ** 32;
    };
  }

  /** The documented rule, pair by pair: O(V × G), no buckets. */
  function bestScorePerWorker(
    input: Pick<SelectRouteInput, "candidates" | "category" | "workers" | "flags" | "constraints">,
    config: SelectionConfig,
  ): Map<string, number> {
    const { scoring } = config;
    const weights = normaliseGpuWeights(scoring.gpu_weights);
    const code = prepareCategories(config.categories).get(input.category ?? "");
    const best = new Map<string, number>();
    const maxLatency = input.constraints?.max_expected_latency_ms ?? Number.POSITIVE_INFINITY;
    const fleetRate = Math.max(0, ...input.workers.map((w) => w.heartbeat.tokens_per_second));
    for (const state of input.workers) {
      const { heartbeat } = state;
      const age = T0 - Date.parse(state.received_at);
      const factor = input.flags.gpu_awareness
        ? stalenessFactor(age, heartbeat.interval_ms, scoring.aging_floor)
        : age <= 3 * heartbeat.interval_ms
          ? 1
          : 0;
      if (factor === 0) continue;
      const service = expectedServiceMs(heartbeat, scoring.latency, fleetRate);
      for (const snapshot of heartbeat.gpus) {
        const workerScore = input.flags.gpu_awareness
          ? factor * gpuLoadScore(snapshot, service, weights, scoring, latencyScaleFor(fleetRate, scoring.latency))
          : 1 / (1 + heartbeat.queue_depth);
        for (const version of input.candidates) {
          if (input.category !== undefined) {
            const listed = version.categories.includes(input.category);
            if (input.flags.multi_category ? !listed : primaryCategoryOf(version) !== input.category) continue;
          }
          if (version.memory_mb > (input.constraints?.max_gpu_memory_mb ?? Number.POSITIVE_INFINITY)) continue;
          const loaded = heartbeat.loaded_models.some(
            (m) =>
              m.name === version.name &&
              m.version === version.version &&
              m.sha256 === version.artifact.sha256 &&
              m.gpu_index === snapshot.index,
          );
          const free = input.flags.gpu_awareness
            ? (snapshot.memory_free_mb ?? Number.POSITIVE_INFINITY)
            : Number.POSITIVE_INFINITY;
          if (!loaded && version.memory_mb > free) continue;
          const latency = service + (loaded ? 0 : coldLoadMs(version.memory_mb, scoring.latency));
          if (latency > maxLatency) continue;
          let modelScore = 1;
          if (input.category !== undefined) {
            modelScore = input.flags.benchmark_scoring
              ? benchmarkScore(version.benchmark_scores, code, config.unscored_benchmark_score)
              : STAGE_PREFERENCE[version.stage];
            if (input.flags.multi_category) {
              modelScore *= multiCategoryConfidence(version, input.category, config.confidence);
            }
          }
          const score =
            scoring.model_weight * modelScore +
            scoring.worker_weight * workerScore +
            (loaded ? scoring.loaded_bonus : 0);
          if (score > (best.get(heartbeat.worker_id) ?? Number.NEGATIVE_INFINITY)) best.set(heartbeat.worker_id, score);
        }
      }
    }
    return best;
  }

  it.each(Array.from({ length: 40 }, (_, seed) => seed))("on random fleet %i", (seed) => {
    const random = seeded(seed + 1);
    const stages = ["Production", "Staging", "None"] as const;
    const categorySets = [["code"], ["code", "math"], ["math", "code"], ["math"]];
    const candidates = Array.from({ length: 30 }, (_, i) =>
      lm(`v${i % 12}`, {
        version: 1 + Math.floor(i / 12),
        memory_mb: 500 + Math.floor(random() * 30_000),
        stage: stages[i % 3],
        categories: categorySets[i % 4],
        benchmark_scores: random() < 0.8 ? { HumanEval: Math.round(random() * 100), MBPP: 50 } : {},
        updated_at: new Date(T0 - Math.floor(random() * 1e9)).toISOString(),
      }),
    );
    const workers = Array.from({ length: 6 }, (_, w) =>
      worker({
        id: `w${w}`,
        ageMs: Math.floor(random() * 20_000),
        queueDepth: Math.floor(random() * 5),
        inFlight: Math.floor(random() * 3),
        tokensPerSecond: Math.floor(random() * 300),
        gpus: Array.from({ length: 1 + Math.floor(random() * 3) }, () => ({
          memory_free_mb: random() < 0.1 ? null : Math.floor(random() * 40_000),
          utilization_gpu_pct: Math.floor(random() * 100),
          temperature_c: 30 + Math.floor(random() * 60),
        })),
        loaded: Array.from({ length: Math.floor(random() * 3) }, () => ({
          version: candidates[Math.floor(random() * candidates.length)] ?? lm("none"),
          gpu: 0,
        })),
      }),
    );
    const constraints = seed % 3 === 0 ? { max_expected_latency_ms: 20_000, max_gpu_memory_mb: 25_000 } : undefined;
    for (const flags of ALL_FLAG_SETS) {
      const input = { candidates, category: "code", workers, flags, constraints };
      const expected = bestScorePerWorker(input, DEFAULTS);
      const result = attempt(input);
      if (expected.size === 0) {
        expect(result.ok).toBe(false);
        continue;
      }
      expect(result.ok).toBe(true);
      if (!result.ok) continue;
      const options = [result.value, ...result.value.fallbacks];
      expect(options.map((option) => option.worker.workerId).sort()).toEqual([...expected.keys()].sort());
      for (const option of options) expect(option.score).toBeCloseTo(expected.get(option.worker.workerId) ?? 0, 12);
      expect(result.value.score).toBeCloseTo(Math.max(...expected.values()), 12);
    }
  });
});

describe("parseTimestampMs", () => {
  it.each([
    "2025-01-01T00:00:00.000Z",
    "2024-02-29T23:59:59.999Z",
    "2024-03-01T00:00:00.001Z",
    "1999-12-31T12:34:56.789Z",
    "2100-02-28T08:00:00.500Z",
    "2025-01-31T10:00:00.000Z",
    "2025-01-01T00:00:00Z",
    "2025-01-01T02:00:00.000+02:00",
    "not a date",
    "2025-13-01T00:00:00.000Z",
  ])("reads %s as Date.parse does", (text) => {
    expect(parseTimestampMs(text)).toBe(Date.parse(text));
  });
});
