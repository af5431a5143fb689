/**
 * Per-worker identity and fleet control (issue 17): an admin enrols a worker id with an allowed
 * URL pattern and labels, the worker exchanges the one-time enrolment token for its own
 * credential, and operators cordon, drain or revoke it. Schemas and pure rules only: the edge
 * stores identities in its worker pool, the worker and the CLI speak these shapes.
 */
import { z } from "zod";
import { sha256Hex } from "./signing.js";

export const WorkerIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, "must be 1–64 characters of A-Z, a-z, 0-9, '.', '_' or '-'");

/**
 * Where an enrolled worker may say it is reachable: a whole URL where `*` stands for any run of
 * characters other than `/` (`https://gpu-*.internal:8790`, `http://10.0.0.*:8790`), or `*` alone
 * for any http(s) URL. A heartbeat announcing a URL outside it is refused, so a stolen
 * credential cannot point the edge (and callers' prompts) at a host of the thief's choosing.
 */
export const UrlPatternSchema = z
  .string()
  .trim()
  .max(300)
  .refine(
    (pattern) => pattern === "*" || /^https?:\/\/[^\s/]+(\/[^\s]*)?$/.test(pattern),
    "must be * or an http(s) URL pattern such as https://gpu-*.internal:8790",
  );

export const ANY_URL_PATTERN = "*";

/** `gpu=h100`, `zone=eu-1`: lower-case names, short values, at most 32 of them. */
export const WorkerLabelsSchema = z
  .record(
    z.string().regex(/^[a-z0-9][a-z0-9._/-]{0,62}$/, "label names are lower-case letters, digits, '.', '_', '/', '-'"),
    z.string().regex(/^[A-Za-z0-9._-]{0,63}$/, "label values are up to 63 of A-Z, a-z, 0-9, '.', '_', '-'"),
  )
  .refine((labels) => Object.keys(labels).length <= 32, "at most 32 labels");
export type WorkerLabels = z.infer<typeof WorkerLabelsSchema>;

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
}

/** Whether an announced URL lies inside the pattern (a trailing `/` on either side is ignored). */
export function urlMatchesPattern(url: string, pattern: string): boolean {
  if (pattern === ANY_URL_PATTERN) return /^https?:\/\//.test(url);
  const strip = (text: string) => text.replace(/\/+$/, "");
  const source = strip(pattern).split("*").map(escapeRegExp).join("[^/]*");
  return new RegExp(`^${source}$`, "i").test(strip(url));
}

/** `POST /v1/workers/:id/enrolment` (admin). */
export const EnrolWorkerRequestSchema = z.strictObject({
  url_pattern: UrlPatternSchema.default(ANY_URL_PATTERN),
  labels: WorkerLabelsSchema.default({}),
  /** How long the one-time token may wait to be exchanged. */
  ttl_seconds: z
    .int()
    .min(60)
    .max(7 * 24 * 3600)
    .default(24 * 3600),
});
export type EnrolWorkerRequest = z.input<typeof EnrolWorkerRequestSchema>;

export const EnrolmentIssuedSchema = z.strictObject({
  worker_id: WorkerIdSchema,
  /** Give it to the worker as MODELGATE_ENROLMENT_TOKEN; it works once, until `expires_at`. */
  enrolment_token: z.string(),
  expires_at: z.iso.datetime(),
  url_pattern: z.string(),
  labels: WorkerLabelsSchema,
});
export type EnrolmentIssued = z.infer<typeof EnrolmentIssuedSchema>;

/** `POST /internal/workers/enrol`: the worker trades its enrolment token for its credential. */
export const ExchangeEnrolmentRequestSchema = z.strictObject({
  enrolment_token: z.string().min(20).max(4096),
});

export const WorkerCredentialIssuedSchema = z.strictObject({
  worker_id: WorkerIdSchema,
  /** The worker's own bearer token for heartbeats and job calls; the edge keeps only its sha256. */
  credential: z.string(),
  url_pattern: z.string(),
  labels: WorkerLabelsSchema,
});
export type WorkerCredentialIssued = z.infer<typeof WorkerCredentialIssuedSchema>;

/** What the edge keeps per enrolled worker. */
export const WorkerIdentitySchema = z.strictObject({
  worker_id: WorkerIdSchema,
  credential_sha256: z.string().regex(/^[0-9a-f]{64}$/),
  url_pattern: z.string(),
  labels: WorkerLabelsSchema,
  enrolled_at: z.iso.datetime(),
  /** How many times the credential was replaced by a fresh enrolment (rotation). */
  rotations: z.int().min(0),
  revoked_at: z.iso.datetime().optional(),
});
export type WorkerIdentity = z.infer<typeof WorkerIdentitySchema>;

/** An identity as listings show it: everything but the hash. */
export const WorkerIdentityViewSchema = WorkerIdentitySchema.omit({ credential_sha256: true });
export type WorkerIdentityView = z.infer<typeof WorkerIdentityViewSchema>;

/** Operator control of one worker: cordoned takes no new work; a drain also waits for what runs. */
export const WorkerControlSchema = z.strictObject({
  cordoned: z.boolean(),
  cordoned_at: z.iso.datetime().optional(),
  /** Set by `drain`: when it was asked and until when it may wait for work in flight. */
  drain: z.strictObject({ requested_at: z.iso.datetime(), deadline: z.iso.datetime() }).optional(),
});
export type WorkerControl = z.infer<typeof WorkerControlSchema>;

export const DrainWorkerRequestSchema = z.strictObject({
  /** How long the drain may wait for generations and conversion leases in flight. */
  timeout_seconds: z.int().min(1).max(86_400).default(300),
});

/**
 * `serving`: takes work; `cordoned`: no new work; `draining`: cordoned (or shutting down) with
 * work still in flight; `drained`: nothing in flight, safe to stop; `drain_timed_out`: the
 * deadline passed with work still running.
 */
export const WorkerDrainStateSchema = z.enum(["serving", "cordoned", "draining", "drained", "drain_timed_out"]);
export type WorkerDrainState = z.infer<typeof WorkerDrainStateSchema>;

/** What the last heartbeat says is still running there. */
export interface WorkerWorkInFlight {
  in_flight: number;
  queue_depth: number;
  conversion_jobs?: number | undefined;
  /** The worker announced it is shutting down (SIGTERM): it drains by itself. */
  draining?: boolean | undefined;
}

/**
 * The drain state from the operator's control and the newest heartbeat. Drained needs a
 * heartbeat sent after the drain began, so work that started just before it is not missed.
 */
export function workerDrainState(
  control: WorkerControl | undefined,
  heartbeat: (WorkerWorkInFlight & { sent_at: string }) | undefined,
  receivedAt: string | undefined,
  now: number,
): WorkerDrainState {
  const selfDraining = heartbeat?.draining === true;
  if (!control?.cordoned && !selfDraining) return "serving";
  if (!control?.drain && !selfDraining) return "cordoned";
  const since = control?.drain ? Date.parse(control.drain.requested_at) : 0;
  const idle =
    heartbeat !== undefined &&
    heartbeat.in_flight === 0 &&
    heartbeat.queue_depth === 0 &&
    (heartbeat.conversion_jobs ?? 0) === 0 &&
    receivedAt !== undefined &&
    Date.parse(receivedAt) >= since;
  if (idle) return "drained";
  if (control?.drain && now > Date.parse(control.drain.deadline)) return "drain_timed_out";
  return "draining";
}

/** Whether routing may send this worker new requests or conversion jobs. */
export function workerTakesNewWork(control: WorkerControl | undefined, heartbeat: { draining?: boolean | undefined }) {
  return !control?.cordoned && heartbeat.draining !== true;
}

// ---------------------------------------------------------------------------------------------
// Enrolment tokens: self-contained and signed with a key derived from the admin key, so that
// whoever holds the admin key (the CLI through the edge, or the local stack that generated it)
// can issue one without a round trip; the edge makes each one single-use when it is exchanged.

const ENROLMENT_PREFIX = "mge_";
const ENROLMENT_DOMAIN = "modelgate worker enrolment v1\n";

export const EnrolmentClaimsSchema = z.strictObject({
  worker_id: WorkerIdSchema,
  url_pattern: UrlPatternSchema,
  labels: WorkerLabelsSchema,
  expires_at: z.iso.datetime(),
  /** Recorded when exchanged, so the token works once. */
  nonce: z.string().regex(/^[0-9a-f]{32}$/),
});
export type EnrolmentClaims = z.infer<typeof EnrolmentClaimsSchema>;

const encoder = new TextEncoder();

function base64UrlEncode(text: string): string {
  const bytes = encoder.encode(text);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function base64UrlDecode(text: string): string | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
      Uint8Array.from(binary, (c) => c.charCodeAt(0)),
    );
  } catch {
    return undefined;
  }
}

async function enrolmentMac(adminKey: string, payload: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(adminKey), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(ENROLMENT_DOMAIN + payload));
  return Array.from(new Uint8Array(mac), (b) => b.toString(16).padStart(2, "0")).join("");
}

export function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function mintEnrolmentToken(adminKey: string, claims: EnrolmentClaims): Promise<string> {
  const payload = base64UrlEncode(JSON.stringify(EnrolmentClaimsSchema.parse(claims)));
  return `${ENROLMENT_PREFIX}${payload}.${await enrolmentMac(adminKey, payload)}`;
}

export type EnrolmentTokenFailure = "malformed" | "bad_signature" | "expired";

/** The token's claims when it is authentic and unexpired (single use is the edge's to enforce). */
export async function readEnrolmentToken(
  adminKey: string,
  token: string,
  now: number,
): Promise<{ ok: true; claims: EnrolmentClaims } | { ok: false; reason: EnrolmentTokenFailure }> {
  const match = /^mge_([A-Za-z0-9_-]{1,3000})\.([0-9a-f]{64})$/.exec(token);
  if (!match?.[1] || !match[2]) return { ok: false, reason: "malformed" };
  const [expected, given] = await Promise.all([sha256Hex(await enrolmentMac(adminKey, match[1])), sha256Hex(match[2])]);
  // Compared as digests of the hex MACs, so the comparison leaks nothing about the expected MAC.
  if (expected !== given) return { ok: false, reason: "bad_signature" };
  const json = base64UrlDecode(match[1]);
  let parsed: ReturnType<typeof EnrolmentClaimsSchema.safeParse>;
  try {
    parsed = EnrolmentClaimsSchema.safeParse(JSON.parse(json ?? ""));
  } catch {
    return { ok: false, reason: "malformed" };
  }
  if (!parsed.success) return { ok: false, reason: "malformed" };
  if (Date.parse(parsed.data.expires_at) <= now) return { ok: false, reason: "expired" };
  return { ok: true, claims: parsed.data };
}

/** Worker credentials start with this, so the edge knows where to look one up. */
export const WORKER_CREDENTIAL_PREFIX = "mgw_";

export function newWorkerCredential(): string {
  return `${WORKER_CREDENTIAL_PREFIX}${randomHex(32)}`;
}
