import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import type { CategoryPerformance, ModelsPerCategory, MultiCategory, SelectionEvent } from "@modelgate/shared";
import { Hono } from "hono";
import { afterEach, describe, expect, inject, it } from "vitest";
import { recordSelectionEvent, writeSelectionEvent } from "../src/analytics/selection-events.js";
import { createEdgeApp } from "../src/app.js";
import { type AppEnv, EdgeConfigSchema } from "../src/env.js";
import {
  ADMIN,
  callThroughSelf,
  causalLmRegistration,
  expectProblem,
  registerAndPromote,
  resetEdge,
  sendHeartbeat,
} from "./support/requests.js";
import { EDGE_TEST_SECRETS } from "./support/secrets.js";

afterEach(() => resetEdge());

function analyticsDb(): D1Database {
  if (!env.ANALYTICS) throw new Error("the ANALYTICS D1 binding is missing from wrangler.toml");
  return env.ANALYTICS;
}

const DAY = "from=2025-06-01T00:00:00Z&to=2025-06-02T00:00:00Z";

let sequence = 0;
function event(overrides: Partial<SelectionEvent>): SelectionEvent {
  sequence += 1;
  return {
    timestamp: "2025-06-01T12:00:00.000Z",
    task_category: "code",
    selected_model: "coder@2",
    primary_category: true,
    confidence_score: 0.9,
    final_score: 0.5,
    gpu_id: 0,
    worker_id: "worker-a",
    selection_duration_ms: 1,
    route: "/v1/generate",
    outcome: "ok",
    status: 200,
    latency_ms: 100,
    tokens: null,
    request_id: `req-${sequence}`,
    ...overrides,
  };
}

/**
 * A day of traffic whose analyses are worked out by hand below: `code` mostly to coder@2,
 * general@1 serving three categories (primary only for `general`), coder@2 also used for
 * `math` as a secondary category, one explicit request, and two events just outside the day.
 */
const DATASET: SelectionEvent[] = [
  event({ final_score: 0.8, latency_ms: 100, selection_duration_ms: 1, tokens: 10 }),
  event({ final_score: 0.6, latency_ms: 200, selection_duration_ms: 3, tokens: 20 }),
  event({ final_score: 0.7, latency_ms: 300, selection_duration_ms: 2, outcome: "upstream_error", status: 502 }),
  event({
    selected_model: "general@1",
    primary_category: false,
    confidence_score: 0.7,
    final_score: 0.5,
    latency_ms: 400,
    selection_duration_ms: 2,
  }),
  event({
    task_category: "math",
    selected_model: "general@1",
    primary_category: false,
    confidence_score: 0.7,
    final_score: 0.4,
    latency_ms: 50,
    tokens: 5,
  }),
  event({
    task_category: "math",
    selected_model: "mathy@1",
    confidence_score: 0.95,
    final_score: 0.9,
    latency_ms: 10,
    outcome: "client_error",
    status: 400,
  }),
  event({
    task_category: "math",
    selected_model: null,
    primary_category: null,
    confidence_score: null,
    final_score: null,
    gpu_id: null,
    worker_id: null,
    selection_duration_ms: 0.5,
    latency_ms: 5,
    outcome: "no_worker",
    status: 503,
  }),
  event({
    task_category: "math",
    primary_category: false,
    confidence_score: 0.7,
    final_score: 0.55,
    latency_ms: 150,
  }),
  event({ task_category: "general", selected_model: "general@1", final_score: 0.75, latency_ms: 120, tokens: 7 }),
  event({
    task_category: null,
    primary_category: null,
    confidence_score: null,
    final_score: 0.3,
    latency_ms: 80,
    selection_duration_ms: 0,
    tokens: 3,
  }),
  // `from` is inclusive and `to` exclusive: neither of these is in the day.
  event({ timestamp: "2025-05-31T23:59:59.999Z", selected_model: "general@1" }),
  event({ timestamp: "2025-06-02T00:00:00.000Z", selected_model: "general@1" }),
];

async function seed(events: readonly SelectionEvent[]): Promise<void> {
  for (const e of events) await writeSelectionEvent(analyticsDb(), e);
}

async function analysis<T>(name: string, query = DAY): Promise<T> {
  const response = await callThroughSelf("GET", `/v1/analytics/${name}?${query}`, { key: ADMIN });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${name}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

const WINDOW = { from: "2025-06-01T00:00:00.000Z", to: "2025-06-02T00:00:00.000Z" };

describe("GET /v1/analytics/models-per-category", () => {
  it("counts each category's chosen models with their share, most used first", async () => {
    await seed(DATASET);
    expect(await analysis<ModelsPerCategory>("models-per-category")).toEqual({
      window: WINDOW,
      categories: [
        {
          task_category: "code",
          total: 4,
          models: [
            { selected_model: "coder@2", usage_count: 3, share: 0.75 },
            { selected_model: "general@1", usage_count: 1, share: 0.25 },
          ],
        },
        { task_category: "general", total: 1, models: [{ selected_model: "general@1", usage_count: 1, share: 1 }] },
        {
          // The no_worker request chose no model, so math counts three.
          task_category: "math",
          total: 3,
          models: [
            { selected_model: "coder@2", usage_count: 1, share: 1 / 3 },
            { selected_model: "general@1", usage_count: 1, share: 1 / 3 },
            { selected_model: "mathy@1", usage_count: 1, share: 1 / 3 },
          ],
        },
        { task_category: null, total: 1, models: [{ selected_model: "coder@2", usage_count: 1, share: 1 }] },
      ],
    });
  });

  it("answers an empty window with no categories", async () => {
    await seed(DATASET);
    const empty = await analysis<ModelsPerCategory>(
      "models-per-category",
      "from=2024-01-01T00:00:00Z&to=2024-01-02T00:00:00Z",
    );
    expect(empty).toEqual({
      window: { from: "2024-01-01T00:00:00.000Z", to: "2024-01-02T00:00:00.000Z" },
      categories: [],
    });
  });

  it("defaults to the last 24 hours", async () => {
    const now = Date.now();
    await seed([
      event({ timestamp: new Date(now - 60 * 60 * 1000).toISOString(), selected_model: "recent@1" }),
      event({ timestamp: new Date(now - 25 * 60 * 60 * 1000).toISOString(), selected_model: "old@1" }),
    ]);
    const result = await analysis<ModelsPerCategory>("models-per-category", "");
    expect(result.categories.flatMap((c) => c.models.map((m) => m.selected_model))).toEqual(["recent@1"]);
    expect(Date.parse(result.window.to) - Date.parse(result.window.from)).toBe(24 * 60 * 60 * 1000);
  });
});

describe("GET /v1/analytics/multi-category", () => {
  it("lists models chosen for more than one category, with primary/secondary use and confidence", async () => {
    await seed(DATASET);
    const result = await analysis<MultiCategory>("multi-category");
    expect(result.window).toEqual(WINDOW);
    // mathy@1 served one category; coder@2's explicit request has no category and does not count.
    expect(result.models.map((m) => m.selected_model)).toEqual(["general@1", "coder@2"]);
    const [general, coder] = result.models;
    expect(general).toMatchObject({
      categories_served: 3,
      requests: 3,
      primary_requests: 1,
      secondary_requests: 2,
      categories: [
        { task_category: "code", requests: 1, primary_requests: 0, secondary_requests: 1, avg_confidence: 0.7 },
        { task_category: "general", requests: 1, primary_requests: 1, secondary_requests: 0, avg_confidence: 0.9 },
        { task_category: "math", requests: 1, primary_requests: 0, secondary_requests: 1, avg_confidence: 0.7 },
      ],
    });
    expect(general?.avg_confidence).toBeCloseTo((0.7 + 0.9 + 0.7) / 3, 12);
    expect(coder).toMatchObject({ categories_served: 2, requests: 4, primary_requests: 3, secondary_requests: 1 });
    expect(coder?.avg_confidence).toBeCloseTo((0.9 * 3 + 0.7) / 4, 12);
    expect(
      coder?.categories.map((c) => [c.task_category, c.requests, c.primary_requests, c.secondary_requests]),
    ).toEqual([
      ["code", 3, 3, 0],
      ["math", 1, 0, 1],
    ]);
    expect(coder?.categories[0]?.avg_confidence).toBeCloseTo(0.9, 12);
  });
});

describe("GET /v1/analytics/category-performance", () => {
  it("reports outcomes, success rate, latency percentiles and means per category", async () => {
    await seed(DATASET);
    const result = await analysis<CategoryPerformance>("category-performance");
    expect(result.window).toEqual(WINDOW);
    expect(result.categories.map((c) => c.task_category)).toEqual(["code", "general", "math", null]);
    const [code, general, math, explicit] = result.categories;

    expect(code).toMatchObject({
      requests: 4,
      outcomes: { ok: 3, client_error: 0, upstream_error: 1, no_worker: 0 },
      success_rate: 0.75,
      // ok latencies 100, 200, 400: nearest rank ⌈0.5·3⌉ = 2 and ⌈0.95·3⌉ = 3.
      latency_ms: { p50: 200, p95: 400 },
      avg_selection_duration_ms: 2,
      avg_tokens: 15,
    });
    expect(code?.avg_final_score).toBeCloseTo((0.8 + 0.6 + 0.7 + 0.5) / 4, 12);

    expect(general).toEqual({
      task_category: "general",
      requests: 1,
      outcomes: { ok: 1, client_error: 0, upstream_error: 0, no_worker: 0 },
      success_rate: 1,
      latency_ms: { p50: 120, p95: 120 },
      avg_final_score: 0.75,
      avg_selection_duration_ms: 1,
      avg_tokens: 7,
    });

    expect(math).toMatchObject({
      requests: 4,
      outcomes: { ok: 2, client_error: 1, upstream_error: 0, no_worker: 1 },
      // The client error is not held against routing: 2 ok of 3 judged.
      success_rate: 2 / 3,
      latency_ms: { p50: 50, p95: 150 },
      avg_selection_duration_ms: 0.875,
      avg_tokens: 5,
    });
    // The no_worker request has no final score: the mean is over the three that have one.
    expect(math?.avg_final_score).toBeCloseTo((0.4 + 0.9 + 0.55) / 3, 12);

    expect(explicit).toMatchObject({
      task_category: null,
      requests: 1,
      success_rate: 1,
      latency_ms: { p50: 80, p95: 80 },
      avg_final_score: 0.3,
      avg_selection_duration_ms: 0,
      avg_tokens: 3,
    });
  });

  it("takes nearest-rank percentiles over the ok requests only", async () => {
    const latencies = Array.from({ length: 20 }, (_, i) => 20 - i);
    await seed([
      ...latencies.map((latency_ms) => event({ task_category: "bulk", latency_ms })),
      // A slow failure is not a latency sample.
      event({ task_category: "bulk", latency_ms: 10_000, outcome: "upstream_error", status: 504 }),
    ]);
    const [bulk] = (await analysis<CategoryPerformance>("category-performance")).categories;
    expect(bulk).toMatchObject({
      task_category: "bulk",
      requests: 21,
      success_rate: 20 / 21,
      latency_ms: { p50: 10, p95: 19 },
      avg_tokens: null,
    });
  });
});

describe("recordSelectionEvent", () => {
  /** The recorder as route-request.ts uses it: inside a handler, written after the response. */
  function appRecording(recorded: SelectionEvent): Hono<AppEnv> {
    return new Hono<AppEnv>().get("/", (c) => {
      recordSelectionEvent(c, recorded);
      return c.text("answered");
    });
  }

  it("writes the event after the response, through waitUntil", async () => {
    const ctx = createExecutionContext();
    const response = await appRecording(event({ task_category: "later" })).fetch(
      new Request("https://edge.test/"),
      env,
      ctx,
    );
    expect(await response.text()).toBe("answered");
    await waitOnExecutionContext(ctx);
    const result = await analysis<ModelsPerCategory>("models-per-category");
    expect(result.categories).toEqual([
      { task_category: "later", total: 1, models: [{ selected_model: "coder@2", usage_count: 1, share: 1 }] },
    ]);
  });

  it("batches events over a window into one D1 write held open by the request that opened it", async () => {
    const batching = new Hono<AppEnv>()
      .use(async (c, next) => {
        // A window long enough that the three requests and the first read land inside it on a
        // busy machine (50 ms was not, with the e2e process on the same cores).
        c.set("config", EdgeConfigSchema.parse({ ...EDGE_TEST_SECRETS, MODELGATE_ANALYTICS_BATCH_MS: "1500" }));
        await next();
      })
      .get("/:category", (c) => {
        recordSelectionEvent(c, event({ task_category: c.req.param("category") }));
        return c.text("answered");
      });
    const contexts = [createExecutionContext(), createExecutionContext(), createExecutionContext()];
    for (const [i, ctx] of contexts.entries()) {
      expect((await batching.fetch(new Request(`https://edge.test/batch${i}`), env, ctx)).status).toBe(200);
    }
    // Nothing is written until the window closes; then all three land together.
    expect((await analysis<ModelsPerCategory>("models-per-category")).categories).toEqual([]);
    for (const ctx of contexts) await waitOnExecutionContext(ctx);
    const recorded = (await analysis<ModelsPerCategory>("models-per-category")).categories.map((c) => c.task_category);
    expect(recorded.sort()).toEqual(["batch0", "batch1", "batch2"]);
  });

  it("never fails the request: an invalid event is logged and dropped", async () => {
    const ctx = createExecutionContext();
    const invalid = { ...event({}), outcome: "exploded" } as unknown as SelectionEvent;
    const response = await appRecording(invalid).fetch(new Request("https://edge.test/"), env, ctx);
    expect(response.status).toBe(200);
    await waitOnExecutionContext(ctx);
    expect((await analysis<ModelsPerCategory>("models-per-category")).categories).toEqual([]);
  });

  it("does nothing without the ANALYTICS binding", async () => {
    const ctx = createExecutionContext();
    const response = await appRecording(event({})).fetch(
      new Request("https://edge.test/"),
      { ...env, ANALYTICS: undefined },
      ctx,
    );
    expect(response.status).toBe(200);
    await waitOnExecutionContext(ctx);
  });

  it("keeps writing after the table was dropped behind the isolate's back", async () => {
    await seed([event({ task_category: "before" })]);
    await analyticsDb().prepare("DROP TABLE selection_events").run();
    await seed([event({ task_category: "after" })]);
    const result = await analysis<ModelsPerCategory>("models-per-category");
    expect(result.categories.map((c) => c.task_category)).toEqual(["after"]);
  });
});

describe("routed requests", () => {
  /** Events are written after the response (waitUntil), so the test waits for them to land. */
  async function performanceOnceRecorded(requests: number): Promise<CategoryPerformance> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const result = await analysis<CategoryPerformance>("category-performance", "");
      if ((result.categories[0]?.requests ?? 0) >= requests) return result;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`fewer than ${requests} events were recorded`);
  }

  it("records each routed request's selection and outcome", async () => {
    await registerAndPromote("demo-lm", causalLmRegistration());
    const body = { model: "demo-lm", prompt: "hello", max_new_tokens: 4 };
    // No worker has announced itself yet: 503, recorded as no_worker.
    await expectProblem(await callThroughSelf("POST", "/v1/generate", { key: ADMIN, body }), 503);
    await sendHeartbeat({ worker_id: "gpu-box-1", url: inject("standInWorkerUrl") });
    const served = await callThroughSelf("POST", "/v1/generate", { key: ADMIN, body });
    expect(served.status).toBe(200);
    await served.body?.cancel();

    const [explicit] = (await performanceOnceRecorded(2)).categories;
    expect(explicit).toMatchObject({
      task_category: null,
      requests: 2,
      outcomes: { ok: 1, client_error: 0, upstream_error: 0, no_worker: 1 },
      success_rate: 0.5,
    });
    // The served request carries the routing decision's score; the refused one had none.
    expect(explicit?.avg_final_score).toBeGreaterThan(0);
    expect(explicit?.avg_final_score).toBeLessThanOrEqual(1.05);
    const perCategory = await analysis<ModelsPerCategory>("models-per-category", "");
    expect(perCategory.categories).toEqual([
      { task_category: null, total: 2, models: [{ selected_model: "demo-lm@1", usage_count: 2, share: 1 }] },
    ]);
    const rows = await analyticsDb()
      .prepare("SELECT route, worker_id, gpu_id, outcome, status FROM selection_events ORDER BY id")
      .all();
    expect(rows.results).toEqual([
      { route: "/v1/generate", worker_id: null, gpu_id: null, outcome: "no_worker", status: 503 },
      { route: "/v1/generate", worker_id: "gpu-box-1", gpu_id: 0, outcome: "ok", status: 200 },
    ]);
  });
});

describe("analytics window and access", () => {
  const ROUTES = ["models-per-category", "multi-category", "category-performance"];

  it.each(ROUTES)("%s: names the field at fault in a 400", async (name) => {
    const cases: [string, string][] = [
      ["from=yesterday", "from"],
      ["to=2025-06-01T12:00:00", "to"], // no zone
      ["from=2025-06-02T00:00:00Z&to=2025-06-01T00:00:00Z", "to"],
      ["from=2025-06-01T00:00:00Z&to=2025-06-01T00:00:00Z", "to"],
      ["from=2025-01-01T00:00:00Z&to=2025-03-01T00:00:00Z", "from"], // longer than 31 days
    ];
    for (const [query, field] of cases) {
      const problem = await expectProblem(
        await callThroughSelf("GET", `/v1/analytics/${name}?${query}`, { key: ADMIN }),
        400,
      );
      expect(
        problem.errors?.map((e) => e.field),
        query,
      ).toEqual([field]);
    }
    await expectProblem(await callThroughSelf("GET", `/v1/analytics/${name}?since=2025-06-01`, { key: ADMIN }), 400);
  });

  it.each(ROUTES)("%s: accepts bare dates and exactly 31 days", async (name) => {
    const response = await callThroughSelf("GET", `/v1/analytics/${name}?from=2025-01-01&to=2025-02-01`, {
      key: ADMIN,
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { window: unknown }).window).toEqual({
      from: "2025-01-01T00:00:00.000Z",
      to: "2025-02-01T00:00:00.000Z",
    });
  });

  it.each(ROUTES)("%s: needs a key with the admin scope", async (name) => {
    await expectProblem(await callThroughSelf("GET", `/v1/analytics/${name}`), 401);
    const created = await callThroughSelf("POST", "/v1/keys", {
      key: ADMIN,
      body: { name: "reader", scopes: ["models:read"] },
    });
    const { key } = (await created.json()) as { key: string };
    await expectProblem(await callThroughSelf("GET", `/v1/analytics/${name}`, { key }), 403);
  });

  it.each(ROUTES)("%s: answers 503 naming the binding when ANALYTICS is not bound", async (name) => {
    const ctx = createExecutionContext();
    const response = await createEdgeApp().fetch(
      new Request(`https://edge.test/v1/analytics/${name}`, { headers: { authorization: `Bearer ${ADMIN}` } }),
      { ...env, ANALYTICS: undefined },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    const problem = await expectProblem(response, 503);
    expect(problem.detail).toContain("ANALYTICS");
  });
});
