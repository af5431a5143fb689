import { describe, expect, it } from "vitest";
import {
  AnalyticsWindowQuerySchema,
  MAX_ANALYTICS_WINDOW_MS,
  resolveAnalyticsWindow,
  SelectionEventSchema,
} from "../src/selection-analytics.js";

const NOW = Date.parse("2025-06-02T00:00:00Z");

function resolve(query: Record<string, string>) {
  return resolveAnalyticsWindow(AnalyticsWindowQuerySchema.parse(query), NOW);
}

describe("resolveAnalyticsWindow", () => {
  it("defaults to the 24 hours before now", () => {
    const resolved = resolve({});
    expect(resolved.ok && resolved.value.window).toEqual({
      from: "2025-06-01T00:00:00.000Z",
      to: "2025-06-02T00:00:00.000Z",
    });
  });

  it("counts a lone `from` up to now and a lone `to` back 24 hours", () => {
    const fromOnly = resolve({ from: "2025-05-31T00:00:00Z" });
    expect(fromOnly.ok && fromOnly.value.toMs).toBe(NOW);
    const toOnly = resolve({ to: "2025-05-20T12:00:00+02:00" });
    expect(toOnly.ok && toOnly.value.window).toEqual({
      from: "2025-05-19T10:00:00.000Z",
      to: "2025-05-20T10:00:00.000Z",
    });
  });

  it("names `to` when it is not after `from`, and `from` when the window is too long", () => {
    const backwards = resolve({ from: "2025-06-01T00:00:00Z", to: "2025-06-01T00:00:00Z" });
    expect(!backwards.ok && backwards.error.fieldErrors).toEqual([{ field: "to", message: "must be later than from" }]);
    const long = resolveAnalyticsWindow({ from: new Date(NOW - MAX_ANALYTICS_WINDOW_MS - 1).toISOString() }, NOW);
    expect(!long.ok && long.error.fieldErrors?.map((e) => e.field)).toEqual(["from"]);
    expect(resolveAnalyticsWindow({ from: new Date(NOW - MAX_ANALYTICS_WINDOW_MS).toISOString() }, NOW).ok).toBe(true);
  });
});

describe("AnalyticsWindowQuerySchema", () => {
  it("takes timestamps with a zone and bare dates, refuses the rest", () => {
    for (const good of ["2025-06-01", "2025-06-01T10:00Z", "2025-06-01T10:00:00.123+05:30"]) {
      expect(AnalyticsWindowQuerySchema.safeParse({ from: good }).success, good).toBe(true);
    }
    for (const bad of ["yesterday", "2025-06-01T10:00:00", "1717200000000", "2025-13-01"]) {
      expect(AnalyticsWindowQuerySchema.safeParse({ from: bad }).success, bad).toBe(false);
    }
    expect(AnalyticsWindowQuerySchema.safeParse({ since: "2025-06-01" }).success).toBe(false);
  });
});

describe("SelectionEventSchema", () => {
  it("wants name@version for the selected model", () => {
    const base = {
      timestamp: "2025-06-01T00:00:00Z",
      task_category: null,
      selected_model: "demo-lm@3",
      primary_category: null,
      confidence_score: null,
      final_score: 0.5,
      gpu_id: 0,
      worker_id: "w",
      selection_duration_ms: 0,
      route: "/v1/generate",
      outcome: "ok",
      status: 200,
      latency_ms: 12.5,
      tokens: null,
      request_id: "r",
    };
    expect(SelectionEventSchema.safeParse(base).success).toBe(true);
    expect(SelectionEventSchema.safeParse({ ...base, selected_model: "demo-lm@production" }).success).toBe(false);
  });
});
