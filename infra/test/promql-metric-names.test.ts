import { describe, expect, it } from "vitest";
import { decodePromQLString, metricNamesInPromQL } from "../src/prometheus/promql-metric-names.js";

describe("metricNamesInPromQL", () => {
  it("names the metric of a plain selector, a selector with matchers and a range selector", () => {
    expect(metricNamesInPromQL("up")).toEqual(["up"]);
    expect(metricNamesInPromQL('up{job="modelgate-edge"} == 0')).toEqual(["up"]);
    expect(metricNamesInPromQL("rate(modelgate_generation_tokens_total[5m])")).toEqual([
      "modelgate_generation_tokens_total",
    ]);
  });

  it("finds every selector inside functions, aggregations, binary operators and subqueries, once each", () => {
    const expr = `
      histogram_quantile(0.95, sum by (route, le) (rate(modelgate_edge_request_duration_seconds_bucket{route=~"/v1/.*"}[5m])))
      > 2
      and on (route)
      sum by (route) (rate(modelgate_edge_request_duration_seconds_count[5m])) > 0.05
      or max_over_time(modelgate_edge_circuit_state{state="open"}[10m:1m]) offset 1h
      unless modelgate_edge_request_duration_seconds_count`;
    expect(metricNamesInPromQL(expr)).toEqual([
      "modelgate_edge_request_duration_seconds_bucket",
      "modelgate_edge_request_duration_seconds_count",
      "modelgate_edge_circuit_state",
    ]);
  });

  it("does not mistake label names, grouping labels, function names or string contents for metrics", () => {
    const expr =
      'label_replace(sum by (worker_id) (modelgate_edge_worker_live{worker_id!="rate"}), "x", "$1", "worker_id", "(sum)")';
    expect(metricNamesInPromQL(expr)).toEqual(["modelgate_edge_worker_live"]);
    expect(metricNamesInPromQL("vector(1) + time()")).toEqual([]);
  });

  it("reads the metric name from a __name__ equality matcher and from Prometheus 3's quoted name", () => {
    expect(metricNamesInPromQL('{__name__="modelgate_loaded_models", job="modelgate-worker"}')).toEqual([
      "modelgate_loaded_models",
    ]);
    expect(metricNamesInPromQL("sum(rate({__name__='modelgate_prompt_tokens_total'}[1m]))")).toEqual([
      "modelgate_prompt_tokens_total",
    ]);
    expect(metricNamesInPromQL('{"modelgate.dotted_name", job="x"}')).toEqual(["modelgate.dotted_name"]);
    expect(metricNamesInPromQL('{"__name__"="modelgate_quoted_label"}')).toEqual(["modelgate_quoted_label"]);
  });

  it("returns no name for a __name__ regex or negative matcher (it names no single metric)", () => {
    expect(metricNamesInPromQL('{__name__=~"modelgate_.*"}')).toEqual([]);
    expect(metricNamesInPromQL('{__name__!="up", job="x"}')).toEqual([]);
  });

  it("throws on a syntax error, naming line and column", () => {
    expect(() => metricNamesInPromQL("rate(modelgate_generation_tokens_total[5m]")).toThrow(
      /PromQL syntax error at line 1, column 43 at the end of the expression/,
    );
    expect(() => metricNamesInPromQL("sum(up)\n  + * 2")).toThrow(/line 2, column 5 near "\* 2"/);
    expect(() => metricNamesInPromQL("rate(up[$__rate_interval])")).toThrow(/PromQL syntax error/);
    expect(() => metricNamesInPromQL("no_such_function(up)")).toThrow(/PromQL syntax error/);
    expect(() => metricNamesInPromQL("  ")).toThrow(/empty/);
  });
});

describe("decodePromQLString", () => {
  it("decodes the three quote styles with Go's escapes", () => {
    expect(decodePromQLString('"a\\"b\\n"')).toBe('a"b\n');
    expect(decodePromQLString("'it\\'s'")).toBe("it's");
    expect(decodePromQLString("`raw\\n`")).toBe("raw\\n");
    expect(decodePromQLString('"\\x41\\u00e9\\101"')).toBe("AéA");
  });
});
