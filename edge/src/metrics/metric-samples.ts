/**
 * What an isolate hands the MetricsAggregator: counter increments and histogram observations
 * accumulated since its last flush, as plain data (structured-clone friendly for the RPC call).
 * Label values are in the order the catalogue lists the metric's labels.
 */
import { EDGE_METRICS, type MetricDefinition } from "@modelgate/shared";

export interface CounterSample {
  name: string;
  labelValues: string[];
  value: number;
}

export interface HistogramSample {
  name: string;
  labelValues: string[];
  /** Observations per bucket, not cumulative: one entry per catalogue bucket, then `+Inf`. */
  bucketCounts: number[];
  sum: number;
  count: number;
}

export interface MetricsBatch {
  counters: CounterSample[];
  histograms: HistogramSample[];
}

const EDGE_METRIC_BY_NAME: ReadonlyMap<string, MetricDefinition> = new Map(
  Object.values(EDGE_METRICS).map((metric) => [metric.name, metric]),
);

export function edgeMetricNamed(name: string): MetricDefinition | undefined {
  return EDGE_METRIC_BY_NAME.get(name);
}

/** One series' identity: metric name and label values (label values may hold any character). */
export function seriesKey(name: string, labelValues: readonly string[]): string {
  return `${name}${JSON.stringify(labelValues)}`;
}

/** Why a sample does not fit the catalogue, or undefined when it does. */
export function sampleProblem(
  sample: CounterSample | HistogramSample,
  kind: "counter" | "histogram",
): string | undefined {
  const metric = edgeMetricNamed(sample.name);
  if (metric === undefined) return `${sample.name} is not an edge metric`;
  if (metric.type !== kind) return `${sample.name} is a ${metric.type}, not a ${kind}`;
  if (sample.labelValues.length !== metric.labels.length) return `${sample.name} takes ${metric.labels.length} labels`;
  if (sample.labelValues.some((value) => typeof value !== "string" || value.length > 256)) {
    return `${sample.name} has a label value that is not a string of at most 256 characters`;
  }
  if (kind === "histogram") {
    const histogram = sample as HistogramSample;
    if (histogram.bucketCounts.length !== (metric.buckets?.length ?? 0) + 1) return `${sample.name} bucket count`;
  }
  return undefined;
}
