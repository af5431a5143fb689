import {
  AnalyticsWindowQuerySchema,
  ModelgateError,
  type ResolvedAnalyticsWindow,
  resolveAnalyticsWindow,
} from "@modelgate/shared";
import { type Context, Hono } from "hono";
import { categoryPerformance, modelsPerCategory, multiCategory } from "../analytics/selection-analyses.js";
import type { AppEnv } from "../env.js";
import { logEvent } from "../logging/edge-log.js";
import { requireScope } from "../middleware/authenticate.js";
import { parseQuery } from "../registry/registry-access.js";

/** `?from=&to=`, defaults applied; a bad value is a 400 naming the field. */
function analyticsWindow(c: Context<AppEnv>): ResolvedAnalyticsWindow {
  const resolved = resolveAnalyticsWindow(parseQuery(c, AnalyticsWindowQuerySchema, "analytics window"), Date.now());
  if (!resolved.ok) throw resolved.error;
  return resolved.value;
}

/**
 * Runs one analysis against the `ANALYTICS` D1 database. Without the binding the rest of the
 * edge keeps working and only these routes answer 503, naming it.
 */
async function analyse<T>(
  c: Context<AppEnv>,
  analysis: (db: D1Database, window: ResolvedAnalyticsWindow) => Promise<T>,
): Promise<T> {
  const window = analyticsWindow(c);
  const db = c.env.ANALYTICS;
  if (!db) {
    throw new ModelgateError(
      "analytics_unavailable",
      'Selection analytics are not configured on this edge: add the D1 binding ANALYTICS ([[d1_databases]] binding = "ANALYTICS" in wrangler.toml).',
    );
  }
  try {
    return await analysis(db, window);
  } catch (error) {
    logEvent("error", "selection analytics query failed", { request_id: c.get("requestId"), error });
    throw new ModelgateError("analytics_unavailable", "The analytics database did not answer; try again shortly.");
  }
}

/** Seed 002's three analyses of selection events over a time window (admin: fleet-wide usage). */
export const analyticsRoutes = new Hono<AppEnv>()
  .get("/v1/analytics/models-per-category", requireScope("admin"), async (c) =>
    c.json(await analyse(c, modelsPerCategory)),
  )
  .get("/v1/analytics/multi-category", requireScope("admin"), async (c) => c.json(await analyse(c, multiCategory)))
  .get("/v1/analytics/category-performance", requireScope("admin"), async (c) =>
    c.json(await analyse(c, categoryPerformance)),
  );
