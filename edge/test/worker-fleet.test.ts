/**
 * Issue 17 inside workerd with the real worker pool Durable Object: enrolment, per-worker
 * credentials bound to an id and a URL pattern, revocation, rotation, legacy mode, and cordon /
 * drain as routing and the conversion queue see them.
 */
import { createExecutionContext, env, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { mintEnrolmentToken, randomHex, type WorkerListEntry } from "@modelgate/shared";
import { afterEach, describe, expect, it } from "vitest";
import { createEdgeApp } from "../src/app.js";
import { workerPoolStub } from "../src/pool/worker-pool-object.js";
import { registerModel, requestConversion } from "./support/conversion-reports.js";
import { ADMIN, call, expectProblem, heartbeat, resetEdge, WORKER_TOKEN } from "./support/requests.js";

afterEach(() => resetEdge());

async function listWorkers(): Promise<WorkerListEntry[]> {
  const response = await call("GET", "/v1/workers", { key: ADMIN });
  expect(response.status).toBe(200);
  return ((await response.json()) as { workers: WorkerListEntry[] }).workers;
}

async function issueEnrolment(workerId: string, body: object = {}): Promise<string> {
  const response = await call("POST", `/v1/workers/${workerId}/enrolment`, { key: ADMIN, body });
  expect(response.status).toBe(201);
  return ((await response.json()) as { enrolment_token: string }).enrolment_token;
}

function exchange(token: string): Promise<Response> {
  return call("POST", "/internal/workers/enrol", { body: { enrolment_token: token } });
}

/** Enrols a worker id and returns its credential. */
async function enrol(workerId: string, body: object = {}): Promise<string> {
  const response = await exchange(await issueEnrolment(workerId, body));
  expect(response.status).toBe(201);
  return ((await response.json()) as { credential: string }).credential;
}

function sendHeartbeat(key: string, overrides: Parameters<typeof heartbeat>[0] = {}): Promise<Response> {
  return call("POST", "/internal/workers/heartbeat", { key, body: heartbeat(overrides) });
}

async function routableWorkerIds(): Promise<string[]> {
  const view = await workerPoolStub(env.WORKER_POOL).routingView();
  return view.workers.map((w) => w.heartbeat.worker_id);
}

describe("worker enrolment and credentials", () => {
  it("enrols a worker whose own credential heartbeats for its id, inside its URL pattern", async () => {
    const credential = await enrol("gpu-1", { url_pattern: "http://10.0.0.*:8790", labels: { gpu: "h100" } });
    expect(credential).toMatch(/^mgw_[0-9a-f]{64}$/);
    const accepted = await sendHeartbeat(credential, { worker_id: "gpu-1", url: "http://10.0.0.7:8790" });
    expect(accepted.status).toBe(202);
    const [listed] = await listWorkers();
    expect(listed).toMatchObject({
      live: true,
      drain_state: "serving",
      identity: { worker_id: "gpu-1", url_pattern: "http://10.0.0.*:8790", labels: { gpu: "h100" }, rotations: 0 },
    });
    expect(JSON.stringify(listed)).not.toContain("credential_sha256");
    expect(await routableWorkerIds()).toEqual(["gpu-1"]);
  });

  it("refuses another worker's credential and a URL outside the pattern, changing nothing", async () => {
    const credentialA = await enrol("gpu-a", { url_pattern: "https://gpu-a.internal:8790" });
    await enrol("gpu-b");
    const asB = await expectProblem(await sendHeartbeat(credentialA, { worker_id: "gpu-b" }), 403);
    expect(asB.detail).toContain("another worker");
    // An id nobody enrolled is no more open to it.
    await expectProblem(await sendHeartbeat(credentialA, { worker_id: "stranger" }), 403);
    const elsewhere = await expectProblem(
      await sendHeartbeat(credentialA, { worker_id: "gpu-a", url: "https://attacker.example:8790" }),
      403,
    );
    expect(elsewhere.detail).toContain("outside the URL pattern");
    expect(await listWorkers()).toEqual([]);
    expect(await routableWorkerIds()).toEqual([]);
    expect((await sendHeartbeat(credentialA, { worker_id: "gpu-a", url: "https://gpu-a.internal:8790" })).status).toBe(
      202,
    );
  });

  it("takes a revoked worker out of routing at once and refuses its credential", async () => {
    const credential = await enrol("gpu-r");
    expect((await sendHeartbeat(credential, { worker_id: "gpu-r" })).status).toBe(202);
    const revoked = await call("POST", "/v1/workers/gpu-r/revoke", { key: ADMIN });
    expect(revoked.status).toBe(200);
    expect(await revoked.json()).toMatchObject({ identity: { worker_id: "gpu-r", revoked_at: expect.any(String) } });
    expect(await routableWorkerIds()).toEqual([]);
    await expectProblem(await sendHeartbeat(credential, { worker_id: "gpu-r" }), 401);
    await expectProblem(
      await call("POST", "/internal/conversions/claim", { key: credential, body: { worker_id: "gpu-r" } }),
      401,
    );
    // Even in legacy mode the shared token cannot speak for an enrolled (here revoked) id.
    await expectProblem(await sendHeartbeat(WORKER_TOKEN, { worker_id: "gpu-r" }), 403);
    expect(await listWorkers()).toEqual([]);
    await expectProblem(await call("POST", "/v1/workers/nobody/revoke", { key: ADMIN }), 404);
    // Enrolled afresh, it works again.
    expect((await sendHeartbeat(await enrol("gpu-r"), { worker_id: "gpu-r" })).status).toBe(202);
  });

  it("rotates a credential by enrolling again: the old one stops working", async () => {
    const old = await enrol("gpu-rot");
    const fresh = await enrol("gpu-rot");
    await expectProblem(await sendHeartbeat(old, { worker_id: "gpu-rot" }), 401);
    expect((await sendHeartbeat(fresh, { worker_id: "gpu-rot" })).status).toBe(202);
    expect((await listWorkers())[0]?.identity?.rotations).toBe(1);
  });

  it("exchanges an enrolment token once, and refuses forged, expired and malformed ones", async () => {
    const token = await issueEnrolment("gpu-once");
    expect((await exchange(token)).status).toBe(201);
    expect((await expectProblem(await exchange(token), 409)).detail).toContain("already exchanged");
    const claims = {
      worker_id: "gpu-x",
      url_pattern: "*",
      labels: {},
      expires_at: new Date(Date.now() + 60_000).toISOString(),
      nonce: randomHex(16),
    };
    await expectProblem(await exchange(await mintEnrolmentToken("not-the-admin-key-0123456789", claims)), 401);
    const expired = { ...claims, expires_at: new Date(Date.now() - 1000).toISOString() };
    await expectProblem(await exchange(await mintEnrolmentToken(ADMIN, expired)), 401);
    await expectProblem(await exchange(`${token.slice(0, -4)}zzzz`), 401);
    const problem = await expectProblem(await call("POST", "/internal/workers/enrol", { body: { token } }), 400);
    expect(problem.errors?.map((e) => e.field)).toContain("enrolment_token");
    expect((await listWorkers()).map((w) => w.heartbeat.worker_id)).toEqual([]);
  });

  it("validates enrolment requests naming the field, and keeps them to admins", async () => {
    const bad = await expectProblem(
      await call("POST", "/v1/workers/gpu-1/enrolment", { key: ADMIN, body: { url_pattern: "ftp://x" } }),
      400,
    );
    expect(bad.errors?.map((e) => e.field)).toEqual(["url_pattern"]);
    const badLabel = await expectProblem(
      await call("POST", "/v1/workers/gpu-1/enrolment", { key: ADMIN, body: { labels: { GPU: "h100" } } }),
      400,
    );
    expect(badLabel.errors?.[0]?.field).toMatch(/^labels/);
    await expectProblem(await call("POST", "/v1/workers/bad id/enrolment", { key: ADMIN, body: {} }), 400);
    const credential = await enrol("gpu-1");
    await expectProblem(await call("POST", "/v1/workers/gpu-2/enrolment", { key: credential, body: {} }), 403);
    await expectProblem(await call("POST", "/v1/workers/gpu-1/cordon", { key: credential }), 403);
    await expectProblem(await call("POST", "/v1/workers/gpu-1/revoke", { key: WORKER_TOKEN }), 403);
    await expectProblem(await call("POST", "/v1/workers/gpu-1/enrolment", { body: {} }), 401);
  });

  it("binds conversion claims and reports to the credential's own worker id", async () => {
    const credential = await enrol("gpu-c");
    await expectProblem(
      await call("POST", "/internal/conversions/claim", { key: credential, body: { worker_id: "gpu-other" } }),
      403,
    );
    await expectProblem(
      await call("POST", `/internal/conversions/cj_${crypto.randomUUID()}/progress`, {
        key: credential,
        body: { worker_id: "gpu-other", step: "convert", progress: 0.5 },
      }),
      403,
    );
    const own = await call("POST", "/internal/conversions/claim", { key: credential, body: { worker_id: "gpu-c" } });
    expect(own.status).toBe(204);
  });
});

describe("legacy shared worker token", () => {
  /** The app with this test's bindings but legacy mode off, as a new deployment has it. */
  async function callWithoutLegacy(path: string, key: string, body: unknown): Promise<Response> {
    const ctx = createExecutionContext();
    const request = new Request(`https://edge.test${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const response = await createEdgeApp().fetch(request, { ...env, MODELGATE_LEGACY_WORKER_TOKEN: "off" }, ctx);
    await waitOnExecutionContext(ctx);
    return response;
  }

  it("is refused unless legacy mode is on", async () => {
    await expectProblem(await callWithoutLegacy("/internal/workers/heartbeat", WORKER_TOKEN, heartbeat()), 401);
    await expectProblem(
      await callWithoutLegacy("/internal/conversions/claim", WORKER_TOKEN, { worker_id: "worker-a" }),
      401,
    );
    expect(await listWorkers()).toEqual([]);
    // An enrolled worker's own credential works with legacy mode off.
    const credential = await enrol("worker-a");
    expect((await callWithoutLegacy("/internal/workers/heartbeat", credential, heartbeat())).status).toBe(202);
    // With legacy mode on (this suite's bindings) the token heartbeats for ids nobody enrolled.
    expect((await sendHeartbeat(WORKER_TOKEN, { worker_id: "legacy-box" })).status).toBe(202);
  });

  it("is not accepted from an API key that was given the worker scope", async () => {
    const created = await call("POST", "/v1/keys", { key: ADMIN, body: { name: "w", scopes: ["worker"] } });
    const { key } = (await created.json()) as { key: string };
    await expectProblem(await sendHeartbeat(key, { worker_id: "keyed" }), 403);
    expect(await listWorkers()).toEqual([]);
  });
});

describe("cordon and drain", () => {
  it("keeps a cordoned worker out of routing and out of the conversion queue until uncordoned", async () => {
    const credential = await enrol("gpu-k");
    await sendHeartbeat(credential, { worker_id: "gpu-k" });
    await registerModel("demo-lm");
    const job = await requestConversion("demo-lm");
    const cordoned = await call("POST", "/v1/workers/gpu-k/cordon", { key: ADMIN });
    expect(await cordoned.json()).toMatchObject({ control: { cordoned: true }, drain_state: "cordoned" });
    expect(await routableWorkerIds()).toEqual([]);
    const refusedClaim = await call("POST", "/internal/conversions/claim", {
      key: credential,
      body: { worker_id: "gpu-k" },
    });
    expect(refusedClaim.status).toBe(204);
    expect((await listWorkers())[0]).toMatchObject({ live: true, drain_state: "cordoned" });

    const uncordoned = await call("POST", "/v1/workers/gpu-k/uncordon", { key: ADMIN });
    expect(await uncordoned.json()).toMatchObject({ control: { cordoned: false }, drain_state: "serving" });
    expect(await routableWorkerIds()).toEqual(["gpu-k"]);
    const claimed = await call("POST", "/internal/conversions/claim", {
      key: credential,
      body: { worker_id: "gpu-k" },
    });
    expect(((await claimed.json()) as { job: { id: string } }).job.id).toBe(job.id);
    await expectProblem(await call("POST", "/v1/workers/unknown/cordon", { key: ADMIN }), 404);
  });

  it("reports draining while work is in flight and drained once a later heartbeat shows none", async () => {
    const credential = await enrol("gpu-d");
    await sendHeartbeat(credential, { worker_id: "gpu-d", in_flight: 2, conversion_jobs: 1 });
    const drain = await call("POST", "/v1/workers/gpu-d/drain", { key: ADMIN, body: { timeout_seconds: 60 } });
    expect(await drain.json()).toMatchObject({ drain_state: "draining", control: { drain: expect.any(Object) } });
    expect(await routableWorkerIds()).toEqual([]);
    await sendHeartbeat(credential, { worker_id: "gpu-d", in_flight: 0, conversion_jobs: 1 });
    expect((await listWorkers())[0]?.drain_state).toBe("draining");
    await sendHeartbeat(credential, { worker_id: "gpu-d", in_flight: 0, conversion_jobs: 0 });
    expect((await listWorkers())[0]?.drain_state).toBe("drained");
    const bad = await expectProblem(
      await call("POST", "/v1/workers/gpu-d/drain", { key: ADMIN, body: { timeout_seconds: 0 } }),
      400,
    );
    expect(bad.errors?.map((e) => e.field)).toEqual(["timeout_seconds"]);
  });

  it("leaves a worker that announces its own shutdown out of routing", async () => {
    const credential = await enrol("gpu-s");
    await sendHeartbeat(credential, { worker_id: "gpu-s" });
    expect(await routableWorkerIds()).toEqual(["gpu-s"]);
    await sendHeartbeat(credential, { worker_id: "gpu-s", draining: true, in_flight: 1 });
    expect(await routableWorkerIds()).toEqual([]);
    expect((await listWorkers())[0]?.drain_state).toBe("draining");
    // Its state survives a restart of the pool object.
    const stub = workerPoolStub(env.WORKER_POOL);
    const stored = await runInDurableObject(stub, (_pool, state) => state.storage.list({ prefix: "identity:" }));
    expect([...stored.keys()]).toEqual(["identity:gpu-s"]);
  });
});
