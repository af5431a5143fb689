/**
 * Issue 17's placement inside workerd with the real registry coordinator and worker pool: a
 * version's `serving.placement` (labels, pins, min_replicas) decides which enrolled workers are
 * asked to preload it (in their heartbeat answers) and which ones requests are routed to.
 */

import type { HeartbeatAccepted, ReplicaTestReport } from "@modelgate/shared";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import {
  ADMIN,
  call,
  causalLmRegistration,
  expectProblem,
  heartbeat,
  registerAndPromote,
  resetEdge,
  sendHeartbeat as sendLegacyHeartbeat,
} from "./support/requests.js";

afterEach(() => resetEdge());

/** Enrols a worker id with labels and returns its credential. */
async function enrol(workerId: string, labels: Record<string, string>): Promise<string> {
  const issued = await call("POST", `/v1/workers/${workerId}/enrolment`, { key: ADMIN, body: { labels } });
  const { enrolment_token } = (await issued.json()) as { enrolment_token: string };
  const exchanged = await call("POST", "/internal/workers/enrol", { body: { enrolment_token } });
  expect(exchanged.status).toBe(201);
  return ((await exchanged.json()) as { credential: string }).credential;
}

async function beat(
  credential: string,
  workerId: string,
  queueDepth: number,
  url: string = inject("standInWorkerUrl"),
): Promise<HeartbeatAccepted> {
  const response = await call("POST", "/internal/workers/heartbeat", {
    key: credential,
    body: heartbeat({ worker_id: workerId, url, queue_depth: queueDepth }),
  });
  expect(response.status).toBe(202);
  return (await response.json()) as HeartbeatAccepted;
}

function place(placement: object, key: string = ADMIN): Promise<Response> {
  return call("PATCH", "/v1/models/demo-lm/versions/1", { key, body: { serving: { placement }, reason: "placement" } });
}

const generate = () =>
  call("POST", "/v1/generate", { key: ADMIN, body: { model: "demo-lm", prompt: "hi", max_new_tokens: 2 } });

describe("placement", () => {
  let a10: string;
  let h100: string;
  beforeEach(async () => {
    await registerAndPromote("demo-lm", causalLmRegistration());
    [a10, h100] = await Promise.all([enrol("a10-1", { gpu: "a10" }), enrol("h100-1", { gpu: "h100" })]);
  });

  it("routes only to workers with the labels, and asks min_replicas of them to preload", async () => {
    expect((await place({ worker_labels: { gpu: "a10" }, min_replicas: 1 })).status).toBe(200);
    // The h100 is idler, so without placement it would win.
    const a10Answer = await beat(a10, "a10-1", 5);
    const h100Answer = await beat(h100, "h100-1", 0);
    expect(a10Answer.preload.map((v) => `${v.name}@${v.version}`)).toEqual(["demo-lm@1"]);
    expect(h100Answer.preload).toEqual([]);
    for (let i = 0; i < 2; i++) {
      const response = await generate();
      expect(response.status).toBe(200);
      expect(response.headers.get("x-modelgate-worker")).toBe("a10-1");
      expect(response.headers.get("x-modelgate-route-reason")).toContain("placement labels gpu=a10");
      await response.text();
    }
  });

  it("pins a version to named workers and moves the preload off a cordoned one", async () => {
    expect((await place({ pinned_workers: ["h100-1", "a10-1"], min_replicas: 1 })).status).toBe(200);
    await beat(a10, "a10-1", 0);
    expect((await beat(h100, "h100-1", 0)).preload).toEqual([]);
    expect((await call("POST", "/v1/workers/a10-1/cordon", { key: ADMIN })).status).toBe(200);
    expect((await beat(h100, "h100-1", 0)).preload.map((v) => v.name)).toEqual(["demo-lm"]);
  });

  it("answers 503 problem+json naming the placement when no live worker matches", async () => {
    await place({ worker_labels: { gpu: "b200" } });
    await beat(a10, "a10-1", 0);
    // A legacy worker (shared token, no enrolment labels) never matches a label placement.
    await sendLegacyHeartbeat({ worker_id: "legacy", url: inject("standInWorkerUrl") });
    const problem = await expectProblem(await generate(), 503);
    expect(problem.detail).toContain("labels gpu=b200");
    // Clearing the placement routes anywhere again.
    expect((await call("PATCH", "/v1/models/demo-lm/versions/1", { key: ADMIN, body: { serving: null } })).status).toBe(
      200,
    );
    const routed = await generate();
    expect(routed.status).toBe(200);
    await routed.text();
  });

  it("refuses a bad placement with 400 naming the field, and writes nothing", async () => {
    const problem = await expectProblem(await place({ worker_labels: { GPU: "a10" }, min_replicas: -1 }), 400);
    const fields = (problem.errors ?? []).map((error) => error.field);
    expect(fields.some((field) => field.includes("worker_labels"))).toBe(true);
    expect(fields.some((field) => field.includes("min_replicas"))).toBe(true);
    const version = (await (await call("GET", "/v1/models/demo-lm/versions/1", { key: ADMIN })).json()) as {
      serving?: unknown;
      metadata_revision: number;
    };
    expect(version.serving).toBeUndefined();
    expect(version.metadata_revision).toBe(1);
  });

  it("lets only a models:write key set placement", async () => {
    const created = await call("POST", "/v1/keys", { key: ADMIN, body: { name: "reader", scopes: ["models:read"] } });
    const { key: reader } = (await created.json()) as { key: string };
    await expectProblem(await place({ min_replicas: 1 }, reader), 403);
    await expectProblem(
      await call("PATCH", "/v1/models/demo-lm/versions/1", { body: { serving: { placement: {} } } }),
      401,
    );
  });
});

describe("POST /v1/models/:name/versions/:version/replica-tests", () => {
  const testReplicas = (key?: string, path = "/v1/models/demo-lm/versions/1/replica-tests") =>
    call("POST", path, key === undefined ? {} : { key });

  beforeEach(async () => {
    await registerAndPromote("demo-lm", causalLmRegistration());
  });

  it("smoke-tests every live matching worker and reports each, failures included", async () => {
    const [good, broken, other] = await Promise.all([
      enrol("a10-1", { gpu: "a10" }),
      enrol("a10-2", { gpu: "a10" }),
      enrol("h100-1", { gpu: "h100" }),
    ]);
    await place({ worker_labels: { gpu: "a10" } });
    await beat(good, "a10-1", 0);
    await beat(broken, "a10-2", 0, inject("failingWorkerUrl"));
    await beat(other, "h100-1", 0);
    const response = await testReplicas(ADMIN, "/v1/models/demo-lm/versions/production/replica-tests");
    expect(response.status).toBe(200);
    const report = (await response.json()) as ReplicaTestReport;
    expect(report).toMatchObject({ model: "demo-lm", version: 1, placement: "labels gpu=a10", ok: false });
    const byWorker = Object.fromEntries(report.results.map((result) => [result.worker_id, result]));
    expect(Object.keys(byWorker).sort()).toEqual(["a10-1", "a10-2"]);
    expect(byWorker["a10-1"]).toMatchObject({ ok: true, status: 200, warm: false });
    expect(byWorker["a10-2"]).toMatchObject({ ok: false, status: null });
    expect(byWorker["a10-2"]?.error).toContain("a10-2");
    expect(byWorker["a10-1"]?.latency_ms).toBeGreaterThanOrEqual(0);
  });

  it("answers 503 naming the placement when no live worker matches, and 404 for an unknown model", async () => {
    await place({ pinned_workers: ["nobody"] });
    await sendLegacyHeartbeat({ worker_id: "legacy", url: inject("standInWorkerUrl") });
    expect((await expectProblem(await testReplicas(ADMIN), 503)).detail).toContain("pinned nobody");
    await expectProblem(await testReplicas(ADMIN, "/v1/models/missing-lm/versions/1/replica-tests"), 404);
  });

  it("is for admin keys only", async () => {
    const created = await call("POST", "/v1/keys", {
      key: ADMIN,
      body: { name: "writer", scopes: ["models:write", "infer"] },
    });
    const { key: writer } = (await created.json()) as { key: string };
    await expectProblem(await testReplicas(writer), 403);
    await expectProblem(await testReplicas(), 401);
  });
});
