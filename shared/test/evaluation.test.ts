import { describe, expect, it } from "vitest";
import { compareEvaluationTargets } from "../src/evaluation/evaluation-compare.js";
import { parseEvaluationDataset } from "../src/evaluation/evaluation-dataset.js";
import { type EvaluationResult, percentile, reportTarget } from "../src/evaluation/evaluation-report.js";

function row(line: number, target: string, overrides: Partial<EvaluationResult> = {}): EvaluationResult {
  return {
    line,
    target,
    text: "",
    finish_reason: "eos",
    stop_reason: "no_judge",
    refinement_loops: 1,
    judge_score: null,
    judge_passed: null,
    halt_probability: null,
    latent_spans_used: 0,
    ces_tokens_total: 10,
    tokens_generated: 5,
    latency_ms: 100,
    passed: null,
    ...overrides,
  };
}

describe("evaluation datasets", () => {
  it("parses prompt and messages lines with every kind of expectation, skipping blank lines", () => {
    const parsed = parseEvaluationDataset(
      [
        JSON.stringify({ prompt: "a", expected: "x" }),
        "",
        JSON.stringify({ messages: [{ role: "user", content: "b" }], expected: { type: "regex", pattern: "^y" } }),
        JSON.stringify({ prompt: "c", expected: { type: "json_schema", schema: { type: "object" }, enforce: true } }),
      ].join("\n"),
    );
    expect(parsed.ok && parsed.lines.map((line) => line.expected)).toEqual([
      "x",
      { type: "regex", pattern: "^y" },
      { type: "json_schema", schema: { type: "object" } },
    ]);
  });

  it("names each bad line and field, counting lines from 1 as an editor does", () => {
    const parsed = parseEvaluationDataset(`{"prompt":"a"}\n\n{"prompt":"b","extra":1}\n[`);
    expect(parsed.ok ? [] : parsed.problems.map((problem) => problem.field)).toEqual(["lines.3", "lines.4"]);
    expect(parseEvaluationDataset("\n\n")).toEqual({
      ok: false,
      problems: [{ field: "lines", message: "the dataset has no lines" }],
    });
  });
});

describe("evaluation reports", () => {
  it("computes seed 000's figures from the rows alone", () => {
    const rows = [
      row(1, "m@1", {
        passed: true,
        exact_match: true,
        judge_score: 0.9,
        halt_probability: 0.8,
        finish_reason: "halt",
        latency_ms: 10,
      }),
      row(2, "m@1", { passed: false, exact_match: false, judge_score: 0.5, halt_probability: 0.2, latency_ms: 30 }),
      row(3, "m@1", { latency_ms: 20, refinement_loops: 3, latent_spans_used: 2, ces_tokens_total: 40 }),
      row(4, "m@1", { error: "refused", passed: false, tokens_generated: 0, ces_tokens_total: 0, latency_ms: 1 }),
    ];
    expect(reportTarget("m@1", rows)).toEqual({
      target: "m@1",
      lines: 4,
      errors: 1,
      checked: 3,
      passed: 1,
      pass_rate: 0.3333,
      mean_judge_score: 0.7,
      exact_match_rate: 0.5,
      regex_match_rate: null,
      schema_valid_rate: null,
      mean_refinement_loops: 1.6667,
      mean_latent_spans: 0.6667,
      mean_halt_probability: 0.5,
      halt_rate: 0.3333,
      ces_tokens_total: 60,
      mean_ces_tokens: 20,
      latency_ms_p50: 20,
      latency_ms_p95: 30,
      tokens_per_second: 250,
    });
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([], 95)).toBe(0);
  });
});

describe("comparing two targets", () => {
  const lines = Array.from({ length: 40 }, (_, index) => index + 1);

  it("calls a clear difference significant, with an interval around it", () => {
    const rows = lines.flatMap((line) => [
      row(line, "a", { passed: line % 4 === 0 }),
      row(line, "b", { passed: line % 4 !== 1 }),
    ]);
    const pass = compareEvaluationTargets(rows, "a", "b").metrics.find((metric) => metric.metric === "pass_rate");
    expect(pass).toMatchObject({ paired: 40, a: 0.25, b: 0.75, difference: 0.5, significant: true });
    const [low, high] = pass?.ci95 ?? [0, 0];
    expect(low).toBeGreaterThan(0.25);
    expect(high).toBeLessThan(0.75);
  });

  it("calls identical targets not significant, and the same seed gives the same interval", () => {
    const rows = lines.flatMap((line) => [
      row(line, "a", { passed: line % 2 === 0, latency_ms: line }),
      row(line, "b", { passed: line % 2 === 0, latency_ms: line }),
    ]);
    const first = compareEvaluationTargets(rows, "a", "b", { seed: 5 });
    expect(first.metrics.find((metric) => metric.metric === "pass_rate")).toMatchObject({
      difference: 0,
      ci95: [0, 0],
      significant: false,
    });
    const noisy = lines.flatMap((line) => [
      row(line, "a", { latency_ms: line }),
      row(line, "b", { latency_ms: 41 - line }),
    ]);
    const once = compareEvaluationTargets(noisy, "a", "b", { seed: 5 });
    expect(compareEvaluationTargets(noisy, "a", "b", { seed: 5 })).toEqual(once);
    expect(once.metrics.find((metric) => metric.metric === "latency_ms")?.significant).toBe(false);
    // Lines only one target answered do not pair up.
    expect(compareEvaluationTargets([row(1, "a")], "a", "b").metrics[0]).toMatchObject({
      paired: 0,
      significant: false,
    });
  });
});
