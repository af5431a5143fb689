import { z } from "zod";
import { CawsTierSchema } from "./caws-tiers.js";
import { type FieldProblem, ModelgateError } from "./errors.js";

const probability = z.number().min(0).max(1);

/**
 * Seed 000's runtime_config.json, field for field. Every field has the seed's default, so
 * `RuntimeConfigSchema.parse({})` is a complete configuration.
 */
export const RuntimeConfigSchema = z.strictObject({
  latent_mode_enabled: z.boolean().default(false),
  halt_head_enabled: z.boolean().default(true),
  caws_tier: CawsTierSchema.default("tier_2"),
  max_refinement_loops: z.int().min(1).max(16).default(5),
  judge_score_threshold: probability.default(0.8),
  halt_probability_threshold: probability.default(0.7),
  curriculum_probability: probability.default(1.0),
  curriculum_slots: z.int().min(0).max(64).default(1),
  max_latent_spans: z.int().min(0).max(64).default(10),
  max_latent_length: z.int().min(1).max(4096).default(100),
  temperature: z.number().min(0).max(5).default(1.0),
  max_new_tokens: z.int().min(1).max(8192).default(256),
  enable_efficiency_tracking: z.boolean().default(true),
});
export type RuntimeConfig = z.infer<typeof RuntimeConfigSchema>;

/** A partial configuration layered over another one (file, env, version, request). */
export const RuntimeConfigOverridesSchema = z.strictObject({
  latent_mode_enabled: z.boolean().optional(),
  halt_head_enabled: z.boolean().optional(),
  caws_tier: CawsTierSchema.optional(),
  max_refinement_loops: z.int().min(1).max(16).optional(),
  judge_score_threshold: probability.optional(),
  halt_probability_threshold: probability.optional(),
  curriculum_probability: probability.optional(),
  curriculum_slots: z.int().min(0).max(64).optional(),
  max_latent_spans: z.int().min(0).max(64).optional(),
  max_latent_length: z.int().min(1).max(4096).optional(),
  temperature: z.number().min(0).max(5).optional(),
  max_new_tokens: z.int().min(1).max(8192).optional(),
  enable_efficiency_tracking: z.boolean().optional(),
});
export type RuntimeConfigOverrides = z.infer<typeof RuntimeConfigOverridesSchema>;

export const DEFAULT_RUNTIME_CONFIG: RuntimeConfig = RuntimeConfigSchema.parse({});

/** Later layers win; `undefined` fields never erase an earlier layer's value. */
export function layerRuntimeConfig(
  base: RuntimeConfig,
  ...layers: ReadonlyArray<RuntimeConfigOverrides | undefined>
): RuntimeConfig {
  const merged: Record<string, unknown> = { ...base };
  for (const layer of layers) {
    if (!layer) continue;
    for (const [key, value] of Object.entries(layer)) {
      if (value !== undefined) merged[key] = value;
    }
  }
  return RuntimeConfigSchema.parse(merged);
}

/** Seed 000's environment variables and the runtime_config field each one sets. */
export const RUNTIME_CONFIG_ENV_VARS = {
  LATENT_MODE: "latent_mode_enabled",
  HALT_HEAD: "halt_head_enabled",
  CAWS_TIER: "caws_tier",
  MAX_REFINEMENT_LOOPS: "max_refinement_loops",
  JUDGE_THRESHOLD: "judge_score_threshold",
  HALT_THRESHOLD: "halt_probability_threshold",
} as const satisfies Record<string, keyof RuntimeConfig>;

const BOOLEAN_WORDS: Record<string, boolean> = {
  "1": true,
  true: true,
  yes: true,
  on: true,
  "0": false,
  false: false,
  no: false,
  off: false,
};

type EnvParse = { ok: true; value: unknown } | { ok: false; message: string };

function parseEnvBoolean(raw: string): EnvParse {
  const value = BOOLEAN_WORDS[raw.trim().toLowerCase()];
  return value === undefined
    ? { ok: false, message: `expected 1/0, true/false, yes/no or on/off, got "${raw}"` }
    : { ok: true, value };
}

function parseEnvNumber(raw: string): EnvParse {
  const value = Number(raw.trim());
  return raw.trim() === "" || !Number.isFinite(value)
    ? { ok: false, message: `expected a number, got "${raw}"` }
    : { ok: true, value };
}

/**
 * Reads seed 000's env vars into overrides. Unset or empty variables are ignored; a
 * malformed one throws a `ModelgateError` naming the variable (configuration is validated
 * once, at start-up).
 */
export function runtimeConfigOverridesFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): RuntimeConfigOverrides {
  const raw: Record<string, unknown> = {};
  const problems: FieldProblem[] = [];
  for (const [name, field] of Object.entries(RUNTIME_CONFIG_ENV_VARS)) {
    const value = env[name];
    if (value === undefined || value.trim() === "") continue;
    let parsed: EnvParse;
    if (field === "latent_mode_enabled" || field === "halt_head_enabled") parsed = parseEnvBoolean(value);
    else if (field === "caws_tier") parsed = { ok: true, value: value.trim() };
    else parsed = parseEnvNumber(value);
    if (parsed.ok) raw[field] = parsed.value;
    else problems.push({ field: name, message: parsed.message });
  }
  const validated = RuntimeConfigOverridesSchema.safeParse(raw);
  if (!validated.success) {
    const variableFor = Object.fromEntries(Object.entries(RUNTIME_CONFIG_ENV_VARS).map(([k, v]) => [v, k]));
    for (const issue of validated.error.issues) {
      const field = String(issue.path[0] ?? "");
      problems.push({ field: variableFor[field] ?? field, message: issue.message });
    }
  }
  // Every bad variable is reported at once, so an operator fixes them in one go.
  if (problems.length > 0 || !validated.success) {
    const named = problems.map((p) => `${p.field}: ${p.message}`).join("; ");
    throw new ModelgateError("validation_failed", `Invalid runtime configuration environment: ${named}`, problems);
  }
  return validated.data;
}
