import { describe, expect, it } from "vitest";
import {
  evaluateRolloutGuard,
  type Rollout,
  RolloutRequestSchema,
  type RolloutWindowStats,
  rolloutArmFor,
} from "../src/index.js";

const STARTED = "2026-01-01T00:00:00.000Z";
const rollout = (overrides: Partial<Rollout> = {}): Rollout => ({
  id: "2.1",
  baseline: 1,
  candidate: 2,
  status: "active",
  steps: [10, 50, 100],
  step_index: 0,
  percent: 10,
  guard: { max_error_rate: 0.1, max_p95_ms: 500, min_judge_score: 0.7, window: 60, min_requests: 10 },
  sticky: "key",
  started_at: STARTED,
  started_by: "admin",
  step_started_at: STARTED,
  updated_at: STARTED,
  ...overrides,
});
const stats = (overrides: Partial<RolloutWindowStats> = {}): RolloutWindowStats => ({
  from: STARTED,
  to: STARTED,
  requests: 20,
  errors: 0,
  error_rate: 0,
  p95_ms: 100,
  judged: 0,
  mean_judge_score: null,
  ...overrides,
});
const AFTER_WINDOW = Date.parse(STARTED) + 61_000;

describe("rolloutArmFor", () => {
  it("is deterministic per sticky value and close to the asked share over many values", () => {
    const arms = Array.from({ length: 10_000 }, (_, i) => rolloutArmFor({ id: "2.1", percent: 10 }, `key-${i}`));
    const share = arms.filter((arm) => arm === "candidate").length / arms.length;
    expect(share).toBeGreaterThan(0.09);
    expect(share).toBeLessThan(0.11);
    expect(rolloutArmFor({ id: "2.1", percent: 10 }, "key-7")).toBe(arms[7]);
    expect(rolloutArmFor({ id: "2.1", percent: 100 }, "anything")).toBe("candidate");
  });

  it("raising the share only moves values to the candidate, never back", () => {
    for (let i = 0; i < 2000; i++) {
      if (rolloutArmFor({ id: "2.1", percent: 10 }, `k${i}`) === "candidate") {
        expect(rolloutArmFor({ id: "2.1", percent: 50 }, `k${i}`)).toBe("candidate");
      }
    }
  });
});

describe("evaluateRolloutGuard", () => {
  it("rolls back on any broken threshold, naming each, even before the step's window is over", () => {
    const verdict = evaluateRolloutGuard(
      rollout(),
      stats({ errors: 5, error_rate: 0.25, p95_ms: 900, judged: 4, mean_judge_score: 0.5 }),
      Date.parse(STARTED) + 1000,
    );
    expect(verdict.kind).toBe("rollback");
    expect(verdict.reason).toContain("error rate 0.25 (5 of 20) is above max_error_rate 0.1");
    expect(verdict.reason).toContain("p95 latency 900 ms is above max_p95_ms 500");
    expect(verdict.reason).toContain("mean judge score 0.5 over 4 judged requests is below min_judge_score 0.7");
  });

  it("holds until the step has lasted a window and seen min_requests, then advances, then completes", () => {
    expect(evaluateRolloutGuard(rollout(), stats(), Date.parse(STARTED) + 1000).kind).toBe("hold");
    const quiet = evaluateRolloutGuard(rollout(), stats({ requests: 3 }), AFTER_WINDOW);
    expect(quiet).toEqual({ kind: "hold", reason: expect.stringContaining("3 of 10 candidate requests") });
    expect(evaluateRolloutGuard(rollout(), stats(), AFTER_WINDOW)).toEqual({
      kind: "advance",
      reason: "guard held at 10% over 20 requests; advancing to 50%",
    });
    expect(evaluateRolloutGuard(rollout({ step_index: 2, percent: 100 }), stats(), AFTER_WINDOW).kind).toBe("complete");
  });
});

describe("RolloutRequestSchema", () => {
  it("applies the defaults and names the field of a bad step or percent", () => {
    const parsed = RolloutRequestSchema.parse({ candidate: 4 });
    expect(parsed).toMatchObject({ steps: [10, 50, 100], sticky: "key", guard: { max_error_rate: 0.05, window: 60 } });
    const bad = RolloutRequestSchema.safeParse({ candidate: 4, percent: 20, steps: [10, 5, 100] });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((issue) => issue.path.join("."))).toEqual(["steps.1", "percent"]);
  });
});
