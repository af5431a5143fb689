import { z } from "zod";
import { CawsTierSchema } from "./caws-tiers.js";
import { freeText } from "./free-text.js";
import { ScopeSchema } from "./scopes.js";

/** `POST /v1/keys`: what a key may do, until when, how fast, and at which CAWS tier at most. */
export const CreateApiKeyRequestSchema = z.strictObject({
  name: freeText({ max: 100, min: 1, trim: true }),
  scopes: z.array(ScopeSchema).min(1).max(5),
  expires_at: z.iso.datetime().optional(),
  /** Requests per minute for this key, held across isolates; absent means unlimited. */
  rpm: z.int().min(1).max(1_000_000).optional(),
  /** The strictest CAWS tier this key's inference requests run at, whatever they ask for. */
  max_tier: CawsTierSchema.optional(),
});
export type CreateApiKeyRequest = z.infer<typeof CreateApiKeyRequestSchema>;

/** What is stored: the key's sha256, never the key. */
export const ApiKeyRecordSchema = z.strictObject({
  id: z.string().regex(/^key_[a-z0-9]{16}$/),
  name: z.string(),
  /** The first characters of the key, so a person can tell keys apart in listings. */
  prefix: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  scopes: z.array(ScopeSchema),
  created_at: z.iso.datetime(),
  created_by: z.string(),
  expires_at: z.iso.datetime().optional(),
  rpm: z.int().optional(),
  max_tier: CawsTierSchema.optional(),
  revoked_at: z.iso.datetime().optional(),
  /** Set on a key made by rotation: the id of the key it replaced. */
  rotated_from: z.string().optional(),
});
export type ApiKeyRecord = z.infer<typeof ApiKeyRecordSchema>;

/** A key as listings show it: everything but the hash. */
export type ApiKeyView = Omit<ApiKeyRecord, "sha256">;

export function apiKeyView(record: ApiKeyRecord): ApiKeyView {
  const { sha256: _hash, ...view } = record;
  return view;
}

export function isApiKeyUsable(record: ApiKeyRecord, now: number): boolean {
  if (record.revoked_at !== undefined && Date.parse(record.revoked_at) <= now) return false;
  return record.expires_at === undefined || Date.parse(record.expires_at) > now;
}

/**
 * What `GET /v1/whoami` says of the key that asks: its id and scopes (the console shows only
 * what they allow), its per-minute limit and tier cap. Never the key itself.
 */
export const WhoAmISchema = z.strictObject({
  id: z.string(),
  kind: z.enum(["admin-key", "worker-token", "worker-credential", "api-key"]),
  scopes: z.array(ScopeSchema),
  rpm: z.int().min(1).nullable(),
  max_tier: CawsTierSchema.nullable(),
});
export type WhoAmI = z.infer<typeof WhoAmISchema>;
