import { env } from "cloudflare:test";
import type { ApiKeyView } from "@modelgate/shared";
import { afterEach, describe, expect, inject, it } from "vitest";
import { apiKeyStoreStub } from "../src/keys/api-key-store-object.js";
import { KEY_CACHE_TTL_MS } from "../src/keys/stored-key-resolver.js";
import {
  ADMIN,
  call,
  causalLmRegistration,
  expectProblem,
  registerAndPromote,
  resetEdge,
  sendHeartbeat,
  WORKER_TOKEN,
} from "./support/requests.js";

afterEach(() => resetEdge());

interface CreatedKey extends ApiKeyView {
  key: string;
}

async function createKey(body: Record<string, unknown>, key: string = ADMIN): Promise<CreatedKey> {
  const response = await call("POST", "/v1/keys", { key, body });
  expect(response.status).toBe(201);
  return (await response.json()) as CreatedKey;
}

async function listKeys(): Promise<ApiKeyView[]> {
  return ((await (await call("GET", "/v1/keys", { key: ADMIN })).json()) as { keys: ApiKeyView[] }).keys;
}

describe("API keys", () => {
  it("creates a key shown once, lists it without the secret, and the key works within its scopes", async () => {
    const created = await createKey({ name: "reader", scopes: ["models:read"] });
    expect(created.key).toMatch(/^mgk_[A-Za-z0-9_-]{32}$/);
    expect(created.prefix).toBe(created.key.slice(0, 12));
    expect(created).toMatchObject({ name: "reader", scopes: ["models:read"], created_by: "admin" });
    expect(created).not.toHaveProperty("sha256");

    const listed = await listKeys();
    expect(listed.map((k) => k.id)).toEqual([created.id]);
    expect(JSON.stringify(listed)).not.toContain(created.key);
    expect(listed[0]).not.toHaveProperty("sha256");

    expect((await call("GET", "/v1/models", { key: created.key })).status).toBe(200);
    const denied = await expectProblem(
      await call("POST", "/v1/models/x/versions", { key: created.key, body: causalLmRegistration() }),
      403,
    );
    expect(denied.detail).toContain("models:write");
  });

  it("stores only the key's hash", async () => {
    const created = await createKey({ name: "hashed", scopes: ["infer"] });
    const stored = await apiKeyStoreStub(env.API_KEYS).get(created.id);
    expect(stored?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(created.key);
  });

  it("revokes a key at once in this isolate", async () => {
    const created = await createKey({ name: "short-lived", scopes: ["models:read"] });
    expect((await call("GET", "/v1/models", { key: created.key })).status).toBe(200);
    const revoked = await call("DELETE", `/v1/keys/${created.id}`, { key: ADMIN });
    expect(revoked.status).toBe(200);
    expect(((await revoked.json()) as ApiKeyView).revoked_at).toBeDefined();
    await expectProblem(await call("GET", "/v1/models", { key: created.key }), 401);
  });

  it("honours a revocation made elsewhere within the cache lifetime (well under 5 s)", async () => {
    const created = await createKey({ name: "elsewhere", scopes: ["models:read"] });
    expect((await call("GET", "/v1/models", { key: created.key })).status).toBe(200);
    // Revoked in the store directly, as another isolate's DELETE would: this isolate's cache is not told.
    await apiKeyStoreStub(env.API_KEYS).revoke(created.id, new Date().toISOString());
    await new Promise((resolve) => setTimeout(resolve, KEY_CACHE_TTL_MS + 200));
    await expectProblem(await call("GET", "/v1/models", { key: created.key }), 401);
    expect(KEY_CACHE_TTL_MS).toBeLessThan(5000);
  });

  it("refuses an expired key", async () => {
    const created = await createKey({ name: "expiring", scopes: ["models:read"] });
    const stored = await apiKeyStoreStub(env.API_KEYS).get(created.id);
    if (!stored) throw new Error("key not stored");
    // Rewrite the stored record as if its expiry had passed.
    await apiKeyStoreStub(env.API_KEYS).create({
      ...stored,
      id: "key_0000000000000001",
      expires_at: "2020-01-01T00:00:00Z",
    });
    await apiKeyStoreStub(env.API_KEYS).revoke(created.id, new Date().toISOString());
    await new Promise((resolve) => setTimeout(resolve, KEY_CACHE_TTL_MS + 200));
    await expectProblem(await call("GET", "/v1/models", { key: created.key }), 401);
  });

  it("rotates a key: the new secret works, the old one stops, settings carry over", async () => {
    const created = await createKey({ name: "rotating", scopes: ["models:read"], rpm: 100, max_tier: "tier_2" });
    const response = await call("POST", `/v1/keys/${created.id}/rotate`, { key: ADMIN });
    expect(response.status).toBe(201);
    const rotated = (await response.json()) as CreatedKey;
    expect(rotated).toMatchObject({
      name: "rotating",
      scopes: ["models:read"],
      rpm: 100,
      max_tier: "tier_2",
      rotated_from: created.id,
    });
    expect(rotated.key).not.toBe(created.key);
    expect((await call("GET", "/v1/models", { key: rotated.key })).status).toBe(200);
    await expectProblem(await call("GET", "/v1/models", { key: created.key }), 401);
    await expectProblem(await call("POST", `/v1/keys/${created.id}/rotate`, { key: ADMIN }), 409);
  });

  it("limits a key to its requests per minute across requests, answering 429 with Retry-After", async () => {
    const created = await createKey({ name: "slow", scopes: ["models:read"], rpm: 2 });
    expect((await call("GET", "/v1/models", { key: created.key })).status).toBe(200);
    expect((await call("GET", "/v1/models", { key: created.key })).status).toBe(200);
    const limited = await call("GET", "/v1/models", { key: created.key });
    const problem = await expectProblem(limited, 429);
    expect(problem.code).toBe("rate_limited");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    // Another key is not affected.
    expect((await call("GET", "/v1/models", { key: ADMIN })).status).toBe(200);
  });

  it("sends the key's maximum tier to the worker as a signed ceiling", async () => {
    await registerAndPromote("demo-lm", causalLmRegistration());
    await sendHeartbeat({ worker_id: "gpu-box-1", url: inject("standInWorkerUrl") });
    const strict = await createKey({ name: "strict", scopes: ["infer"], max_tier: "tier_1" });
    const response = await call("POST", "/v1/generate", {
      key: strict.key,
      body: { model: "demo-lm", prompt: "hi", runtime_config: { caws_tier: "tier_3", max_refinement_loops: 3 } },
    });
    expect(response.status).toBe(200);
    const echo = (await response.json()) as { echoed: { caws_tier_cap?: string } };
    expect(echo.echoed.caws_tier_cap).toBe("tier_1");
    const open = await call("POST", "/v1/generate", { key: ADMIN, body: { model: "demo-lm", prompt: "hi" } });
    expect(((await open.json()) as { echoed: { caws_tier_cap?: string } }).echoed.caws_tier_cap).toBeUndefined();
  });

  describe("bad input stores nothing", () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ["a missing name", { scopes: ["infer"] }, "name"],
      ["an unknown scope", { name: "x", scopes: ["root"] }, "scopes.0"],
      ["no scopes", { name: "x", scopes: [] }, "scopes"],
      ["an expiry in the past", { name: "x", scopes: ["infer"], expires_at: "2020-01-01T00:00:00Z" }, "expires_at"],
      ["a zero rpm", { name: "x", scopes: ["infer"], rpm: 0 }, "rpm"],
      ["an unknown tier", { name: "x", scopes: ["infer"], max_tier: "tier_9" }, "max_tier"],
      ["an unknown field", { name: "x", scopes: ["infer"], owner: "me" }, ""],
    ];
    for (const [what, body, field] of cases) {
      it(what, async () => {
        const problem = await expectProblem(await call("POST", "/v1/keys", { key: ADMIN, body }), 400);
        expect(problem.errors?.map((e) => e.field)).toContain(field);
        expect(await listKeys()).toEqual([]);
      });
    }

    it("answers 404 for unknown key ids", async () => {
      await expectProblem(await call("DELETE", "/v1/keys/key_ffffffffffffffff", { key: ADMIN }), 404);
      await expectProblem(await call("DELETE", "/v1/keys/not-an-id", { key: ADMIN }), 404);
      await expectProblem(await call("POST", "/v1/keys/key_ffffffffffffffff/rotate", { key: ADMIN }), 404);
    });
  });

  it("lets only admin keys manage keys", async () => {
    const writer = await createKey({ name: "writer", scopes: ["models:write", "infer"] });
    await expectProblem(
      await call("POST", "/v1/keys", { key: writer.key, body: { name: "x", scopes: ["admin"] } }),
      403,
    );
    await expectProblem(await call("GET", "/v1/keys", { key: writer.key }), 403);
    await expectProblem(await call("DELETE", `/v1/keys/${writer.id}`, { key: writer.key }), 403);
    await expectProblem(await call("GET", "/v1/keys"), 401);
    await expectProblem(await call("GET", "/v1/keys", { key: WORKER_TOKEN }), 403);
    // A stored admin key may manage keys too.
    const admin = await createKey({ name: "ops", scopes: ["admin"] });
    expect((await call("GET", "/v1/keys", { key: admin.key })).status).toBe(200);
  });
});
