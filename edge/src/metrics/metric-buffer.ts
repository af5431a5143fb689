/**
 * An isolate's metric sums between two flushes: counters and histogram buckets added up in
 * memory, one map update per recording, drained into one batch for the MetricsAggregator. Pure
 * (no Workers API), so the metrics-cost benchmark can time it in Node.
 */
import type { MetricDefinition } from "@modelgate/shared";
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

export class MetricBuffer {
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
