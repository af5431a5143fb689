/**
 * Prometheus text exposition format 0.0.4, written by hand: prom-client is built for Node's
 * process model, and the edge has a catalogue of families with their series already.
 */
import type { MetricDefinition } from "@modelgate/shared";

export const PROMETHEUS_TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export interface RenderedSeries {
  labelValues: readonly string[];
  /** Counters and gauges. */
  value?: number;
  /** Histograms: per-bucket (not cumulative) counts, one per bound then `+Inf`. */
  bucketCounts?: readonly number[];
  sum?: number;
  count?: number;
}

export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

export function formatSampleValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

/** `{a="1",b="2"}`; labels with an empty value are left out (Prometheus treats them as absent). */
function labelSet(names: readonly string[], values: readonly string[], extra?: [string, string]): string {
  const pairs: string[] = [];
  names.forEach((name, index) => {
    const value = values[index] ?? "";
    if (value !== "") pairs.push(`${name}="${escapeLabelValue(value)}"`);
  });
  if (extra) pairs.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  return pairs.length === 0 ? "" : `{${pairs.join(",")}}`;
}

/** One family: HELP and TYPE always (so a scrape lists every metric), then its series. */
export function renderFamily(metric: MetricDefinition, series: readonly RenderedSeries[]): string {
  const lines = [`# HELP ${metric.name} ${escapeHelp(metric.help)}`, `# TYPE ${metric.name} ${metric.type}`];
  for (const one of series) {
    if (metric.type !== "histogram") {
      lines.push(`${metric.name}${labelSet(metric.labels, one.labelValues)} ${formatSampleValue(one.value ?? 0)}`);
      continue;
    }
    const bounds = metric.buckets ?? [];
    let cumulative = 0;
    bounds.forEach((bound, index) => {
      cumulative += one.bucketCounts?.[index] ?? 0;
      const labels = labelSet(metric.labels, one.labelValues, ["le", formatSampleValue(bound)]);
      lines.push(`${metric.name}_bucket${labels} ${cumulative}`);
    });
    cumulative += one.bucketCounts?.[bounds.length] ?? 0;
    lines.push(`${metric.name}_bucket${labelSet(metric.labels, one.labelValues, ["le", "+Inf"])} ${cumulative}`);
    lines.push(`${metric.name}_sum${labelSet(metric.labels, one.labelValues)} ${formatSampleValue(one.sum ?? 0)}`);
    lines.push(`${metric.name}_count${labelSet(metric.labels, one.labelValues)} ${one.count ?? cumulative}`);
  }
  return `${lines.join("\n")}\n`;
}
