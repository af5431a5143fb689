/**
 * The edge's recording side. Isolates are many and short-lived, so each one adds up what it
 * saw in memory (a map update: recording never awaits anything on the request path) and hands
 * the sums to the MetricsAggregator Durable Object once per `MODELGATE_METRICS_FLUSH_MS` window,
 * from `waitUntil`, after the response. The aggregator adds every isolate's sums, so one scrape
 * sees the whole edge: counts are exact, not sampled, once the window has been flushed.
 */
import type { Context } from "hono";
import type { AppEnv, EdgeBindings, EdgeConfig } from "../env.js";
import { logEvent } from "../logging/edge-log.js";
import { MetricBuffer } from "./metric-buffer.js";

/** This isolate's sums since its last flush. */
export const isolateMetrics = new MetricBuffer();

export function metricsAggregator(env: EdgeBindings) {
  return env.METRICS.get(env.METRICS.idFromName("global"));
}

/** Sends what this isolate holds to the aggregator now (the scrape route does, before it reads). */
export async function flushIsolateMetrics(env: EdgeBindings): Promise<void> {
  const batch = isolateMetrics.drain();
  if (batch === undefined) return;
  try {
    await metricsAggregator(env).ingest(batch);
    return;
  } catch {
    // A Durable Object can be briefly unavailable (restarted, moved): one retry on a fresh stub.
  }
  try {
    await metricsAggregator(env).ingest(batch);
  } catch (error) {
    logEvent("warn", "edge metrics not delivered to the aggregator", {
      counters: batch.counters.length,
      histograms: batch.histograms.length,
      error,
    });
  }
}

let flushScheduled = false;

/**
 * Called after a request recorded something: the first request of a window holds it open with
 * `waitUntil` and flushes when it closes, so an isolate costs the aggregator one call per window
 * however many requests it serves. Without an execution context (tests' `app.request`) the sums
 * wait for the next request that has one, or for a scrape.
 */
export function scheduleMetricsFlush(c: Context<AppEnv>): void {
  if (flushScheduled || isolateMetrics.isEmpty) return;
  const config = c.get("config") as EdgeConfig | undefined;
  const windowMs = config?.MODELGATE_METRICS_FLUSH_MS ?? 0;
  let executionCtx: Context<AppEnv>["executionCtx"];
  try {
    executionCtx = c.executionCtx;
  } catch {
    return;
  }
  flushScheduled = true;
  const env = c.env;
  executionCtx.waitUntil(
    (windowMs > 0 ? new Promise((resolve) => setTimeout(resolve, windowMs)) : Promise.resolve()).then(() => {
      flushScheduled = false;
      return flushIsolateMetrics(env);
    }),
  );
}
