/**
 * `GET /metrics` on the edge: every catalogued family is exposed; request, overhead, selection,
 * failover, rate-limit and registry-write series move by exactly what was done; gauges follow the
 * pool, the registry and the conversion queue live; the aggregator adds isolates' sums and keeps
 * them across a restart; and only the admin scope or the metrics token may read any of it.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { EDGE_METRICS, type MetricDefinition } from "@modelgate/shared";
import { afterEach, describe, expect, inject, it } from "vitest";
import { metricsAggregator } from "../src/metrics/isolate-metrics.js";
import { MetricsAggregator } from "../src/metrics/metrics-aggregator-object.js";
import { workerPoolStub } from "../src/pool/worker-pool-object.js";
import {
  ADMIN,
  call,
  causalLmRegistration,
  expectProblem,
  heartbeat,
  registerAndPromote,
  resetEdge,
  sendHeartbeat,
  WORKER_TOKEN,
} from "./support/requests.js";
import { EDGE_TEST_SECRETS } from "./support/secrets.js";

afterEach(() => resetEdge());

const METRICS_TOKEN = EDGE_TEST_SECRETS.MODELGATE_METRICS_TOKEN;

/** One scrape parsed into `name{labels}` → value (labels as rendered, sorted by the renderer). */
interface Scrape {
  text: string;
  value(name: string, labels?: Record<string, string>): number;
}

function labelText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(",");
}

async function scrape(key: string = ADMIN): Promise<Scrape> {
  const response = await call("GET", "/metrics", { key });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-z_:][a-z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    values.set(`${match[1]}${match[2] ?? ""}`, Number(match[3]));
  }
  return {
    text,
    value(name, labels) {
      const wanted = labels === undefined ? undefined : labelText(labels);
      let total = 0;
      for (const [series, value] of values) {
        const [seriesName, rest] = series.includes("{") ? [series.slice(0, series.indexOf("{")), series] : [series, ""];
        if (seriesName !== name) continue;
        // Every wanted label must appear (a subset match), so tests name only what they care about.
        if (wanted !== undefined && !wanted.split(",").every((pair) => pair === "" || rest.includes(pair))) continue;
        total += value;
      }
      return total;
    },
  };
}

const generate = (key = ADMIN) =>
  call("POST", "/v1/generate", { key, body: { model: "demo-lm", prompt: "hi", max_new_tokens: 2 } });

describe("GET /metrics: what it exposes", () => {
  it("lists every catalogued edge family with HELP and TYPE, in the text format", async () => {
    const { text } = await scrape();
    for (const metric of Object.values(EDGE_METRICS) as MetricDefinition[]) {
      expect(text).toContain(`# HELP ${metric.name} `);
      expect(text).toContain(`# TYPE ${metric.name} ${metric.type}\n`);
    }
    // Only catalogued names are exposed.
    const exposed = new Set(text.match(/^# TYPE (\S+)/gm)?.map((line) => line.slice("# TYPE ".length)));
    expect([...exposed].sort()).toEqual(
      Object.values(EDGE_METRICS)
        .map((m) => m.name)
        .sort(),
    );
  });

  it("counts a routed request by route, status class, model and worker, with its overhead and selection time", async () => {
    await registerAndPromote("demo-lm", causalLmRegistration());
    await sendHeartbeat({ worker_id: "steady", url: inject("standInWorkerUrl") });
    const routed = {
      route: "/v1/generate",
      method: "POST",
      status_class: "2xx",
      model: "demo-lm",
      version: "1",
      format: "fp32",
      worker_id: "steady",
    };
    const before = await scrape();
    for (let i = 0; i < 3; i++) {
      const response = await generate();
      expect(response.status).toBe(200);
      await response.text();
    }
    const after = await scrape();
    expect(
      after.value("modelgate_edge_requests_total", routed) - before.value("modelgate_edge_requests_total", routed),
    ).toBe(3);
    const overheadCount = (s: Scrape) => s.value("modelgate_edge_overhead_seconds_count", { route: "/v1/generate" });
    expect(overheadCount(after) - overheadCount(before)).toBe(3);
    const selections = (s: Scrape) => s.value("modelgate_edge_selection_duration_seconds_count");
    expect(selections(after) - selections(before)).toBe(3);
    const durations = (s: Scrape) =>
      s.value("modelgate_edge_request_duration_seconds_count", { route: "/v1/generate", status_class: "2xx" });
    expect(durations(after) - durations(before)).toBe(3);
    // Buckets are cumulative and end in +Inf = count.
    expect(
      after.value("modelgate_edge_request_duration_seconds_bucket", {
        route: "/v1/generate",
        status_class: "2xx",
        le: "+Inf",
      }),
    ).toBe(durations(after));
  });

  it("counts refusals and unknown paths without a model, and never a raw path as a route", async () => {
    const before = await scrape();
    await expectProblem(await call("POST", "/v1/generate", { body: { model: "x" } }), 401);
    await expectProblem(await call("GET", "/no/such/path/abc123", { key: ADMIN }), 404);
    const after = await scrape();
    const refused = { route: "/v1/generate", status_class: "4xx" };
    expect(
      after.value("modelgate_edge_requests_total", refused) - before.value("modelgate_edge_requests_total", refused),
    ).toBe(1);
    const unmatched = { route: "unmatched", method: "GET", status_class: "4xx" };
    expect(
      after.value("modelgate_edge_requests_total", unmatched) -
        before.value("modelgate_edge_requests_total", unmatched),
    ).toBe(1);
    expect(after.text).not.toContain("abc123");
  });

  it("counts each failed forward by the worker that failed", async () => {
    await registerAndPromote("demo-lm", causalLmRegistration());
    await sendHeartbeat({ worker_id: "flaky", url: inject("failingWorkerUrl"), queue_depth: 0 });
    await sendHeartbeat({ worker_id: "steady", url: inject("standInWorkerUrl"), queue_depth: 5 });
    const before = await scrape();
    const response = await generate();
    expect(response.headers.get("x-modelgate-worker")).toBe("steady");
    await response.text();
    const after = await scrape();
    const failovers = (s: Scrape, worker: string) => s.value("modelgate_edge_failovers_total", { worker_id: worker });
    expect(failovers(after, "flaky") - failovers(before, "flaky")).toBe(1);
    expect(failovers(after, "steady") - failovers(before, "steady")).toBe(0);
  });

  it("counts rate-limit refusals by key id", async () => {
    const created = await call("POST", "/v1/keys", {
      key: ADMIN,
      body: { name: "tight", scopes: ["models:read"], rpm: 1 },
    });
    const { id, key } = (await created.json()) as { id: string; key: string };
    const before = await scrape();
    expect((await call("GET", "/v1/models", { key })).status).toBe(200);
    await expectProblem(await call("GET", "/v1/models", { key }), 429);
    const after = await scrape();
    const limited = (s: Scrape) => s.value("modelgate_edge_rate_limited_total", { key_id: id });
    expect(limited(after) - limited(before)).toBe(1);
  });

  it("counts registry writes by operation and outcome", async () => {
    const before = await scrape();
    await registerAndPromote("demo-lm", causalLmRegistration());
    // Promoting a version that does not exist is refused by the coordinator.
    const refused = await call("POST", "/v1/models/demo-lm/versions/9/stage", {
      key: ADMIN,
      body: { stage: "Production" },
    });
    expect(refused.status).toBe(404);
    await refused.text();
    const after = await scrape();
    const writes = (s: Scrape, operation: string, outcome: string) =>
      s.value("modelgate_edge_registry_writes_total", { operation, outcome });
    expect(writes(after, "register", "ok") - writes(before, "register", "ok")).toBe(1);
    expect(writes(after, "change_stage", "ok") - writes(before, "change_stage", "ok")).toBe(1);
    expect(writes(after, "change_stage", "refused") - writes(before, "change_stage", "refused")).toBe(1);
  });
});

describe("GET /metrics: live gauges", () => {
  it("shows each worker's heartbeat age, liveness and circuit, and how many workers serve each Production version", async () => {
    await registerAndPromote("demo-lm", causalLmRegistration());
    await sendHeartbeat({ worker_id: "fresh", url: inject("standInWorkerUrl") });
    // A worker last heard from a minute ago: past three intervals, so not live.
    await workerPoolStub(env.WORKER_POOL).recordHeartbeat(
      heartbeat({ worker_id: "silent", url: inject("standInWorkerUrl") }),
      new Date(Date.now() - 60_000).toISOString(),
    );
    const metrics = await scrape();
    expect(metrics.value("modelgate_edge_worker_live", { worker_id: "fresh" })).toBe(1);
    expect(metrics.value("modelgate_edge_worker_live", { worker_id: "silent" })).toBe(0);
    expect(
      metrics.value("modelgate_edge_worker_heartbeat_age_seconds", { worker_id: "silent" }),
    ).toBeGreaterThanOrEqual(59);
    expect(metrics.value("modelgate_edge_worker_heartbeat_age_seconds", { worker_id: "fresh" })).toBeLessThan(10);
    expect(metrics.value("modelgate_edge_circuit_state", { worker_id: "fresh", state: "closed" })).toBe(1);
    expect(metrics.value("modelgate_edge_circuit_state", { worker_id: "fresh", state: "open" })).toBe(0);
    expect(metrics.value("modelgate_edge_production_live_workers", { model: "demo-lm", version: "1" })).toBe(1);
  });

  it("reports a Production version no worker can serve as 0, and an open circuit as open", async () => {
    await registerAndPromote("demo-lm", causalLmRegistration());
    await sendHeartbeat({ worker_id: "flaky", url: inject("failingWorkerUrl") });
    const pool = workerPoolStub(env.WORKER_POOL);
    for (let i = 0; i < 3; i++) await pool.recordForwardOutcome("flaky", false);
    const metrics = await scrape();
    expect(metrics.value("modelgate_edge_circuit_state", { worker_id: "flaky", state: "open" })).toBe(1);
    expect(metrics.value("modelgate_edge_circuit_state", { worker_id: "flaky", state: "closed" })).toBe(0);
    expect(metrics.value("modelgate_edge_production_live_workers", { model: "demo-lm", version: "1" })).toBe(0);
  });

  it("shows the conversion queue by status and the oldest queued job's age", async () => {
    await registerAndPromote("demo-lm", causalLmRegistration());
    const queued = await call("POST", "/v1/models/demo-lm/versions/1/conversions", {
      key: ADMIN,
      body: { targets: ["int8"] },
    });
    expect(queued.status).toBe(202);
    const metrics = await scrape();
    expect(metrics.value("modelgate_edge_conversion_jobs", { status: "queued" })).toBe(1);
    expect(metrics.value("modelgate_edge_conversion_jobs", { status: "failed" })).toBe(0);
    expect(metrics.value("modelgate_edge_conversion_oldest_queued_age_seconds")).toBeGreaterThanOrEqual(0);
    expect(metrics.text).toMatch(/^modelgate_edge_conversion_oldest_queued_age_seconds \S+$/m);
  });
});

describe("the MetricsAggregator", () => {
  const requests = EDGE_METRICS.requests.name;
  const labels = ["/v1/generate", "POST", "2xx", "m", "1", "fp32", "w"];

  it("adds every isolate's sums, and keeps them across a restart", async () => {
    const aggregator = metricsAggregator(env);
    await aggregator.ingest({ counters: [{ name: requests, labelValues: labels, value: 2 }], histograms: [] });
    await aggregator.ingest({ counters: [{ name: requests, labelValues: labels, value: 5 }], histograms: [] });
    await aggregator.ingest({
      counters: [],
      histograms: [
        {
          name: EDGE_METRICS.selectionDuration.name,
          labelValues: [],
          bucketCounts: new Array(EDGE_METRICS.selectionDuration.buckets.length + 1)
            .fill(0)
            .map((_, i) => (i === 0 ? 3 : 0)),
          sum: 0.0002,
          count: 3,
        },
      ],
    });
    const { series } = await aggregator.snapshot();
    expect(series.find((s) => s.name === requests)).toMatchObject({ kind: "counter", value: 7 });
    // A new instance over the same storage (what a restart is) starts from the stored totals.
    const restored = await runInDurableObject(aggregator, async (_instance, state) => {
      const fresh = new MetricsAggregator(state, env);
      return (await fresh.snapshot()).series;
    });
    expect(restored.find((s) => s.name === requests)).toMatchObject({ kind: "counter", value: 7 });
    expect(restored.find((s) => s.name === EDGE_METRICS.selectionDuration.name)).toMatchObject({ count: 3 });
  });

  it("refuses samples that do not fit the catalogue instead of storing them", async () => {
    const aggregator = metricsAggregator(env);
    await aggregator.ingest({
      counters: [
        { name: "modelgate_edge_made_up_total", labelValues: [], value: 1 },
        { name: requests, labelValues: ["too", "few"], value: 1 },
        { name: requests, labelValues: labels, value: -4 },
        { name: EDGE_METRICS.selectionDuration.name, labelValues: [], value: 1 },
      ],
      histograms: [{ name: EDGE_METRICS.selectionDuration.name, labelValues: [], bucketCounts: [1], sum: 1, count: 1 }],
    });
    expect((await aggregator.snapshot()).series).toEqual([]);
    expect((await scrape()).text).not.toContain("made_up");
  });

  it("escapes label values in the text format", async () => {
    await metricsAggregator(env).ingest({
      counters: [{ name: requests, labelValues: ['/a"b\\c\nd', "GET", "2xx", "", "", "", ""], value: 1 }],
      histograms: [],
    });
    expect((await scrape()).text).toContain(
      'modelgate_edge_requests_total{route="/a\\"b\\\\c\\nd",method="GET",status_class="2xx"} 1',
    );
  });
});

describe("GET /metrics: who may read it", () => {
  it("opens to the metrics token, which opens nothing else", async () => {
    const metrics = await scrape(METRICS_TOKEN);
    expect(metrics.text).toContain("# TYPE modelgate_edge_requests_total counter");
    await expectProblem(await call("GET", "/v1/workers", { key: METRICS_TOKEN }), 401);
    await expectProblem(await call("GET", "/v1/models", { key: METRICS_TOKEN }), 401);
  });

  it("refuses no key, an unknown key, the worker token, a key without admin, and a revoked admin key", async () => {
    await expectProblem(await call("GET", "/metrics"), 401);
    await expectProblem(await call("GET", "/metrics", { key: "mgk_neverIssued0000000000000000000" }), 401);
    await expectProblem(await call("GET", "/metrics", { key: WORKER_TOKEN }), 403);
    const reader = (await (
      await call("POST", "/v1/keys", { key: ADMIN, body: { name: "reader", scopes: ["models:read"] } })
    ).json()) as { key: string };
    await expectProblem(await call("GET", "/metrics", { key: reader.key }), 403);
    const admin = (await (
      await call("POST", "/v1/keys", { key: ADMIN, body: { name: "ops", scopes: ["admin"] } })
    ).json()) as { id: string; key: string };
    expect((await call("GET", "/metrics", { key: admin.key })).status).toBe(200);
    expect((await call("DELETE", `/v1/keys/${admin.id}`, { key: ADMIN })).status).toBe(200);
    await expectProblem(await call("GET", "/metrics", { key: admin.key }), 401);
  });
});
