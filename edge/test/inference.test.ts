import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { workerPoolStub } from "../src/pool/worker-pool-object.js";
import {
  ADMIN,
  callThroughSelf,
  causalLmRegistration,
  expectProblem,
  heartbeat,
  registerAndPromote,
  resetEdge,
  sendHeartbeat,
  tensorRegistration,
  WORKER_TOKEN,
} from "./support/requests.js";

interface Echo {
  echoed: { model: string; prompt?: string; target: { name: string; version: number; artifact: { sha256: string } } };
  path: string;
  signed_with: string;
}

beforeEach(async () => {
  await registerAndPromote("demo-lm", causalLmRegistration());
  await registerAndPromote("spirals", tensorRegistration());
});
afterEach(() => resetEdge());

describe("inference routing", () => {
  it("forwards a signed generate request to the live worker and names it in the headers", async () => {
    await sendHeartbeat({ worker_id: "gpu-box-1", url: inject("standInWorkerUrl") });
    const response = await callThroughSelf("POST", "/v1/generate", {
      key: ADMIN,
      body: { model: "demo-lm", prompt: "hello", max_new_tokens: 16 },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-modelgate-worker")).toBe("gpu-box-1");
    expect(response.headers.get("x-modelgate-model")).toBe("demo-lm@1");
    expect(response.headers.get("x-modelgate-route-reason")).toContain("demo-lm@1 on gpu-box-1");
    const echo = (await response.json()) as Echo;
    // The stand-in verified the HMAC signature before echoing; the body carries the resolved version.
    expect(echo.path).toBe("/v1/generate");
    expect(echo.echoed).toMatchObject({ model: "demo-lm", prompt: "hello", target: { name: "demo-lm", version: 1 } });
  });

  it("resolves name@N to that version and predict to a tensor model", async () => {
    await sendHeartbeat({ worker_id: "gpu-box-1", url: inject("standInWorkerUrl") });
    const response = await callThroughSelf("POST", "/v1/predict", {
      key: ADMIN,
      body: { model: "spirals@1", data: [[0.5, 0.3]] },
    });
    expect(response.status).toBe(200);
    const echo = (await response.json()) as Echo;
    expect(echo.path).toBe("/v1/predict");
    expect(echo.echoed.target).toMatchObject({ name: "spirals", version: 1 });
  });

  it("prefers the worker with the shortest queue", async () => {
    await sendHeartbeat({ worker_id: "busy", url: inject("standInWorkerUrl"), queue_depth: 5 });
    await sendHeartbeat({ worker_id: "idle", url: inject("standInWorkerUrl"), queue_depth: 0 });
    const response = await callThroughSelf("POST", "/v1/generate", {
      key: ADMIN,
      body: { model: "demo-lm", prompt: "hi" },
    });
    expect(response.headers.get("x-modelgate-worker")).toBe("idle");
    await response.body?.cancel();
  });

  it("skips a worker without enough free memory", async () => {
    const small = heartbeat().gpus.map((g) => ({ ...g, memory_free_mb: 10 }));
    await sendHeartbeat({ worker_id: "small", url: inject("standInWorkerUrl"), gpus: small, queue_depth: 0 });
    await sendHeartbeat({ worker_id: "large", url: inject("standInWorkerUrl"), queue_depth: 4 });
    const response = await callThroughSelf("POST", "/v1/generate", {
      key: ADMIN,
      body: { model: "demo-lm", prompt: "hi" },
    });
    expect(response.headers.get("x-modelgate-worker")).toBe("large");
    await response.body?.cancel();
  });

  it("never routes to a worker whose heartbeat is older than three intervals", async () => {
    const stale = new Date(Date.now() - 16_000).toISOString();
    await runInDurableObject(workerPoolStub(env.WORKER_POOL), (pool) =>
      pool.recordHeartbeat(heartbeat({ worker_id: "stale", url: inject("standInWorkerUrl") }), stale),
    );
    const problem = await expectProblem(
      await callThroughSelf("POST", "/v1/generate", { key: ADMIN, body: { model: "demo-lm", prompt: "hi" } }),
      503,
    );
    expect(problem.detail).toContain("1 stale");
  });

  it("fails over to the next worker when the first one fails or is unreachable", async () => {
    await sendHeartbeat({ worker_id: "a-down", url: inject("unreachableWorkerUrl"), queue_depth: 0 });
    await sendHeartbeat({ worker_id: "b-failing", url: inject("failingWorkerUrl"), queue_depth: 1 });
    await sendHeartbeat({ worker_id: "c-good", url: inject("standInWorkerUrl"), queue_depth: 2 });
    const response = await callThroughSelf("POST", "/v1/generate", {
      key: ADMIN,
      body: { model: "demo-lm", prompt: "hi" },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-modelgate-worker")).toBe("c-good");
    expect(response.headers.get("x-modelgate-route-reason")).toContain("after 2 failed attempt(s)");
    await response.body?.cancel();
  });

  it("answers 502 without the worker's internals when every worker fails", async () => {
    await sendHeartbeat({ worker_id: "failing", url: inject("failingWorkerUrl") });
    const response = await callThroughSelf("POST", "/v1/generate", {
      key: ADMIN,
      body: { model: "demo-lm", prompt: "hi" },
    });
    const problem = await expectProblem(response, 502);
    expect(JSON.stringify(problem)).not.toContain("secret internals");
  });

  it("passes a worker's 4xx problem through to the caller", async () => {
    await sendHeartbeat({ worker_id: "gpu-box-1", url: inject("standInWorkerUrl") });
    const response = await callThroughSelf("POST", "/v1/predict", {
      key: ADMIN,
      body: { model: "spirals", data: [[1, 2, 3]] },
    });
    const problem = await expectProblem(response, 400);
    expect(problem.errors?.map((e) => e.field)).toEqual(["data"]);
  });

  describe("errors", () => {
    it("answers 404 for an unknown model and for a missing version", async () => {
      const unknown = await expectProblem(
        await callThroughSelf("POST", "/v1/generate", { key: ADMIN, body: { model: "nope", prompt: "hi" } }),
        404,
      );
      expect(unknown.detail).toContain("No model named nope");
      await expectProblem(
        await callThroughSelf("POST", "/v1/generate", { key: ADMIN, body: { model: "demo-lm@7", prompt: "hi" } }),
        404,
      );
    });

    it("answers 404 when a model has no Production version", async () => {
      await callThroughSelf("POST", "/v1/models/fresh/versions", { key: ADMIN, body: causalLmRegistration() });
      const problem = await expectProblem(
        await callThroughSelf("POST", "/v1/generate", { key: ADMIN, body: { model: "fresh", prompt: "hi" } }),
        404,
      );
      expect(problem.detail).toContain("fresh@production does not exist");
    });

    it("answers 400 naming `model` for a bad reference or the wrong kind", async () => {
      const bad = await expectProblem(
        await callThroughSelf("POST", "/v1/generate", { key: ADMIN, body: { model: "Demo LM!", prompt: "hi" } }),
        400,
      );
      expect(bad.errors?.map((e) => e.field)).toEqual(["model"]);
      const kind = await expectProblem(
        await callThroughSelf("POST", "/v1/predict", { key: ADMIN, body: { model: "demo-lm", data: [[1, 2]] } }),
        400,
      );
      expect(kind.detail).toContain("/v1/generate");
    });

    it("answers 400 naming the field for wrong types and malformed JSON", async () => {
      const types = await expectProblem(
        await callThroughSelf("POST", "/v1/generate", {
          key: ADMIN,
          body: { model: "demo-lm", prompt: "hi", max_new_tokens: "16" },
        }),
        400,
      );
      expect(types.errors?.map((e) => e.field)).toEqual(["max_new_tokens"]);
      await expectProblem(
        await callThroughSelf("POST", "/v1/predict", { key: ADMIN, rawBody: '{"model": "spirals", "data": [[' }),
        400,
      );
      const empty = await expectProblem(
        await callThroughSelf("POST", "/v1/predict", { key: ADMIN, body: { model: "spirals", data: [] } }),
        400,
      );
      expect(empty.errors?.map((e) => e.field)).toEqual(["data"]);
    });

    it("answers 413 for an oversized prompt", async () => {
      await expectProblem(
        await callThroughSelf("POST", "/v1/generate", {
          key: ADMIN,
          body: { model: "demo-lm", prompt: "x".repeat(70_000) },
        }),
        413,
      );
    });

    it("answers 503 when no worker is alive", async () => {
      const problem = await expectProblem(
        await callThroughSelf("POST", "/v1/generate", { key: ADMIN, body: { model: "demo-lm", prompt: "hi" } }),
        503,
      );
      expect(problem.code).toBe("no_worker_available");
    });
  });

  describe("security", () => {
    it("refuses inference without a key, with a wrong key, and with the worker token", async () => {
      const body = { model: "demo-lm", prompt: "hi" };
      await expectProblem(await callThroughSelf("POST", "/v1/generate", { body }), 401);
      await expectProblem(
        await callThroughSelf("POST", "/v1/predict", { body: { model: "spirals", data: [[0.5, 0.3]] } }),
        401,
      );
      await expectProblem(await callThroughSelf("POST", "/v1/generate", { key: "mg_wrong_key_0123456789", body }), 401);
      await expectProblem(await callThroughSelf("POST", "/v1/generate", { key: WORKER_TOKEN, body }), 403);
    });
  });
});
