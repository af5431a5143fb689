/**
 * The edge's recording side. Isolates are many and short-lived, so each one adds up what it
 * saw in memory (a map update: recording never awaits anything on the request path) and hands
 * the sums to the MetricsAggregator Durable Object once per `MODELGATE_METRICS_FLUSH_MS` window,
 * from `waitUntil`, after the response. The aggregator adds every isolate's sums, so one scrape
 * sees the whole edge: counts are exact, not sampled, once the window has been flushed.
 */
import type { MetricDefinition } from "@modelgate/shared";
import type { Context } from "hono";
import type { AppEnv, EdgeBindings, EdgeConfig } from "../env.js";
import { logEvent } from "../logging/edge-log.js";
import type { MetricsBatch } from "./metric-samples.js";
import { seriesKey } from "./metric-samples.js";

type LabelsOf<M extends MetricDefinition> = { readonly [K in M["labels"][number]]: string };

interface PendingCounter {
  name: string;
  labelValues: string[];
  value: number;
}

interface PendingHistogram {
  name: string;
  labelValues: string[];
  bounds: readonly number[];
  bucketCounts: number[];
  sum: number;
  count: number;
}

/** Bounds how much one isolate holds between flushes, whatever a label's values do. */
const MAX_PENDING_SERIES = 2000;

export class IsolateMetrics {
  #counters = new Map<string, PendingCounter>();
  #histograms = new Map<string, PendingHistogram>();

  get isEmpty(): boolean {
    return this.#counters.size === 0 && this.#histograms.size === 0;
  }

  count<M extends MetricDefinition & { type: "counter" }>(metric: M, labels: LabelsOf<M>, by = 1): void {
    const labelValues = labelValuesOf(metric, labels);
    const key = seriesKey(metric.name, labelValues);
    const pending = this.#counters.get(key);
    if (pending) {
      pending.value += by;
      return;
    }
    if (this.#size() >= MAX_PENDING_SERIES) return;
    this.#counters.set(key, { name: metric.name, labelValues, value: by });
  }

  observe<M extends MetricDefinition & { type: "histogram" }>(metric: M, labels: LabelsOf<M>, value: number): void {
    if (!Number.isFinite(value)) return;
    const labelValues = labelValuesOf(metric, labels);
    const key = seriesKey(metric.name, labelValues);
    let pending = this.#histograms.get(key);
    if (!pending) {
      if (this.#size() >= MAX_PENDING_SERIES) return;
      const bounds = metric.buckets ?? [];
      pending = {
        name: metric.name,
        labelValues,
        bounds,
        bucketCounts: new Array<number>(bounds.length + 1).fill(0),
        sum: 0,
        count: 0,
      };
      this.#histograms.set(key, pending);
    }
    let bucket = pending.bounds.findIndex((bound) => value <= bound);
    if (bucket === -1) bucket = pending.bounds.length;
    pending.bucketCounts[bucket] = (pending.bucketCounts[bucket] ?? 0) + 1;
    pending.sum += value;
    pending.count += 1;
  }

  /** Everything recorded since the last drain, and an empty buffer for what comes next. */
  drain(): MetricsBatch | undefined {
    if (this.isEmpty) return undefined;
    const batch: MetricsBatch = {
      counters: [...this.#counters.values()],
      histograms: [...this.#histograms.values()].map(({ bounds: _bounds, ...sample }) => sample),
    };
    this.#counters = new Map();
    this.#histograms = new Map();
    return batch;
  }

  #size(): number {
    return this.#counters.size + this.#histograms.size;
  }
}

function labelValuesOf(metric: MetricDefinition, labels: Readonly<Record<string, string>>): string[] {
  return metric.labels.map((label) => labels[label] ?? "");
}

/** This isolate's sums since its last flush. */
export const isolateMetrics = new IsolateMetrics();

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
