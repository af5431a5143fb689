import { z } from "zod";
import { ReasonTextSchema } from "./free-text.js";
import { MetricNameSchema, ModelNameSchema, ModelVersionSchema } from "./model-version.js";
import { RolloutSchema } from "./rollouts.js";

/**
 * Free aliases (`name@champion`) next to the stages. Stage names, `latest` and numbers are
 * reserved because model references already give them a meaning.
 */
export const RESERVED_ALIASES = ["production", "staging", "none", "archived", "latest"] as const;
export const AliasNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,31}$/, "must be 1–32 characters of a-z, 0-9, '_' or '-', starting with a letter")
  .refine((alias) => !(RESERVED_ALIASES as readonly string[]).includes(alias), {
    message: `must not be one of the reserved names ${RESERVED_ALIASES.join(", ")}`,
  });

/**
 * Seed 004's registration policy, per model: a version whose metric is below `register_min`
 * is refused, one at or above `staging_min` goes straight to Staging. For metrics where lower
 * is better (a loss), set `higher_is_better: false` and the comparisons flip.
 */
export const RegistryPolicySchema = z
  .strictObject({
    metric: MetricNameSchema.default("val_acc"),
    register_min: z.number().default(0.7),
    staging_min: z.number().default(0.9),
    higher_is_better: z.boolean().default(true),
  })
  .superRefine((policy, ctx) => {
    const ordered = policy.higher_is_better
      ? policy.staging_min >= policy.register_min
      : policy.staging_min <= policy.register_min;
    if (!ordered) {
      ctx.addIssue({
        code: "custom",
        path: ["staging_min"],
        message: "the staging threshold must be at least as strict as the registration threshold",
      });
    }
  });
export type RegistryPolicy = z.infer<typeof RegistryPolicySchema>;
export const DEFAULT_REGISTRY_POLICY: RegistryPolicy = RegistryPolicySchema.parse({});

export const HistoryActionSchema = z.enum([
  "registered",
  "stage_changed",
  "alias_set",
  "alias_removed",
  "metadata_updated",
  "version_deleted",
  "model_deleted",
  "policy_updated",
  "conversion_recorded",
  "verification_recorded",
  // Canary rollouts (rollouts.ts): `from`/`to` are the candidate's share before and after ("10%").
  "rollout_started",
  "rollout_advanced",
  "rollout_paused",
  "rollout_resumed",
  "rollout_completed",
  "rollout_rolled_back",
  "rollout_aborted",
]);
export type HistoryAction = z.infer<typeof HistoryActionSchema>;

/**
 * One entry of a model's history: every write to the registry appends one, so "what was in
 * Production last Tuesday, and who put it there" is always answerable. `by` is the key id.
 */
export const HistoryEventSchema = z.strictObject({
  seq: z.int().min(1),
  at: z.iso.datetime(),
  by: z.string(),
  action: HistoryActionSchema,
  version: z.int().min(1).optional(),
  /** Stage before and after (`Deleted` once removed); alias targets for alias events. */
  from: z.string().nullable().optional(),
  to: z.string().nullable().optional(),
  alias: z.string().optional(),
  reason: z.string().optional(),
  metadata_revision: z.int().min(1).optional(),
  purged: z.boolean().optional(),
  /** A converted format the event is about (`conversion_recorded`, a promotion with `format`). */
  format: z.string().optional(),
  job_id: z.string().optional(),
  /** A promotion made although these must-pass gates failed (`force: true`, with `reason`). */
  forced: z.boolean().optional(),
  gates_failed: z.array(z.string()).optional(),
});
export type HistoryEvent = z.infer<typeof HistoryEventSchema>;

/**
 * One model as stored: its versions (current stage and metadata), aliases, policy and history.
 * A deleted model keeps its record as a tombstone (`deleted_at`, no versions) so its history
 * stays readable and version numbers are never reused.
 */
export const ModelRecordSchema = z.strictObject({
  name: ModelNameSchema,
  /** Incremented by every write; the search index uses it to ignore stale updates. */
  revision: z.int().min(1),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
  deleted_at: z.iso.datetime().optional(),
  /** The highest version number ever assigned, deleted ones included. */
  last_version: z.int().min(0),
  policy: RegistryPolicySchema,
  aliases: z.record(AliasNameSchema, z.int().min(1)),
  versions: z.array(ModelVersionSchema),
  history: z.array(HistoryEventSchema),
  /** The current canary rollout, or the last one with its outcome (kept until the next starts). */
  rollout: RolloutSchema.optional(),
});
export type ModelRecord = z.infer<typeof ModelRecordSchema>;

/** A model as the API returns it: the record without its (possibly long) history. */
export type ModelView = Omit<ModelRecord, "history"> & { history_length: number };

export function modelView(record: ModelRecord): ModelView {
  const { history, ...rest } = record;
  return { ...rest, history_length: history.length };
}

export const AliasRequestSchema = z.strictObject({
  version: z.int().min(1),
  reason: ReasonTextSchema.optional(),
});
export type AliasRequest = z.infer<typeof AliasRequestSchema>;

/** What the policy made of a registration; returned with the new version. */
export const PolicyDecisionSchema = z.strictObject({
  metric: z.string(),
  value: z.number().nullable(),
  outcome: z.enum(["refused", "registered", "staged", "not_applied"]),
  reason: z.string(),
});
export type PolicyDecision = z.infer<typeof PolicyDecisionSchema>;

export function evaluateRegistrationPolicy(
  policy: RegistryPolicy,
  metrics: Record<string, number>,
  apply: boolean,
): PolicyDecision {
  const value = metrics[policy.metric];
  const base = { metric: policy.metric, value: value ?? null };
  if (!apply) return { ...base, outcome: "not_applied", reason: "registered with apply_policy: false" };
  if (value === undefined) {
    return { ...base, outcome: "registered", reason: `no ${policy.metric} metric, so no threshold applies` };
  }
  const meets = (threshold: number) => (policy.higher_is_better ? value >= threshold : value <= threshold);
  const relation = policy.higher_is_better ? "≥" : "≤";
  if (!meets(policy.register_min)) {
    return {
      ...base,
      outcome: "refused",
      reason: `${policy.metric} ${value} does not meet the registration threshold ${relation} ${policy.register_min}`,
    };
  }
  if (meets(policy.staging_min)) {
    return {
      ...base,
      outcome: "staged",
      reason: `auto-promoted: ${policy.metric} ${value} ${relation} ${policy.staging_min}`,
    };
  }
  return {
    ...base,
    outcome: "registered",
    reason: `${policy.metric} ${value} meets registration (${relation} ${policy.register_min}) but not staging (${relation} ${policy.staging_min})`,
  };
}
