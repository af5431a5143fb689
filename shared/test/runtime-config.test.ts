import { describe, expect, it } from "vitest";
import { ModelgateError } from "../src/errors.js";
import {
  DEFAULT_RUNTIME_CONFIG,
  layerRuntimeConfig,
  RUNTIME_CONFIG_ENV_VARS,
  RuntimeConfigOverridesSchema,
  RuntimeConfigSchema,
  runtimeConfigOverridesFromEnv,
} from "../src/runtime-config.js";

const SEED_FIELDS = [
  "caws_tier",
  "curriculum_probability",
  "curriculum_slots",
  "enable_efficiency_tracking",
  "halt_head_enabled",
  "halt_probability_threshold",
  "judge_score_threshold",
  "latent_mode_enabled",
  "max_latent_length",
  "max_latent_spans",
  "max_new_tokens",
  "max_refinement_loops",
  "temperature",
];

/** Runs `fn`, expecting it to throw a ModelgateError, and returns that error. */
function catchModelgateError(fn: () => unknown): ModelgateError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ModelgateError) return error;
    throw new Error(`expected a ModelgateError, got ${String(error)}`);
  }
  throw new Error("expected a ModelgateError, nothing was thrown");
}

describe("RuntimeConfigSchema", () => {
  it("parse({}) is a complete configuration with all 13 seed fields", () => {
    const config = RuntimeConfigSchema.parse({});
    expect(Object.keys(config).sort()).toEqual(SEED_FIELDS);
    for (const value of Object.values(config)) expect(value).not.toBeUndefined();
  });

  it("has the seed's default values", () => {
    expect(RuntimeConfigSchema.parse({})).toEqual({
      latent_mode_enabled: false,
      halt_head_enabled: true,
      caws_tier: "tier_2",
      max_refinement_loops: 5,
      judge_score_threshold: 0.8,
      halt_probability_threshold: 0.7,
      curriculum_probability: 1.0,
      curriculum_slots: 1,
      max_latent_spans: 10,
      max_latent_length: 100,
      temperature: 1.0,
      max_new_tokens: 256,
      enable_efficiency_tracking: true,
    });
    expect(DEFAULT_RUNTIME_CONFIG).toEqual(RuntimeConfigSchema.parse({}));
  });

  it("rejects unknown fields", () => {
    expect(RuntimeConfigSchema.safeParse({ latent_mode: true }).success).toBe(false);
    expect(RuntimeConfigOverridesSchema.safeParse({ halt_threshold: 0.5 }).success).toBe(false);
  });

  it("rejects out-of-range values", () => {
    expect(RuntimeConfigSchema.safeParse({ halt_probability_threshold: 1.5 }).success).toBe(false);
    expect(RuntimeConfigSchema.safeParse({ max_refinement_loops: 0 }).success).toBe(false);
    expect(RuntimeConfigSchema.safeParse({ max_refinement_loops: 2.5 }).success).toBe(false);
    expect(RuntimeConfigSchema.safeParse({ caws_tier: "tier_9" }).success).toBe(false);
  });

  it("overrides schema covers exactly the same fields and has no defaults", () => {
    expect(Object.keys(RuntimeConfigOverridesSchema.shape).sort()).toEqual(SEED_FIELDS);
    expect(RuntimeConfigOverridesSchema.parse({})).toEqual({});
  });
});

describe("layerRuntimeConfig", () => {
  it("returns the base when there are no layers", () => {
    expect(layerRuntimeConfig(DEFAULT_RUNTIME_CONFIG)).toEqual(DEFAULT_RUNTIME_CONFIG);
    expect(layerRuntimeConfig(DEFAULT_RUNTIME_CONFIG, undefined, {})).toEqual(DEFAULT_RUNTIME_CONFIG);
  });

  it("later layers win", () => {
    const out = layerRuntimeConfig(
      DEFAULT_RUNTIME_CONFIG,
      { temperature: 0.5, caws_tier: "tier_1" },
      { temperature: 0.25 },
      { caws_tier: "tier_3" },
    );
    expect(out.temperature).toBe(0.25);
    expect(out.caws_tier).toBe("tier_3");
  });

  it("undefined fields do not erase an earlier layer's value", () => {
    const out = layerRuntimeConfig(
      DEFAULT_RUNTIME_CONFIG,
      { temperature: 0.5, halt_head_enabled: false },
      { temperature: undefined, halt_head_enabled: undefined },
      undefined,
    );
    expect(out.temperature).toBe(0.5);
    expect(out.halt_head_enabled).toBe(false);
  });

  it("falsy values (false, 0) do override", () => {
    const base = { ...DEFAULT_RUNTIME_CONFIG, enable_efficiency_tracking: true, temperature: 1 };
    const out = layerRuntimeConfig(base, { enable_efficiency_tracking: false, temperature: 0, curriculum_slots: 0 });
    expect(out.enable_efficiency_tracking).toBe(false);
    expect(out.temperature).toBe(0);
    expect(out.curriculum_slots).toBe(0);
  });

  it("leaves fields no layer touches at the base value and does not mutate the base", () => {
    const base = { ...DEFAULT_RUNTIME_CONFIG, max_new_tokens: 99 };
    const snapshot = structuredClone(base);
    const out = layerRuntimeConfig(base, { temperature: 0.1 });
    expect(out).toEqual({ ...base, temperature: 0.1 });
    expect(base).toEqual(snapshot);
  });

  it("validates the merged result", () => {
    const bad = { halt_probability_threshold: 2 } as unknown as Parameters<typeof layerRuntimeConfig>[1];
    expect(() => layerRuntimeConfig(DEFAULT_RUNTIME_CONFIG, bad)).toThrow();
  });
});

describe("runtimeConfigOverridesFromEnv", () => {
  it("maps seed 000's six env vars to their fields", () => {
    expect(RUNTIME_CONFIG_ENV_VARS).toEqual({
      LATENT_MODE: "latent_mode_enabled",
      HALT_HEAD: "halt_head_enabled",
      CAWS_TIER: "caws_tier",
      MAX_REFINEMENT_LOOPS: "max_refinement_loops",
      JUDGE_THRESHOLD: "judge_score_threshold",
      HALT_THRESHOLD: "halt_probability_threshold",
    });
    expect(
      runtimeConfigOverridesFromEnv({
        LATENT_MODE: "1",
        HALT_HEAD: "false",
        CAWS_TIER: "tier_3",
        MAX_REFINEMENT_LOOPS: "4",
        JUDGE_THRESHOLD: "0.9",
        HALT_THRESHOLD: "0.65",
      }),
    ).toEqual({
      latent_mode_enabled: true,
      halt_head_enabled: false,
      caws_tier: "tier_3",
      max_refinement_loops: 4,
      judge_score_threshold: 0.9,
      halt_probability_threshold: 0.65,
    });
  });

  it.each([
    ["1", true],
    ["true", true],
    ["TRUE", true],
    ["yes", true],
    ["on", true],
    [" true ", true],
    ["0", false],
    ["false", false],
    ["False", false],
    ["no", false],
    ["off", false],
  ])("accepts boolean %j as %s", (raw, expected) => {
    expect(runtimeConfigOverridesFromEnv({ LATENT_MODE: raw })).toEqual({ latent_mode_enabled: expected });
    expect(runtimeConfigOverridesFromEnv({ HALT_HEAD: raw })).toEqual({ halt_head_enabled: expected });
  });

  it("ignores unset and empty variables", () => {
    expect(runtimeConfigOverridesFromEnv({})).toEqual({});
    expect(
      runtimeConfigOverridesFromEnv({
        LATENT_MODE: "",
        HALT_HEAD: "   ",
        CAWS_TIER: undefined,
        MAX_REFINEMENT_LOOPS: "",
        JUDGE_THRESHOLD: " ",
        HALT_THRESHOLD: undefined,
      }),
    ).toEqual({});
  });

  it("ignores unrelated variables", () => {
    expect(runtimeConfigOverridesFromEnv({ PATH: "/usr/bin", TEMPERATURE: "abc", HALT_THRESHOLD: "0.5" })).toEqual({
      halt_probability_threshold: 0.5,
    });
  });

  it("trims whitespace around values", () => {
    expect(runtimeConfigOverridesFromEnv({ CAWS_TIER: " tier_1 ", MAX_REFINEMENT_LOOPS: " 3 " })).toEqual({
      caws_tier: "tier_1",
      max_refinement_loops: 3,
    });
  });

  it.each([
    ["HALT_THRESHOLD", "abc"],
    ["HALT_THRESHOLD", "1.5"],
    ["HALT_THRESHOLD", "-0.1"],
    ["HALT_THRESHOLD", "Infinity"],
    ["JUDGE_THRESHOLD", "high"],
    ["JUDGE_THRESHOLD", "2"],
    ["MAX_REFINEMENT_LOOPS", "2.5"],
    ["MAX_REFINEMENT_LOOPS", "0"],
    ["MAX_REFINEMENT_LOOPS", "17"],
    ["MAX_REFINEMENT_LOOPS", "three"],
    ["CAWS_TIER", "tier_9"],
    ["CAWS_TIER", "TIER_1"],
    ["LATENT_MODE", "maybe"],
    ["HALT_HEAD", "2"],
  ])("throws a ModelgateError naming %s for %j", (name, raw) => {
    const error = catchModelgateError(() => runtimeConfigOverridesFromEnv({ [name]: raw }));
    expect(error.code).toBe("validation_failed");
    expect(error.status).toBe(400);
    expect(error.message).toContain(name);
    expect(error.fieldErrors?.map((problem) => problem.field)).toEqual([name]);
  });

  it("reports every malformed variable, each under its env var name", () => {
    const error = catchModelgateError(() =>
      runtimeConfigOverridesFromEnv({ HALT_THRESHOLD: "1.5", CAWS_TIER: "tier_9", JUDGE_THRESHOLD: "0.5" }),
    );
    expect(error.fieldErrors?.map((problem) => problem.field).sort()).toEqual(["CAWS_TIER", "HALT_THRESHOLD"]);
    expect(error.message).not.toContain("halt_probability_threshold");
  });
});
