import { DurableObject } from "cloudflare:workers";
import type { EdgeBindings } from "../env.js";
import { logEvent } from "../logging/edge-log.js";
import type { CounterSample, HistogramSample, MetricsBatch } from "./metric-samples.js";
import { sampleProblem, seriesKey } from "./metric-samples.js";

/** One series as the aggregator holds it: a counter's total, or a histogram's bucket totals. */
export type AggregatedSeries =
  | { kind: "counter"; name: string; labelValues: string[]; value: number }
  | { kind: "histogram"; name: string; labelValues: string[]; bucketCounts: number[]; sum: number; count: number };

/** A label with runaway values must not grow the table without bound; past this, new series are counted and dropped. */
const MAX_SERIES = 20_000;

const SCHEMA = `CREATE TABLE IF NOT EXISTS metric_series (
  series_key TEXT PRIMARY KEY,
  doc TEXT NOT NULL
)`;

/**
 * The edge's counters and histograms, added up over every isolate (one instance, "global").
 * Each isolate sends its sums once per flush window; this object adds them in memory and writes
 * the changed series to its SQLite storage in the same turn, so a restart keeps the totals and
 * Prometheus sees no counter reset. Scrapes read the in-memory copy.
 */
export class MetricsAggregator extends DurableObject<EdgeBindings> {
  private readonly series = new Map<string, AggregatedSeries>();
  private droppedSeries = 0;

  constructor(ctx: DurableObjectState, env: EdgeBindings) {
    super(ctx, env);
    ctx.storage.sql.exec(SCHEMA);
    for (const row of ctx.storage.sql.exec<{ series_key: string; doc: string }>(
      "SELECT series_key, doc FROM metric_series",
    )) {
      this.series.set(row.series_key, JSON.parse(row.doc) as AggregatedSeries);
    }
  }

  async ingest(batch: MetricsBatch): Promise<void> {
    const changed = new Set<string>();
    for (const sample of batch.counters) this.addCounter(sample, changed);
    for (const sample of batch.histograms) this.addHistogram(sample, changed);
    if (changed.size === 0) return;
    const sql = this.ctx.storage.sql;
    this.ctx.storage.transactionSync(() => {
      for (const key of changed) {
        const series = this.series.get(key);
        if (series === undefined) continue;
        sql.exec(
          "INSERT INTO metric_series (series_key, doc) VALUES (?, ?) ON CONFLICT (series_key) DO UPDATE SET doc = excluded.doc",
          key,
          JSON.stringify(series),
        );
      }
    });
  }

  /** Every series, and how many were refused for want of room. */
  async snapshot(): Promise<{ series: AggregatedSeries[]; droppedSeries: number }> {
    return { series: [...this.series.values()], droppedSeries: this.droppedSeries };
  }

  private addCounter(sample: CounterSample, changed: Set<string>): void {
    const problem = sampleProblem(sample, "counter");
    if (problem !== undefined || !(sample.value >= 0)) {
      logEvent("warn", "metrics aggregator refused a counter sample", { problem: problem ?? "negative increment" });
      return;
    }
    const key = seriesKey(sample.name, sample.labelValues);
    const existing = this.series.get(key);
    if (existing?.kind === "counter") existing.value += sample.value;
    else if (!this.hasRoom()) return;
    else
      this.series.set(key, {
        kind: "counter",
        name: sample.name,
        labelValues: sample.labelValues,
        value: sample.value,
      });
    changed.add(key);
  }

  private addHistogram(sample: HistogramSample, changed: Set<string>): void {
    const problem = sampleProblem(sample, "histogram");
    if (problem !== undefined) {
      logEvent("warn", "metrics aggregator refused a histogram sample", { problem });
      return;
    }
    const key = seriesKey(sample.name, sample.labelValues);
    const existing = this.series.get(key);
    if (existing?.kind === "histogram") {
      sample.bucketCounts.forEach((count, bucket) => {
        existing.bucketCounts[bucket] = (existing.bucketCounts[bucket] ?? 0) + count;
      });
      existing.sum += sample.sum;
      existing.count += sample.count;
    } else if (!this.hasRoom()) {
      return;
    } else {
      this.series.set(key, {
        kind: "histogram",
        name: sample.name,
        labelValues: sample.labelValues,
        bucketCounts: [...sample.bucketCounts],
        sum: sample.sum,
        count: sample.count,
      });
    }
    changed.add(key);
  }

  private hasRoom(): boolean {
    if (this.series.size < MAX_SERIES) return true;
    this.droppedSeries++;
    return false;
  }
}
