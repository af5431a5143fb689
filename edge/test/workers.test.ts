import { env, runInDurableObject } from "cloudflare:test";
import type { WorkerListEntry } from "@modelgate/shared";
import { afterEach, describe, expect, it } from "vitest";
import { workerPoolStub } from "../src/pool/worker-pool-object.js";
import { ADMIN, call, expectProblem, heartbeat, resetEdge, WORKER_TOKEN } from "./support/requests.js";

afterEach(() => resetEdge());

async function listWorkers(): Promise<WorkerListEntry[]> {
  const response = await call("GET", "/v1/workers", { key: ADMIN });
  expect(response.status).toBe(200);
  return ((await response.json()) as { workers: WorkerListEntry[] }).workers;
}

describe("worker pool routes", () => {
  it("accepts a heartbeat with the worker token and lists the worker as live", async () => {
    const response = await call("POST", "/internal/workers/heartbeat", { key: WORKER_TOKEN, body: heartbeat() });
    expect(response.status).toBe(202);
    const workers = await listWorkers();
    expect(workers).toHaveLength(1);
    expect(workers[0]).toMatchObject({ live: true, heartbeat: { worker_id: "worker-a", queue_depth: 0 } });
  });

  it("keeps only the newest heartbeat per worker", async () => {
    await call("POST", "/internal/workers/heartbeat", { key: WORKER_TOKEN, body: heartbeat({ queue_depth: 3 }) });
    await call("POST", "/internal/workers/heartbeat", { key: WORKER_TOKEN, body: heartbeat({ queue_depth: 1 }) });
    const workers = await listWorkers();
    expect(workers.map((w) => w.heartbeat.queue_depth)).toEqual([1]);
  });

  it("marks a worker silent for more than three intervals as not live", async () => {
    const stub = workerPoolStub(env.WORKER_POOL);
    const fourIntervalsAgo = new Date(Date.now() - 4 * 5000).toISOString();
    await runInDurableObject(stub, (pool) => pool.recordHeartbeat(heartbeat({ worker_id: "old" }), fourIntervalsAgo));
    const twoIntervalsAgo = new Date(Date.now() - 2 * 5000).toISOString();
    await runInDurableObject(stub, (pool) => pool.recordHeartbeat(heartbeat({ worker_id: "recent" }), twoIntervalsAgo));
    const workers = await listWorkers();
    expect(workers.map((w) => [w.heartbeat.worker_id, w.live])).toEqual([
      ["old", false],
      ["recent", true],
    ]);
  });

  it("keeps workers across a Durable Object restart", async () => {
    await call("POST", "/internal/workers/heartbeat", { key: WORKER_TOKEN, body: heartbeat({ worker_id: "durable" }) });
    const stub = workerPoolStub(env.WORKER_POOL);
    const stored = await runInDurableObject(stub, (_pool, state) => state.storage.list({ prefix: "worker:" }));
    expect([...stored.keys()]).toEqual(["worker:durable"]);
  });

  it("rejects heartbeats without the worker token", async () => {
    await expectProblem(await call("POST", "/internal/workers/heartbeat", { body: heartbeat() }), 401);
    await expectProblem(
      await call("POST", "/internal/workers/heartbeat", { key: "wrong-token-0123456789", body: heartbeat() }),
      401,
    );
    // The admin key is for people: it cannot impersonate a worker.
    await expectProblem(await call("POST", "/internal/workers/heartbeat", { key: ADMIN, body: heartbeat() }), 403);
    expect(await listWorkers()).toEqual([]);
  });

  it("rejects malformed heartbeats naming the field", async () => {
    const bad = { ...heartbeat(), interval_ms: 50 };
    const problem = await expectProblem(
      await call("POST", "/internal/workers/heartbeat", { key: WORKER_TOKEN, body: bad }),
      400,
    );
    expect(problem.errors?.map((e) => e.field)).toEqual(["interval_ms"]);
    const badUrl = { ...heartbeat(), url: "ftp://x" };
    const urlProblem = await expectProblem(
      await call("POST", "/internal/workers/heartbeat", { key: WORKER_TOKEN, body: badUrl }),
      400,
    );
    expect(urlProblem.errors?.map((e) => e.field)).toEqual(["url"]);
    expect(await listWorkers()).toEqual([]);
  });

  it("does not show the fleet to the worker token or anonymous callers", async () => {
    await expectProblem(await call("GET", "/v1/workers", { key: WORKER_TOKEN }), 403);
    await expectProblem(await call("GET", "/v1/workers"), 401);
  });
});
