import { z } from "zod";
import { err, ModelgateError, ok, type Result } from "./errors.js";

/**
 * Selection analytics: seed 002's `SelectionMetrics` plus what happened to the request, one
 * event per routed request, and the seed's three analyses over a time window. The edge stores
 * events in D1 (edge/src/analytics/) and serves the analyses; the CLI prints them.
 */

/**
 * What became of a routed request. `client_error`: the caller's fault (4xx), says nothing
 * about routing; `upstream_error`: the worker failed or timed out; `no_worker`: nothing could
 * serve it.
 */
export const SelectionOutcomeSchema = z.enum(["ok", "client_error", "upstream_error", "no_worker"]);
export type SelectionOutcome = z.infer<typeof SelectionOutcomeSchema>;

export const SelectionEventSchema = z.strictObject({
  timestamp: z.iso.datetime({ offset: true }).describe("When the request reached the edge."),
  task_category: z
    .string()
    .min(1)
    .max(64)
    .nullable()
    .describe("The category of an `auto:<category>` target; null for an explicit model."),
  selected_model: z
    .string()
    .regex(/^[^@\s]{1,128}@[1-9][0-9]{0,8}$/, "must be name@version")
    .nullable()
    .describe("`name@version`; null when no version could be chosen."),
  primary_category: z
    .boolean()
    .nullable()
    .describe("Whether task_category is the chosen version's first (primary) category; null without a category."),
  confidence_score: z.number().min(0).max(1).nullable().describe("Seed 002's multi-category confidence."),
  final_score: z.number().finite().nullable().describe("The winning option's combined score."),
  gpu_id: z.int().min(0).nullable().describe("The chosen GPU's index on its worker."),
  worker_id: z.string().min(1).max(200).nullable(),
  selection_duration_ms: z.number().min(0).finite(),
  route: z.string().startsWith("/").max(200).describe('The API route, e.g. "/v1/generate".'),
  outcome: SelectionOutcomeSchema,
  status: z.int().min(100).max(599).describe("The HTTP status sent to the caller."),
  latency_ms: z.number().min(0).finite().describe("From arrival at the edge to the response's headers."),
  tokens: z.int().min(0).nullable().describe("Generated tokens when known (not read from streamed bodies)."),
  judge_score: z
    .number()
    .min(0)
    .max(1)
    .nullable()
    .optional()
    .describe("The final loop's judge score of a judged generation, read for canary-rollout traffic (rollouts.ts)."),
  request_id: z.string().min(1).max(200),
});
export type SelectionEvent = z.infer<typeof SelectionEventSchema>;

// A time without a zone would be read in whatever zone the reader is in; require one.
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;
const timestampParam = z
  .string()
  .refine(
    (value) => ISO_TIMESTAMP.test(value) && !Number.isNaN(Date.parse(value)),
    "must be an ISO 8601 timestamp with a zone, e.g. 2025-06-01T00:00:00Z (a bare date means midnight UTC)",
  )
  .optional();

/** `?from=&to=` of every analysis. Defaults: `to` now, `from` 24 hours before `to`. */
export const AnalyticsWindowQuerySchema = z.strictObject({
  from: timestampParam.describe("Start of the window (inclusive). Default: 24 hours before `to`."),
  to: timestampParam.describe("End of the window (exclusive). Default: now."),
});
export type AnalyticsWindowQuery = z.infer<typeof AnalyticsWindowQuerySchema>;

export const DEFAULT_ANALYTICS_WINDOW_MS = 24 * 60 * 60 * 1000;
/** Bounds what one analysis scans (and the rows percentiles are ranked over). */
export const MAX_ANALYTICS_WINDOW_MS = 31 * 24 * 60 * 60 * 1000;

/** The window an analysis covered, as normalized UTC timestamps: `from` inclusive, `to` exclusive. */
export const AnalyticsWindowSchema = z.strictObject({ from: z.iso.datetime(), to: z.iso.datetime() });
export type AnalyticsWindow = z.infer<typeof AnalyticsWindowSchema>;

export interface ResolvedAnalyticsWindow {
  fromMs: number;
  toMs: number;
  window: AnalyticsWindow;
}

/** Applies the defaults and the cross-field rules; a problem names the field to change. */
export function resolveAnalyticsWindow(
  query: AnalyticsWindowQuery,
  nowMs: number,
): Result<ResolvedAnalyticsWindow, ModelgateError> {
  const toMs = query.to === undefined ? nowMs : Date.parse(query.to);
  const fromMs = query.from === undefined ? toMs - DEFAULT_ANALYTICS_WINDOW_MS : Date.parse(query.from);
  if (toMs <= fromMs) {
    const message = "must be later than from";
    return err(
      new ModelgateError("validation_failed", `Invalid analytics window: to: ${message}`, [{ field: "to", message }]),
    );
  }
  if (toMs - fromMs > MAX_ANALYTICS_WINDOW_MS) {
    const message = "must be at most 31 days before to";
    return err(
      new ModelgateError("validation_failed", `Invalid analytics window: from: ${message}`, [
        { field: "from", message },
      ]),
    );
  }
  return ok({
    fromMs,
    toMs,
    window: { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() },
  });
}

const count = z.int().min(0);
const share = z.number().min(0).max(1);
/** A mean over no rows (or only nulls) is null, not 0. */
const mean = z.number().nullable();

/** Seed 002's "models used per category", with each model's share of the category. */
export const ModelsPerCategorySchema = z.strictObject({
  window: AnalyticsWindowSchema,
  categories: z.array(
    z.strictObject({
      task_category: z.string().nullable().describe("null: requests that named a model explicitly."),
      total: count,
      models: z.array(z.strictObject({ selected_model: z.string(), usage_count: count, share })),
    }),
  ),
});
export type ModelsPerCategory = z.infer<typeof ModelsPerCategorySchema>;

const categoryUse = {
  requests: count,
  primary_requests: count.describe("Requests where the category was the model's primary one."),
  secondary_requests: count,
  avg_confidence: mean,
};

/** Seed 002's "multi-category effectiveness": models chosen for more than one category. */
export const MultiCategorySchema = z.strictObject({
  window: AnalyticsWindowSchema,
  models: z.array(
    z.strictObject({
      selected_model: z.string(),
      categories_served: count,
      ...categoryUse,
      categories: z.array(z.strictObject({ task_category: z.string(), ...categoryUse })),
    }),
  ),
});
export type MultiCategory = z.infer<typeof MultiCategorySchema>;

/** Seed 002's "performance by category", with outcomes and latency percentiles. */
export const CategoryPerformanceSchema = z.strictObject({
  window: AnalyticsWindowSchema,
  categories: z.array(
    z.strictObject({
      task_category: z.string().nullable().describe("null: requests that named a model explicitly."),
      requests: count,
      outcomes: z.strictObject({ ok: count, client_error: count, upstream_error: count, no_worker: count }),
      success_rate: share
        .nullable()
        .describe("ok / (ok + upstream_error + no_worker): client errors are not held against routing."),
      latency_ms: z
        .strictObject({ p50: mean, p95: mean })
        .describe("Nearest-rank percentiles over the `ok` requests' latency."),
      avg_final_score: mean,
      avg_selection_duration_ms: mean,
      avg_tokens: mean.describe("Over the requests whose token count is known."),
    }),
  ),
});
export type CategoryPerformance = z.infer<typeof CategoryPerformanceSchema>;

export const SELECTION_ANALYSES = ["models-per-category", "multi-category", "category-performance"] as const;
export type SelectionAnalysis = (typeof SELECTION_ANALYSES)[number];
