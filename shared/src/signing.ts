/**
 * Edge → worker request signing: HMAC-SHA256 over method, path (with query), timestamp,
 * nonce and the body's sha256. WebCrypto only, so the same code runs in workerd and Node.
 */
export const SIGNATURE_HEADERS = {
  timestamp: "x-modelgate-timestamp",
  nonce: "x-modelgate-nonce",
  signature: "x-modelgate-signature",
  /** The worker the request is meant for: signed, so a captured request replayed to another worker fails. */
  workerId: "x-modelgate-worker-id",
} as const;

/** Requests older (or further in the future) than this are refused. */
export const SIGNATURE_MAX_AGE_MS = 60_000;

const encoder = new TextEncoder();

function toHex(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let out = "";
  for (const byte of view) out += byte.toString(16).padStart(2, "0");
  return out;
}

function fromHex(hex: string): Uint8Array<ArrayBuffer> | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/.test(hex)) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export async function sha256Hex(data: string | Uint8Array<ArrayBuffer>): Promise<string> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  return toHex(await crypto.subtle.digest("SHA-256", bytes));
}

export function randomNonce(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(16)));
}

/** Spelled this way because `CryptoKey` is a global type in workerd and browsers but not in @types/node. */
type HmacKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

const keyCache = new Map<string, Promise<HmacKey>>();

function importSigningKey(secret: string): Promise<HmacKey> {
  let key = keyCache.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]);
    // Bounded: a process holds one or two secrets (current and next during rotation).
    if (keyCache.size > 8) keyCache.clear();
    keyCache.set(secret, key);
  }
  return key;
}

export interface SignableRequest {
  method: string;
  /** Path plus query string, exactly as the receiver sees it (`/v1/generate?x=1`). */
  pathWithQuery: string;
  body: string | Uint8Array<ArrayBuffer>;
  /** The receiving worker's id; the edge always names it (an empty audience is signed as ""). */
  workerId?: string | undefined;
}

async function canonicalString(request: SignableRequest, timestamp: string, nonce: string): Promise<string> {
  const bodyHash = await sha256Hex(request.body);
  return [request.method.toUpperCase(), request.pathWithQuery, timestamp, nonce, bodyHash, request.workerId ?? ""].join(
    "\n",
  );
}

/** Returns the headers to add to the outgoing request. */
export async function signRequest(
  secret: string,
  request: SignableRequest,
  now: number = Date.now(),
  nonce: string = randomNonce(),
): Promise<Record<string, string>> {
  const timestamp = String(now);
  const key = await importSigningKey(secret);
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(await canonicalString(request, timestamp, nonce)));
  return {
    [SIGNATURE_HEADERS.timestamp]: timestamp,
    [SIGNATURE_HEADERS.nonce]: nonce,
    [SIGNATURE_HEADERS.signature]: toHex(mac),
    ...(request.workerId === undefined ? {} : { [SIGNATURE_HEADERS.workerId]: request.workerId }),
  };
}

export type SignatureFailure =
  | "missing_headers"
  | "malformed"
  | "expired"
  | "bad_signature"
  | "replayed"
  | "wrong_worker";

export interface NonceGuard {
  /** Records the nonce; false when it was already seen inside the window. */
  claim(nonce: string, timestamp: number): boolean;
}

/**
 * Remembers nonces for twice the accepted age window, so a captured request cannot be
 * replayed while its timestamp is still acceptable. Memory is bounded by the request rate.
 */
export function createNonceGuard(
  windowMs: number = SIGNATURE_MAX_AGE_MS * 2,
  now: () => number = Date.now,
): NonceGuard {
  const seen = new Map<string, number>();
  let lastSweep = now();
  return {
    claim(nonce, timestamp) {
      const current = now();
      if (current - lastSweep > windowMs / 4) {
        for (const [key, expiresAt] of seen) if (expiresAt <= current) seen.delete(key);
        lastSweep = current;
      }
      const existing = seen.get(nonce);
      if (existing !== undefined && existing > current) return false;
      seen.set(nonce, Math.max(timestamp, current) + windowMs);
      return true;
    },
  };
}

export interface VerifyOptions {
  secret: string;
  headers: { get(name: string): string | null };
  /** What arrived; its audience is read from the `x-modelgate-worker-id` header. */
  request: Omit<SignableRequest, "workerId">;
  nonceGuard: NonceGuard;
  /** The verifying worker's own id: a request signed for any other worker (or none) is refused. */
  expectedWorkerId?: string;
  now?: number;
  maxAgeMs?: number;
}

export async function verifySignedRequest(
  options: VerifyOptions,
): Promise<{ ok: true } | { ok: false; reason: SignatureFailure }> {
  const timestamp = options.headers.get(SIGNATURE_HEADERS.timestamp);
  const nonce = options.headers.get(SIGNATURE_HEADERS.nonce);
  const signature = options.headers.get(SIGNATURE_HEADERS.signature);
  if (!timestamp || !nonce || !signature) return { ok: false, reason: "missing_headers" };
  const signatureBytes = fromHex(signature);
  if (!/^[0-9]{1,16}$/.test(timestamp) || !/^[0-9a-f]{16,64}$/.test(nonce) || signatureBytes?.length !== 32) {
    return { ok: false, reason: "malformed" };
  }
  const now = options.now ?? Date.now();
  const sentAt = Number(timestamp);
  if (Math.abs(now - sentAt) > (options.maxAgeMs ?? SIGNATURE_MAX_AGE_MS)) return { ok: false, reason: "expired" };
  const audience = options.headers.get(SIGNATURE_HEADERS.workerId) ?? undefined;
  if (options.expectedWorkerId !== undefined && audience !== options.expectedWorkerId) {
    return { ok: false, reason: "wrong_worker" };
  }
  const key = await importSigningKey(options.secret);
  const data = encoder.encode(await canonicalString({ ...options.request, workerId: audience }, timestamp, nonce));
  // crypto.subtle.verify compares in constant time.
  const valid = await crypto.subtle.verify("HMAC", key, signatureBytes, data);
  if (!valid) return { ok: false, reason: "bad_signature" };
  // Claim the nonce only for authentic requests, so forged traffic cannot fill the cache.
  if (!options.nonceGuard.claim(nonce, sentAt)) return { ok: false, reason: "replayed" };
  return { ok: true };
}
