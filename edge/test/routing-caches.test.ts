/**
 * The per-isolate routing caches, inside workerd with real R2 and Durable Objects. The other
 * edge tests run with the caches off (they change storage between requests); here the app runs
 * with long TTLs to show what the caches keep and what drops them: a registry write or a
 * heartbeat through this isolate is visible to the very next routed request.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { createEdgeApp } from "../src/app.js";
import { workerPoolStub } from "../src/pool/worker-pool-object.js";
import { registryCoordinator } from "../src/registry/registry-access.js";
import { IsolateCache } from "../src/routing/routing-caches.js";
import { ADMIN, causalLmRegistration, heartbeat, resetEdge, WORKER_TOKEN } from "./support/requests.js";

const app = createEdgeApp();
// The test bindings with long cache TTLs (bindings are not own enumerable properties: derive, don't
// spread). Defined, not assigned: `env` is a proxy, and assigning through an object derived from
// it reaches the proxy's set trap, which changed the shared bindings for every later test file.
const cachedEnv: typeof env = Object.create(env, {
  MODELGATE_ROUTING_RECORD_CACHE_MS: { value: "60000", enumerable: true },
  MODELGATE_ROUTING_VIEW_CACHE_MS: { value: "10000", enumerable: true },
}) as typeof env;

async function cachedCall(method: string, path: string, key: string, body?: unknown): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await app.fetch(
    new Request(`https://edge.test${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }),
    cachedEnv,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return response;
}

async function registerAndPromote(): Promise<number> {
  const registered = await cachedCall("POST", "/v1/models/demo-lm/versions", ADMIN, causalLmRegistration());
  expect(registered.status, await registered.clone().text()).toBe(201);
  const { version } = (await registered.json()) as { version: number };
  const promoted = await cachedCall("POST", `/v1/models/demo-lm/versions/${version}/stage`, ADMIN, {
    stage: "Production",
  });
  expect(promoted.status).toBe(200);
  return version;
}

const generate = () => cachedCall("POST", "/v1/generate", ADMIN, { model: "demo-lm", prompt: "hi", max_new_tokens: 2 });

beforeEach(async () => {
  await registerAndPromote();
});
afterEach(() => resetEdge());

describe("routing caches (on)", () => {
  it("serves a newly promoted version at once when the promotion went through this isolate", async () => {
    await cachedCall(
      "POST",
      "/internal/workers/heartbeat",
      WORKER_TOKEN,
      heartbeat({ worker_id: "w1", url: inject("standInWorkerUrl") }),
    );
    const first = await generate();
    expect(first.headers.get("x-modelgate-model")).toBe("demo-lm@1");
    const second = await registerAndPromote();
    const after = await generate();
    expect(after.headers.get("x-modelgate-model")).toBe(`demo-lm@${second}`);
  });

  it("keeps serving the cached record when the registry changes behind this isolate's back", async () => {
    await cachedCall(
      "POST",
      "/internal/workers/heartbeat",
      WORKER_TOKEN,
      heartbeat({ worker_id: "w1", url: inject("standInWorkerUrl") }),
    );
    expect((await generate()).headers.get("x-modelgate-model")).toBe("demo-lm@1");
    // Register and promote version 2 straight through the coordinator: no request passes this
    // isolate's middleware, as when another isolate makes the change.
    const registered = await cachedCall("POST", "/v1/models/demo-lm/versions", ADMIN, causalLmRegistration());
    expect(registered.status).toBe(201);
    // (registering through the app dropped the cache; read version 1 again to cache it)
    expect((await generate()).headers.get("x-modelgate-model")).toBe("demo-lm@1");
    const promoted = await registryCoordinator(env).changeStage(
      "demo-lm",
      { version: 2, stage: "Production", archiveExisting: true },
      "test",
    );
    expect(promoted.ok).toBe(true);
    expect((await generate()).headers.get("x-modelgate-model")).toBe("demo-lm@1");
  });

  it("sees a heartbeat through this isolate at once: a newly idle worker takes the next request", async () => {
    const url = inject("standInWorkerUrl");
    await cachedCall(
      "POST",
      "/internal/workers/heartbeat",
      WORKER_TOKEN,
      heartbeat({ worker_id: "busy", url, queue_depth: 0 }),
    );
    expect((await generate()).headers.get("x-modelgate-worker")).toBe("busy");
    // Straight into the pool (as another isolate's heartbeat would land): this isolate keeps its view.
    const pool = workerPoolStub(env.WORKER_POOL);
    await pool.recordHeartbeat(heartbeat({ worker_id: "busy", url, queue_depth: 40 }));
    await pool.recordHeartbeat(heartbeat({ worker_id: "idle", url, queue_depth: 0 }));
    expect((await generate()).headers.get("x-modelgate-worker")).toBe("busy");
    // A heartbeat through this isolate drops the view: the next request sees both workers.
    await cachedCall(
      "POST",
      "/internal/workers/heartbeat",
      WORKER_TOKEN,
      heartbeat({ worker_id: "idle", url, queue_depth: 0 }),
    );
    expect((await generate()).headers.get("x-modelgate-worker")).toBe("idle");
  });

  it("turns the caches on for its own bindings only: the shared ones keep them off", async () => {
    // A request through the app with the cached bindings (what used to write the TTLs through).
    const response = await generate();
    await response.body?.cancel();
    expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(cachedEnv.MODELGATE_ROUTING_VIEW_CACHE_MS).toBe("10000");
    expect(env.MODELGATE_ROUTING_VIEW_CACHE_MS).toBe("0");
    expect(env.MODELGATE_ROUTING_RECORD_CACHE_MS).toBe("0");
  });
});

describe("IsolateCache", () => {
  it("shares one load between concurrent misses, keeps it for the TTL, and reloads after", async () => {
    const cache = new IsolateCache<string, number>(8);
    let loads = 0;
    const load = async () => ++loads;
    const [a, b] = await Promise.all([cache.get("k", 100, load, 0), cache.get("k", 100, load, 0)]);
    expect([a, b, loads]).toEqual([1, 1, 1]);
    expect(await cache.get("k", 100, load, 99)).toBe(1);
    expect(await cache.get("k", 100, load, 100)).toBe(2);
    cache.clear();
    expect(await cache.get("k", 100, load, 101)).toBe(3);
  });

  it("does not keep a failed load, and with a TTL of 0 always loads", async () => {
    const cache = new IsolateCache<string, number>(8);
    let calls = 0;
    const failing = async () => {
      calls++;
      throw new Error("storage down");
    };
    await expect(cache.get("k", 1000, failing, 0)).rejects.toThrow("storage down");
    await expect(cache.get("k", 1000, failing, 1)).rejects.toThrow("storage down");
    expect(calls).toBe(2);
    let loads = 0;
    await cache.get("x", 0, async () => ++loads);
    await cache.get("x", 0, async () => ++loads);
    expect(loads).toBe(2);
  });
});
