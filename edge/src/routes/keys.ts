import {
  type ApiKeyRecord,
  apiKeyView,
  CreateApiKeyRequestSchema,
  ModelgateError,
  randomNonce,
  sha256Hex,
} from "@modelgate/shared";
import { type Context, Hono } from "hono";
import type { AppEnv } from "../env.js";
import { readJsonBody } from "../http/json-body.js";
import { apiKeyStoreStub } from "../keys/api-key-store-object.js";
import { forgetCachedKey } from "../keys/stored-key-resolver.js";
import { requireScope } from "../middleware/authenticate.js";

const KEY_PREFIX_LENGTH = 12;

function randomToken(bytes: number): string {
  const raw = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...raw))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

function randomId(): string {
  return `key_${randomNonce().slice(0, 16)}`;
}

/** A new secret and its stored record; the secret itself is returned once and never stored. */
async function mintKey(
  fields: Pick<ApiKeyRecord, "name" | "scopes" | "expires_at" | "rpm" | "max_tier" | "rotated_from">,
  createdBy: string,
): Promise<{ key: string; record: ApiKeyRecord }> {
  const key = `mgk_${randomToken(24)}`;
  const record: ApiKeyRecord = {
    id: randomId(),
    prefix: key.slice(0, KEY_PREFIX_LENGTH),
    sha256: await sha256Hex(key),
    created_at: new Date().toISOString(),
    created_by: createdBy,
    ...fields,
  };
  return { key, record };
}

function keyIdParam(c: Context<AppEnv>): string {
  const id = c.req.param("id") ?? "";
  if (!/^key_[a-z0-9]{16}$/.test(id))
    throw new ModelgateError("not_found", `No API key with id ${JSON.stringify(id)}.`);
  return id;
}

/** API keys: created and rotated with the secret shown once, listed without it, revoked at once. */
export const keyRoutes = new Hono<AppEnv>()
  .post("/v1/keys", requireScope("admin"), async (c) => {
    const request = await readJsonBody(c, CreateApiKeyRequestSchema, "API key request");
    if (request.expires_at !== undefined && Date.parse(request.expires_at) <= Date.now()) {
      throw new ModelgateError("validation_failed", "expires_at must be in the future.", [
        { field: "expires_at", message: "must be in the future" },
      ]);
    }
    const { key, record } = await mintKey(request, c.get("principal").id);
    await apiKeyStoreStub(c.env.API_KEYS).create(record);
    return c.json({ ...apiKeyView(record), key }, 201);
  })
  .get("/v1/keys", requireScope("admin"), async (c) => {
    const keys = await apiKeyStoreStub(c.env.API_KEYS).list();
    return c.json({ keys: keys.map(apiKeyView) });
  })
  .delete("/v1/keys/:id", requireScope("admin"), async (c) => {
    const id = keyIdParam(c);
    const revoked = await apiKeyStoreStub(c.env.API_KEYS).revoke(id, new Date().toISOString());
    if (!revoked) throw new ModelgateError("not_found", `No API key with id ${id}.`);
    forgetCachedKey(revoked.sha256);
    return c.json(apiKeyView(revoked));
  })
  .post("/v1/keys/:id/rotate", requireScope("admin"), async (c) => {
    const id = keyIdParam(c);
    const store = apiKeyStoreStub(c.env.API_KEYS);
    const old = await store.get(id);
    if (!old) throw new ModelgateError("not_found", `No API key with id ${id}.`);
    if (old.revoked_at !== undefined)
      throw new ModelgateError("conflict", `API key ${id} is revoked; create a new one.`);
    const { key, record } = await mintKey(
      {
        name: old.name,
        scopes: old.scopes,
        expires_at: old.expires_at,
        rpm: old.rpm,
        max_tier: old.max_tier,
        rotated_from: id,
      },
      c.get("principal").id,
    );
    const stored = await store.rotate(id, record, new Date().toISOString());
    if (!stored) throw new ModelgateError("conflict", `API key ${id} was revoked meanwhile; create a new one.`);
    forgetCachedKey(old.sha256);
    return c.json({ ...apiKeyView(stored), key }, 201);
  });
