/**
 * `GET /metrics`: the whole edge in Prometheus' text format, for the admin key or the metrics
 * token (`MODELGATE_METRICS_TOKEN`, so a Prometheus server needs no admin key). Counters and
 * histograms come from the MetricsAggregator (every isolate's sums, this one's flushed first);
 * gauges are read live from the pool, the registry and the conversion queue.
 */
import { EDGE_METRICS, type MetricDefinition } from "@modelgate/shared";
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.js";
import { readFleetGauges } from "../metrics/fleet-gauges.js";
import { flushIsolateMetrics, metricsAggregator } from "../metrics/isolate-metrics.js";
import type { AggregatedSeries } from "../metrics/metrics-aggregator-object.js";
import { PROMETHEUS_TEXT_CONTENT_TYPE, type RenderedSeries, renderFamily } from "../metrics/prometheus-text.js";
import { bearerTokenMatches, requireScope } from "../middleware/authenticate.js";

const requireAdmin = requireScope("admin");

/** The metrics token opens this route only; anything else must be a key with the `admin` scope. */
const requireMetricsAccess = createMiddleware<AppEnv>(async function requireMetricsAccess(c, next) {
  const metricsToken = c.get("config").MODELGATE_METRICS_TOKEN;
  if (metricsToken !== undefined && (await bearerTokenMatches(c.req.header("authorization"), metricsToken))) {
    await next();
    return;
  }
  // Awaited: a rejection returned unawaited is reported by workerd as unhandled before Hono sees it.
  await requireAdmin(c, next);
});

export const metricsRoutes = new Hono<AppEnv>().get("/metrics", requireMetricsAccess, async (c) => {
  await flushIsolateMetrics(c.env);
  const now = Date.now();
  const [aggregated, gauges] = await Promise.all([metricsAggregator(c.env).snapshot(), readFleetGauges(c.env, now)]);
  const recorded = new Map<string, RenderedSeries[]>();
  for (const series of aggregated.series) {
    const list = recorded.get(series.name) ?? [];
    list.push(renderedFrom(series));
    recorded.set(series.name, list);
  }
  const families = Object.values(EDGE_METRICS).map((metric: MetricDefinition) => {
    if (metric === EDGE_METRICS.droppedSeries) {
      return renderFamily(metric, [{ labelValues: [], value: aggregated.droppedSeries }]);
    }
    const series = metric.type === "gauge" ? (gauges.get(metric) ?? []) : (recorded.get(metric.name) ?? []);
    return renderFamily(metric, sortedByLabels(series));
  });
  return c.body(families.join(""), 200, { "content-type": PROMETHEUS_TEXT_CONTENT_TYPE, "cache-control": "no-store" });
});

function renderedFrom(series: AggregatedSeries): RenderedSeries {
  return series.kind === "counter"
    ? { labelValues: series.labelValues, value: series.value }
    : { labelValues: series.labelValues, bucketCounts: series.bucketCounts, sum: series.sum, count: series.count };
}

/** A stable order, so two scrapes diff cleanly. */
function sortedByLabels(series: RenderedSeries[]): RenderedSeries[] {
  return [...series].sort((a, b) => a.labelValues.join("\u0000").localeCompare(b.labelValues.join("\u0000")));
}
