/**
 * Canary rollouts (issue 16) inside workerd: the split on real routing, the guard evaluated by
 * the model's RolloutGuard alarm from real D1 events, every step in the model's R2 history.
 */
import { env, runDurableObjectAlarm } from "cloudflare:test";
import type { HistoryEvent, RolloutView, SelectionEvent } from "@modelgate/shared";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { writeSelectionEvents } from "../src/analytics/selection-events.js";
import { rolloutGuard } from "../src/rollouts/rollout-guard-object.js";
import { conversionOutcome, recordConversion } from "./support/converted-formats.js";
import {
  ADMIN,
  call,
  causalLmRegistration,
  expectProblem,
  registerAndPromote,
  resetEdge,
  sendHeartbeat,
  tensorRegistration,
} from "./support/requests.js";

function analyticsDb(): D1Database {
  if (!env.ANALYTICS) throw new Error("the ANALYTICS D1 binding is missing from wrangler.toml");
  return env.ANALYTICS;
}

/** Selection events this test made (routed requests write theirs after responding) or stored itself. */
let expectedEvents = 0;

async function insertEvents(events: SelectionEvent[]): Promise<void> {
  expectedEvents += events.length;
  await writeSelectionEvents(analyticsDb(), events);
}

async function storedEvents(): Promise<number> {
  const row = await analyticsDb().prepare("SELECT COUNT(*) AS n FROM selection_events").first<{ n: number }>();
  return row?.n ?? 0;
}

// Wait for the last requests' events before the storage is reset under them.
afterEach(async () => {
  for (let tries = 0; expectedEvents > 0 && (await storedEvents()) < expectedEvents && tries < 100; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expectedEvents = 0;
  await resetEdge();
});

async function register(name: string, registration = tensorRegistration()): Promise<number> {
  const response = await call("POST", `/v1/models/${name}/versions`, { key: ADMIN, body: registration });
  expect(response.status, await response.clone().text()).toBe(201);
  return ((await response.json()) as { version: number }).version;
}

async function startRollout(name: string, body: Record<string, unknown>, key: string = ADMIN): Promise<Response> {
  return call("POST", `/v1/models/${name}/rollouts`, { key, body });
}

async function started(name: string, body: Record<string, unknown>): Promise<RolloutView> {
  const response = await startRollout(name, body);
  expect(response.status, await response.clone().text()).toBe(201);
  return (await response.json()) as RolloutView;
}

async function currentRollout(name: string): Promise<RolloutView> {
  const response = await call("GET", `/v1/models/${name}/rollouts/current`, { key: ADMIN });
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as RolloutView;
}

async function history(name: string): Promise<HistoryEvent[]> {
  const response = await call("GET", `/v1/models/${name}/history`, { key: ADMIN });
  return ((await response.json()) as { events: HistoryEvent[] }).events;
}

/** Runs the model's guard alarm now, as the scheduler would at the end of the window. */
async function evaluateGuard(name: string): Promise<void> {
  expect(await runDurableObjectAlarm(rolloutGuard(env, name))).toBe(true);
}

function candidateEvent(name: string, version: number, overrides: Partial<SelectionEvent>): SelectionEvent {
  return {
    timestamp: new Date().toISOString(),
    task_category: null,
    selected_model: `${name}@${version}`,
    primary_category: null,
    confidence_score: null,
    final_score: 1,
    gpu_id: 0,
    worker_id: "gpu-box-1",
    selection_duration_ms: 0.1,
    route: "/v1/predict",
    outcome: "ok",
    status: 200,
    latency_ms: 20,
    tokens: null,
    request_id: crypto.randomUUID(),
    ...overrides,
  };
}

const predict = (model: string, requestId?: string) => {
  expectedEvents += 1;
  return call("POST", "/v1/predict", {
    key: ADMIN,
    body: { model, data: [[0.5, 0.3]] },
    ...(requestId === undefined ? {} : { headers: { "x-request-id": requestId } }),
  });
};

beforeEach(async () => {
  await registerAndPromote("spirals", tensorRegistration());
  await register("spirals");
  await sendHeartbeat({ worker_id: "gpu-box-1", url: inject("standInWorkerUrl") });
});

describe("POST /v1/models/:name/rollouts", () => {
  it("splits name and name@production by request id, headers naming the arm; explicit versions are never split", async () => {
    const rollout = await started("spirals", { candidate: 2, steps: [20, 100], sticky: "request" });
    expect(rollout).toMatchObject({ model: "spirals", baseline: 1, candidate: 2, status: "active", percent: 20 });
    expect(Date.parse(rollout.next_evaluation_at ?? "")).toBeGreaterThan(Date.now());
    const served: string[] = [];
    for (let i = 0; i < 20; i++) {
      const response = await predict(i % 2 === 0 ? "spirals" : "spirals@production", `split-request-${i}`);
      expect(response.status).toBe(200);
      const model = response.headers.get("x-modelgate-model");
      expect(response.headers.get("x-modelgate-rollout")).toBe(rollout.id);
      expect(response.headers.get("x-modelgate-rollout-arm")).toBe(model === "spirals@2" ? "candidate" : "production");
      served.push(model ?? "");
    }
    // The share over many requests is measured through the real stack (test/e2e/canary-rollouts.test.ts).
    expect(new Set(served)).toEqual(new Set(["spirals@1", "spirals@2"]));
    // The same request id always lands on the same arm.
    const again = await predict("spirals", "split-request-0");
    expect(again.headers.get("x-modelgate-model")).toBe(served[0]);
    const explicit = await predict("spirals@1");
    expect(explicit.headers.get("x-modelgate-model")).toBe("spirals@1");
    expect(explicit.headers.get("x-modelgate-rollout-arm")).toBeNull();
  });

  it("sticks to the caller's key by default", async () => {
    const rollout = await started("spirals", { candidate: 2, percent: 50, steps: [50, 100] });
    expect(rollout.sticky).toBe("key");
    const arms = new Set<string | null>();
    for (let i = 0; i < 6; i++)
      arms.add((await predict("spirals", `key-request-${i}`)).headers.get("x-modelgate-rollout-arm"));
    expect(arms.size).toBe(1);
  });

  it("refuses bad input naming the field, and writes nothing", async () => {
    const badSteps = await expectProblem(await startRollout("spirals", { candidate: 2, steps: [50, 10] }), 400);
    expect(badSteps.errors?.map((e) => e.field)).toEqual(["steps.1"]);
    const badPercent = await expectProblem(await startRollout("spirals", { candidate: 2, percent: 30 }), 400);
    expect(badPercent.errors?.map((e) => e.field)).toEqual(["percent"]);
    const badGuard = await expectProblem(
      await startRollout("spirals", { candidate: 2, guard: { max_error_rate: 2, window: 0 } }),
      400,
    );
    expect(badGuard.errors?.map((e) => e.field).sort()).toEqual(["guard.max_error_rate", "guard.window"]);
    const missing = await expectProblem(await startRollout("spirals", { candidate: 9 }), 404);
    expect(missing.errors?.map((e) => e.field)).toEqual(["candidate"]);
    const production = await expectProblem(await startRollout("spirals", { candidate: 1 }), 400);
    expect(production.errors?.map((e) => e.field)).toEqual(["candidate"]);
    await register("spirals", causalLmRegistration());
    const otherKind = await expectProblem(await startRollout("spirals", { candidate: 3 }), 400);
    expect(otherKind.detail).toContain("causal-lm");
    // A candidate that failed its must-pass gates could never be promoted at the end.
    await recordConversion("spirals", 2, await conversionOutcome("job-rollout", {}, ["T1024_numeric"]));
    const gates = await expectProblem(await startRollout("spirals", { candidate: 2 }), 422);
    expect([gates.code, gates.errors?.map((e) => e.field)]).toEqual(["gate_failed", ["candidate"]]);
    await register("spirals");
    expect(await expectProblem(await startRollout("no-such-model", { candidate: 1 }), 404)).toMatchObject({
      code: "not_found",
    });
    expect((await history("spirals")).filter((e) => e.action.startsWith("rollout_"))).toEqual([]);
    await expectProblem(await call("GET", "/v1/models/spirals/rollouts/current", { key: ADMIN }), 404);
    // One rollout at a time.
    await started("spirals", { candidate: 4 });
    expect((await expectProblem(await startRollout("spirals", { candidate: 4 }), 409)).code).toBe("conflict");
  });

  it("needs models:write to start or steer and models:read to look; a missing key is 401", async () => {
    const create = await call("POST", "/v1/keys", { key: ADMIN, body: { name: "reader", scopes: ["models:read"] } });
    const reader = ((await create.json()) as { key: string }).key;
    expect((await expectProblem(await startRollout("spirals", { candidate: 2 }, reader), 403)).code).toBe("forbidden");
    await started("spirals", { candidate: 2 });
    const pause = await call("POST", "/v1/models/spirals/rollouts/current/pause", { key: reader, body: {} });
    expect(pause.status).toBe(403);
    expect((await call("GET", "/v1/models/spirals/rollouts/current", { key: reader })).status).toBe(200);
    expect((await call("GET", "/v1/models/spirals/rollouts/current")).status).toBe(401);
    expect((await currentRollout("spirals")).status).toBe("active");
  });
});

describe("the guard", () => {
  it("rolls a failing candidate back on its own, with the reason in the history, and traffic returns", async () => {
    const rollout = await started("spirals", {
      candidate: 2,
      percent: 50,
      steps: [50, 100],
      sticky: "request",
      guard: { max_error_rate: 0.1, window: 30, min_requests: 5 },
    });
    await insertEvents([
      ...Array.from({ length: 6 }, () => candidateEvent("spirals", 2, { outcome: "upstream_error", status: 502 })),
      ...Array.from({ length: 4 }, () => candidateEvent("spirals", 2, {})),
      // The caller's own mistakes and another version's failures are not the candidate's.
      ...Array.from({ length: 20 }, () => candidateEvent("spirals", 2, { outcome: "client_error", status: 400 })),
      ...Array.from({ length: 20 }, () => candidateEvent("spirals", 1, { outcome: "upstream_error", status: 502 })),
    ]);
    await evaluateGuard("spirals");
    const after = await currentRollout("spirals");
    expect(after).toMatchObject({ id: rollout.id, status: "rolled_back", percent: 0, next_evaluation_at: null });
    expect(after.reason).toBe("guard broke at 50%: error rate 0.6 (6 of 10) is above max_error_rate 0.1");
    expect(after.last_evaluation).toMatchObject({ requests: 10, errors: 6 });
    const events = (await history("spirals")).filter((e) => e.action.startsWith("rollout_"));
    expect(events.map((e) => [e.action, e.from, e.to])).toEqual([
      ["rollout_started", "0%", "50%"],
      ["rollout_rolled_back", "50%", "0%"],
    ]);
    expect(events[1]?.reason).toBe(after.reason);
    expect(events[1]?.by).toBe("rollout-guard");
    for (let i = 0; i < 5; i++) {
      const response = await predict("spirals", `after-request-${i}`);
      expect(response.headers.get("x-modelgate-model")).toBe("spirals@1");
      expect(response.headers.get("x-modelgate-rollout-arm")).toBeNull();
    }
    // The alarm does not come back for a finished rollout.
    expect(await runDurableObjectAlarm(rolloutGuard(env, "spirals"))).toBe(false);
  });

  it("advances only after a whole window with min_requests candidate requests in it", async () => {
    await started("spirals", {
      candidate: 2,
      steps: [30, 100],
      sticky: "request",
      guard: { max_p95_ms: 1000, window: 1, min_requests: 3 },
    });
    const healthy = () => insertEvents(Array.from({ length: 4 }, () => candidateEvent("spirals", 2, {})));
    await healthy();
    // Too soon: the step has not lasted its window, so nothing moves.
    await evaluateGuard("spirals");
    expect(await currentRollout("spirals")).toMatchObject({ status: "active", percent: 30 });
    await new Promise((resolve) => setTimeout(resolve, 1050));
    // The figures are the last window's: what came before it no longer counts.
    await evaluateGuard("spirals");
    expect(await currentRollout("spirals")).toMatchObject({
      percent: 30,
      reason: "waiting for traffic: 0 of 3 candidate requests in the window",
    });
    await healthy();
    await evaluateGuard("spirals");
    const advanced = await currentRollout("spirals");
    expect(advanced).toMatchObject({ status: "active", percent: 100, step_index: 1 });
    expect(advanced.last_evaluation).toMatchObject({ requests: 4, errors: 0, p95_ms: 20 });
    expect(Date.parse(advanced.next_evaluation_at ?? "")).toBeGreaterThan(Date.now());
    const actions = (await history("spirals")).slice(-2).map((e) => [e.action, e.version, e.to, e.reason]);
    expect(actions).toEqual([
      ["rollout_started", 2, "30%", "canary of version 2 against 1; steps 30% → 100%"],
      ["rollout_advanced", 2, "100%", "guard held at 30% over 4 requests; advancing to 100%"],
    ]);
    // After the last step the candidate is promoted: test/e2e/canary-rollouts.test.ts.
    expect((await predict("spirals", "advanced-request")).headers.get("x-modelgate-model")).toBe("spirals@2");
  });

  it("rolls back on the judge scores of split generations, read from the answers", async () => {
    await registerAndPromote("demo-lm", causalLmRegistration());
    await register("demo-lm", causalLmRegistration());
    await started("demo-lm", {
      candidate: 2,
      steps: [100],
      sticky: "request",
      guard: { min_judge_score: 0.95, window: 30, min_requests: 1 },
    });
    for (let i = 0; i < 3; i++) {
      expectedEvents += 1;
      const response = await call("POST", "/v1/generate", {
        key: ADMIN,
        body: { model: "demo-lm", prompt: "hi", max_new_tokens: 4, judge: { type: "regex", pattern: "." } },
      });
      expect(response.status, await response.clone().text()).toBe(200);
      expect(response.headers.get("x-modelgate-rollout-arm")).toBe("candidate");
      // The client still gets the whole answer.
      expect(((await response.json()) as { loops: unknown[] }).loops).toHaveLength(2);
    }
    // Events are written after the responses: wait for all three.
    const judged = () =>
      analyticsDb()
        .prepare(
          "SELECT COUNT(judge_score) AS n, AVG(judge_score) AS mean FROM selection_events WHERE selected_model = 'demo-lm@2'",
        )
        .first<{ n: number; mean: number }>();
    for (let tries = 0; (await judged())?.n !== 3 && tries < 100; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await judged()).toEqual({ n: 3, mean: 0.9 });
    await evaluateGuard("demo-lm");
    const after = await currentRollout("demo-lm");
    expect(after.status).toBe("rolled_back");
    expect(after.reason).toContain("mean judge score 0.9 over 3 judged requests is below min_judge_score 0.95");
  });
});

describe("changes by hand to the versions", () => {
  it("a deleted candidate stops being served at once, and the guard closes its rollout as aborted", async () => {
    await started("spirals", { candidate: 2, percent: 50, steps: [50, 100], sticky: "request" });
    const deleted = await call("DELETE", "/v1/models/spirals/versions/2", { key: ADMIN });
    expect(deleted.status, await deleted.clone().text()).toBe(200);
    for (let i = 0; i < 6; i++) {
      expect((await predict("spirals", `deleted-request-${i}`)).headers.get("x-modelgate-model")).toBe("spirals@1");
    }
    await evaluateGuard("spirals");
    expect(await currentRollout("spirals")).toMatchObject({ status: "aborted", reason: "version 2 was deleted" });
    // Nothing blocks the next rollout.
    await register("spirals");
    expect((await started("spirals", { candidate: 3 })).id).toBe("3.2");
  });
});

describe("pause, resume, abort", () => {
  it("pause keeps the split and stops the guard; resume restarts it; abort sends traffic back", async () => {
    await started("spirals", { candidate: 2, percent: 50, steps: [50, 100], sticky: "request" });
    const pause = await call("POST", "/v1/models/spirals/rollouts/current/pause", {
      key: ADMIN,
      body: { reason: "looking at the dashboards" },
    });
    expect(pause.status).toBe(200);
    expect(await pause.json()).toMatchObject({ status: "paused", percent: 50, next_evaluation_at: null });
    const arms = new Set<string | null>();
    for (let i = 0; i < 10; i++)
      arms.add((await predict("spirals", `paused-request-${i}`)).headers.get("x-modelgate-rollout-arm"));
    expect(arms).toEqual(new Set(["candidate", "production"]));
    // Errors while paused do not roll it back: the guard is not running.
    await insertEvents([candidateEvent("spirals", 2, { outcome: "upstream_error", status: 502 })]);
    expect(await runDurableObjectAlarm(rolloutGuard(env, "spirals"))).toBe(false);
    const resume = await call("POST", "/v1/models/spirals/rollouts/current/resume", { key: ADMIN, body: {} });
    expect(await resume.json()).toMatchObject({ status: "active", next_evaluation_at: expect.any(String) });
    const abort = await call("POST", "/v1/models/spirals/rollouts/current/abort", {
      key: ADMIN,
      body: { reason: "wrong candidate" },
    });
    expect(await abort.json()).toMatchObject({ status: "aborted", percent: 0, reason: "wrong candidate" });
    expect((await predict("spirals", "paused-request-0")).headers.get("x-modelgate-model")).toBe("spirals@1");
    const again = await expectProblem(
      await call("POST", "/v1/models/spirals/rollouts/current/pause", { key: ADMIN, body: {} }),
      409,
    );
    expect(again.detail).toContain("aborted");
    expect((await history("spirals")).filter((e) => e.action.startsWith("rollout_")).map((e) => e.action)).toEqual([
      "rollout_started",
      "rollout_paused",
      "rollout_resumed",
      "rollout_aborted",
    ]);
  });
});
