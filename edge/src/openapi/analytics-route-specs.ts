import {
  AnalyticsWindowQuerySchema,
  CategoryPerformanceSchema,
  ModelsPerCategorySchema,
  MultiCategorySchema,
} from "@modelgate/shared";
import { component, problemResponses, type RouteSpec } from "./route-spec.js";

const TAG = "Selection analytics";

const WINDOW =
  " Over `[from, to)`: ISO 8601 timestamps with a zone (a bare date is midnight UTC); `to` defaults to now, " +
  "`from` to 24 hours before `to`; the window may span at most 31 days.";

const errors = problemResponses([400, 503], {
  400: "`from` or `to` is not a timestamp, `to` is not after `from`, or the window is longer than 31 days.",
  503: "The edge has no `ANALYTICS` D1 binding (the detail names it), or D1 did not answer.",
});

const AnalyticsWindowQuery = component("AnalyticsWindowQuery", AnalyticsWindowQuerySchema);

/**
 * `admin`: the answers describe every caller's traffic across the fleet, which is operator
 * information rather than something a `models:read` client of the registry needs.
 */
export const analyticsRouteSpecs: readonly RouteSpec[] = [
  {
    method: "GET",
    path: "/v1/analytics/models-per-category",
    scope: "admin",
    tag: TAG,
    summary: "Models chosen per task category",
    description:
      "Seed 002's *models used per category*: for each `auto:<category>` (and `null` for requests naming a " +
      "model), the versions chosen with their counts and share of the category, most used first." +
      WINDOW,
    query: AnalyticsWindowQuery,
    responses: {
      200: {
        description: "Usage per category.",
        schema: component("ModelsPerCategory", ModelsPerCategorySchema),
      },
      ...errors,
    },
  },
  {
    method: "GET",
    path: "/v1/analytics/multi-category",
    scope: "admin",
    tag: TAG,
    summary: "Models serving more than one category",
    description:
      "Seed 002's *multi-category effectiveness*: versions chosen for two or more categories, with per-category " +
      "counts, how often the category was the model's primary or a secondary one, and mean confidence." +
      WINDOW,
    query: AnalyticsWindowQuery,
    responses: {
      200: { description: "Multi-category models.", schema: component("MultiCategory", MultiCategorySchema) },
      ...errors,
    },
  },
  {
    method: "GET",
    path: "/v1/analytics/category-performance",
    scope: "admin",
    tag: TAG,
    summary: "Routing performance per category",
    description:
      "Seed 002's *performance by category*: requests, outcomes, success rate (client errors excluded), " +
      "p50/p95 latency of successful requests, mean final score, selection time and tokens." +
      WINDOW,
    query: AnalyticsWindowQuery,
    responses: {
      200: {
        description: "Performance per category.",
        schema: component("CategoryPerformance", CategoryPerformanceSchema),
      },
      ...errors,
    },
  },
];
