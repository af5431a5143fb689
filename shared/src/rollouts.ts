import { z } from "zod";
import { ReasonTextSchema } from "./free-text.js";

/**
 * Canary rollouts (issue 16): a candidate version takes a growing share of the traffic that
 * names a model's Production version (`name`, `name@production`), step by step while a guard
 * over the candidate's own analytics (error rate, p95 latency, judge score) holds, and is rolled
 * back on its own when the guard breaks. The rules here are pure; the edge stores the rollout
 * in the model's record, splits requests with `rolloutArmFor` and evaluates the guard from D1 on
 * a Durable Object alarm (edge/src/rollouts/).
 */

export const ROLLOUT_STATUSES = ["active", "paused", "completed", "rolled_back", "aborted"] as const;
export const RolloutStatusSchema = z.enum(ROLLOUT_STATUSES);
export type RolloutStatus = z.infer<typeof RolloutStatusSchema>;

/** Rollouts in these statuses split traffic; the others are kept only as the last rollout's outcome. */
export const SPLITTING_ROLLOUT_STATUSES: readonly RolloutStatus[] = ["active", "paused"];

/** What a request is hashed on: the caller's API key (a client keeps its arm) or the request id. */
export const RolloutStickinessSchema = z.enum(["key", "request"]);
export type RolloutStickiness = z.infer<typeof RolloutStickinessSchema>;

const percent = z.number().gt(0, "must be more than 0").max(100, "must be at most 100");

export const RolloutGuardSchema = z.strictObject({
  max_error_rate: z
    .number()
    .min(0)
    .max(1)
    .default(0.05)
    .describe("Largest share of the candidate's requests that may fail (5xx, no worker) within a window."),
  max_p95_ms: z
    .number()
    .positive()
    .optional()
    .describe("Largest p95 latency of the candidate's successful requests within a window."),
  min_judge_score: z
    .number()
    .min(0)
    .max(1)
    .optional()
    .describe("Lowest mean judge score of the candidate's judged generations within a window."),
  window: z
    .int()
    .min(1)
    .max(86_400)
    .default(60)
    .describe("Seconds: how often the guard is evaluated, over the candidate's requests of the last window."),
  min_requests: z
    .int()
    .min(0)
    .max(1_000_000)
    .default(20)
    .describe("Requests the candidate must have served in a window before it may advance (0: advance on time alone)."),
});
export type RolloutGuard = z.infer<typeof RolloutGuardSchema>;

export const RolloutRequestSchema = z
  .strictObject({
    candidate: z.int().min(1).describe("The version number to roll out."),
    percent: percent.optional().describe("The share to start at; one of `steps` (default: the first)."),
    steps: z
      .array(percent)
      .min(1)
      .max(20)
      .default([10, 50, 100])
      .describe("Shares (percent) the candidate moves through, increasing; after the last it is promoted."),
    guard: RolloutGuardSchema.default(RolloutGuardSchema.parse({})),
    sticky: RolloutStickinessSchema.default("key"),
    reason: ReasonTextSchema.optional(),
  })
  .superRefine((request, ctx) => {
    request.steps.forEach((step, index) => {
      const previous = request.steps[index - 1];
      if (previous !== undefined && step <= previous) {
        ctx.addIssue({ code: "custom", path: ["steps", index], message: "steps must increase" });
      }
    });
    if (request.percent !== undefined && !request.steps.includes(request.percent)) {
      ctx.addIssue({ code: "custom", path: ["percent"], message: "must be one of steps" });
    }
  });
export type RolloutRequest = z.infer<typeof RolloutRequestSchema>;
/** What a client sends (defaults not yet applied). */
export type RolloutRequestInput = z.input<typeof RolloutRequestSchema>;

export const RolloutControlRequestSchema = z.strictObject({ reason: ReasonTextSchema.optional() });
export type RolloutControlRequest = z.infer<typeof RolloutControlRequestSchema>;

/** The candidate's figures over one guard window (edge/src/rollouts/rollout-metrics.ts reads them from D1). */
export const RolloutWindowStatsSchema = z.strictObject({
  from: z.iso.datetime(),
  to: z.iso.datetime(),
  requests: z.int().min(0).describe("Requests the candidate served or failed (client errors excluded)."),
  errors: z.int().min(0),
  error_rate: z.number().min(0).max(1).nullable(),
  p95_ms: z.number().min(0).nullable(),
  judged: z.int().min(0),
  mean_judge_score: z.number().nullable(),
});
export type RolloutWindowStats = z.infer<typeof RolloutWindowStatsSchema>;

export const RolloutSchema = z.strictObject({
  /** Part of the hash, so that a new rollout draws a new sample of keys. */
  id: z.string().min(1).max(64),
  baseline: z.int().min(1).nullable().describe("The Production version when the rollout started."),
  candidate: z.int().min(1),
  status: RolloutStatusSchema,
  steps: z.array(percent).min(1),
  step_index: z.int().min(0),
  percent: z.number().min(0).max(100).describe("The candidate's current share; 0 once rolled back or aborted."),
  guard: z.strictObject({
    max_error_rate: z.number(),
    max_p95_ms: z.number().optional(),
    min_judge_score: z.number().optional(),
    window: z.int(),
    min_requests: z.int(),
  }),
  sticky: RolloutStickinessSchema,
  started_at: z.iso.datetime(),
  started_by: z.string(),
  step_started_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
  /** Why the rollout is where it is: the last guard verdict or manual action. */
  reason: z.string().optional(),
  last_evaluation: RolloutWindowStatsSchema.optional(),
});
export type Rollout = z.infer<typeof RolloutSchema>;

/** A rollout as the API returns it: with its model and when the guard looks next. */
export const RolloutViewSchema = RolloutSchema.extend({
  model: z.string(),
  next_evaluation_at: z.iso.datetime().nullable().describe("When the guard is evaluated next; null unless active."),
});
export type RolloutView = z.infer<typeof RolloutViewSchema>;

/** FNV-1a (32 bit): cheap, stable across runtimes, and well spread over short keys. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** 10 000 buckets: shares to a hundredth of a percent. */
const BUCKETS = 10_000;

/**
 * Which arm serves a request: the same sticky value always lands in the same bucket of a
 * rollout, and a bucket below the candidate's share goes to the candidate, so raising the share
 * only moves keys from Production to the candidate, never back.
 */
export function rolloutArmFor(
  rollout: Pick<Rollout, "id" | "percent">,
  stickyValue: string,
): "candidate" | "production" {
  const bucket = fnv1a(`${rollout.id}:${stickyValue}`) % BUCKETS;
  return bucket < Math.round(rollout.percent * 100) ? "candidate" : "production";
}

export type GuardVerdict =
  | { kind: "hold"; reason: string }
  | { kind: "advance"; reason: string }
  | { kind: "complete"; reason: string }
  | { kind: "rollback"; reason: string };

const round = (value: number, digits = 3) => Number(value.toFixed(digits));

/** The guard thresholds the window's figures break, in words; empty when it holds. */
export function guardBreaches(guard: Rollout["guard"], stats: RolloutWindowStats): string[] {
  const breaches: string[] = [];
  if (stats.error_rate !== null && stats.error_rate > guard.max_error_rate) {
    breaches.push(
      `error rate ${round(stats.error_rate)} (${stats.errors} of ${stats.requests}) is above max_error_rate ${guard.max_error_rate}`,
    );
  }
  if (guard.max_p95_ms !== undefined && stats.p95_ms !== null && stats.p95_ms > guard.max_p95_ms) {
    breaches.push(`p95 latency ${round(stats.p95_ms, 1)} ms is above max_p95_ms ${guard.max_p95_ms}`);
  }
  if (guard.min_judge_score !== undefined && stats.mean_judge_score !== null) {
    if (stats.mean_judge_score < guard.min_judge_score) {
      breaches.push(
        `mean judge score ${round(stats.mean_judge_score)} over ${stats.judged} judged requests is below min_judge_score ${guard.min_judge_score}`,
      );
    }
  }
  return breaches;
}

/**
 * One evaluation of an active rollout: a broken threshold rolls it back at once (however few
 * requests showed it); otherwise it advances when its step has lasted a whole window with at
 * least `min_requests` candidate requests in it, and completes after its last step.
 */
export function evaluateRolloutGuard(rollout: Rollout, stats: RolloutWindowStats, nowMs: number): GuardVerdict {
  const breaches = guardBreaches(rollout.guard, stats);
  const share = `${rollout.percent}%`;
  if (breaches.length > 0) return { kind: "rollback", reason: `guard broke at ${share}: ${breaches.join("; ")}` };
  const stepAgeMs = nowMs - Date.parse(rollout.step_started_at);
  if (stepAgeMs < rollout.guard.window * 1000) {
    return { kind: "hold", reason: `step ${share} has not yet lasted a ${rollout.guard.window} s window` };
  }
  if (stats.requests < rollout.guard.min_requests) {
    return {
      kind: "hold",
      reason: `waiting for traffic: ${stats.requests} of ${rollout.guard.min_requests} candidate requests in the window`,
    };
  }
  const held = `guard held at ${share} over ${stats.requests} requests`;
  const next = rollout.steps[rollout.step_index + 1];
  if (next === undefined) return { kind: "complete", reason: `${held}; promoted to Production` };
  return { kind: "advance", reason: `${held}; advancing to ${next}%` };
}
