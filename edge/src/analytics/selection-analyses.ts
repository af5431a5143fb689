/**
 * Seed 002's three analyses of selection events, adapted to SQLite (D1). Every query reads
 * one window, `[from, to)`, bounded to 31 days by `resolveAnalyticsWindow`, through the
 * `selection_events_by_time` / `_by_category_time` indexes.
 */
import type { CategoryPerformance, ModelsPerCategory, MultiCategory, ResolvedAnalyticsWindow } from "@modelgate/shared";
import { withSelectionEvents } from "./selection-events.js";

/** Seed: `SELECT task_category, selected_model, COUNT(*) … GROUP BY … ORDER BY task_category, usage_count DESC`. */
export const MODELS_PER_CATEGORY_SQL = `
SELECT task_category, selected_model, COUNT(*) AS usage_count,
       SUM(COUNT(*)) OVER (PARTITION BY task_category) AS category_total
FROM selection_events
WHERE timestamp_ms >= ?1 AND timestamp_ms < ?2 AND selected_model IS NOT NULL
GROUP BY task_category, selected_model
ORDER BY task_category IS NULL, task_category, usage_count DESC, selected_model`;

/**
 * Seed: `… GROUP BY selected_model HAVING categories_served > 1`, broken down per category so
 * that primary and secondary use can be told apart. Only `auto:<category>` requests count.
 */
export const MULTI_CATEGORY_SQL = `
WITH windowed AS (
  SELECT selected_model, task_category, primary_category, confidence_score
  FROM selection_events
  WHERE timestamp_ms >= ?1 AND timestamp_ms < ?2
    AND selected_model IS NOT NULL AND task_category IS NOT NULL
),
multi AS (
  SELECT selected_model FROM windowed
  GROUP BY selected_model
  HAVING COUNT(DISTINCT task_category) > 1
)
SELECT w.selected_model, w.task_category,
       COUNT(*) AS requests,
       COUNT(CASE WHEN w.primary_category = 1 THEN 1 END) AS primary_requests,
       COUNT(CASE WHEN w.primary_category = 0 THEN 1 END) AS secondary_requests,
       AVG(w.confidence_score) AS avg_confidence,
       SUM(w.confidence_score) AS confidence_sum,
       COUNT(w.confidence_score) AS confidence_count
FROM windowed w JOIN multi m ON m.selected_model = w.selected_model
GROUP BY w.selected_model, w.task_category
ORDER BY w.selected_model, requests DESC, w.task_category`;

/**
 * Seed: `AVG(selection_duration_ms), AVG(final_score) … GROUP BY task_category`, plus outcomes
 * and nearest-rank latency percentiles of the `ok` requests (rank ⌈p·n⌉ in integer arithmetic:
 * ⌈n/2⌉ = (n+1)/2, ⌈0.95n⌉ = (95n+99)/100).
 */
export const CATEGORY_PERFORMANCE_SQL = `
WITH windowed AS (
  SELECT task_category, outcome, latency_ms, final_score, selection_duration_ms, tokens
  FROM selection_events
  WHERE timestamp_ms >= ?1 AND timestamp_ms < ?2
),
ranked AS (
  SELECT task_category, latency_ms,
         ROW_NUMBER() OVER (PARTITION BY task_category ORDER BY latency_ms) AS latency_rank,
         COUNT(*) OVER (PARTITION BY task_category) AS ok_count
  FROM windowed WHERE outcome = 'ok'
),
percentiles AS (
  SELECT task_category,
         MAX(CASE WHEN latency_rank = (ok_count + 1) / 2 THEN latency_ms END) AS latency_p50,
         MAX(CASE WHEN latency_rank = (95 * ok_count + 99) / 100 THEN latency_ms END) AS latency_p95
  FROM ranked GROUP BY task_category
),
aggregated AS (
  SELECT task_category,
         COUNT(*) AS requests,
         COUNT(CASE WHEN outcome = 'ok' THEN 1 END) AS ok_requests,
         COUNT(CASE WHEN outcome = 'client_error' THEN 1 END) AS client_errors,
         COUNT(CASE WHEN outcome = 'upstream_error' THEN 1 END) AS upstream_errors,
         COUNT(CASE WHEN outcome = 'no_worker' THEN 1 END) AS no_worker,
         AVG(final_score) AS avg_final_score,
         AVG(selection_duration_ms) AS avg_selection_duration_ms,
         AVG(tokens) AS avg_tokens
  FROM windowed GROUP BY task_category
)
SELECT a.*, p.latency_p50, p.latency_p95
FROM aggregated a LEFT JOIN percentiles p ON p.task_category IS a.task_category
ORDER BY a.task_category IS NULL, a.task_category`;

function windowRows<T>(db: D1Database, sql: string, window: ResolvedAnalyticsWindow): Promise<T[]> {
  return withSelectionEvents(db, async () => {
    const { results } = await db.prepare(sql).bind(window.fromMs, window.toMs).all<T>();
    return results;
  });
}

interface ModelUsageRow {
  task_category: string | null;
  selected_model: string;
  usage_count: number;
  category_total: number;
}

export async function modelsPerCategory(db: D1Database, window: ResolvedAnalyticsWindow): Promise<ModelsPerCategory> {
  const rows = await windowRows<ModelUsageRow>(db, MODELS_PER_CATEGORY_SQL, window);
  const categories: ModelsPerCategory["categories"] = [];
  for (const row of rows) {
    let category = categories.at(-1);
    // Rows arrive grouped by category, so a new category starts a new entry.
    if (category === undefined || category.task_category !== row.task_category) {
      category = { task_category: row.task_category, total: row.category_total, models: [] };
      categories.push(category);
    }
    category.models.push({
      selected_model: row.selected_model,
      usage_count: row.usage_count,
      share: row.usage_count / row.category_total,
    });
  }
  return { window: window.window, categories };
}

interface CategoryUseRow {
  selected_model: string;
  task_category: string;
  requests: number;
  primary_requests: number;
  secondary_requests: number;
  avg_confidence: number | null;
  confidence_sum: number | null;
  confidence_count: number;
}

export async function multiCategory(db: D1Database, window: ResolvedAnalyticsWindow): Promise<MultiCategory> {
  const rows = await windowRows<CategoryUseRow>(db, MULTI_CATEGORY_SQL, window);
  const byModel = new Map<string, CategoryUseRow[]>();
  for (const row of rows) byModel.set(row.selected_model, [...(byModel.get(row.selected_model) ?? []), row]);
  const models: MultiCategory["models"] = [...byModel].map(([selected_model, uses]) => {
    const sum = (pick: (row: CategoryUseRow) => number) => uses.reduce((total, row) => total + pick(row), 0);
    const confidenceCount = sum((row) => row.confidence_count);
    return {
      selected_model,
      categories_served: uses.length,
      requests: sum((row) => row.requests),
      primary_requests: sum((row) => row.primary_requests),
      secondary_requests: sum((row) => row.secondary_requests),
      // Weighted by requests, like the seed's AVG(confidence_score) over the model's rows.
      avg_confidence: confidenceCount === 0 ? null : sum((row) => row.confidence_sum ?? 0) / confidenceCount,
      categories: uses.map((row) => ({
        task_category: row.task_category,
        requests: row.requests,
        primary_requests: row.primary_requests,
        secondary_requests: row.secondary_requests,
        avg_confidence: row.avg_confidence,
      })),
    };
  });
  // Widest-used first: the models the multi-category registry earns its keep with.
  models.sort(
    (a, b) =>
      b.categories_served - a.categories_served ||
      b.requests - a.requests ||
      a.selected_model.localeCompare(b.selected_model),
  );
  return { window: window.window, models };
}

interface CategoryPerformanceRow {
  task_category: string | null;
  requests: number;
  ok_requests: number;
  client_errors: number;
  upstream_errors: number;
  no_worker: number;
  avg_final_score: number | null;
  avg_selection_duration_ms: number | null;
  avg_tokens: number | null;
  latency_p50: number | null;
  latency_p95: number | null;
}

export async function categoryPerformance(
  db: D1Database,
  window: ResolvedAnalyticsWindow,
): Promise<CategoryPerformance> {
  const rows = await windowRows<CategoryPerformanceRow>(db, CATEGORY_PERFORMANCE_SQL, window);
  return {
    window: window.window,
    categories: rows.map((row) => {
      // A caller's bad request says nothing about how well the category is routed.
      const judged = row.ok_requests + row.upstream_errors + row.no_worker;
      return {
        task_category: row.task_category,
        requests: row.requests,
        outcomes: {
          ok: row.ok_requests,
          client_error: row.client_errors,
          upstream_error: row.upstream_errors,
          no_worker: row.no_worker,
        },
        success_rate: judged === 0 ? null : row.ok_requests / judged,
        latency_ms: { p50: row.latency_p50, p95: row.latency_p95 },
        avg_final_score: row.avg_final_score,
        avg_selection_duration_ms: row.avg_selection_duration_ms,
        avg_tokens: row.avg_tokens,
      };
    }),
  };
}
