import { describe, expect, it } from "vitest";
import {
  createNonceGuard,
  type NonceGuard,
  randomNonce,
  SIGNATURE_HEADERS,
  SIGNATURE_MAX_AGE_MS,
  type SignableRequest,
  type SignatureFailure,
  sha256Hex,
  signRequest,
  verifySignedRequest,
} from "../src/signing.js";

const SECRET = "edge-worker-shared-secret";
const NOW = 1_750_000_000_000;
const NONCE = "0123456789abcdef0123456789abcdef";

const request: SignableRequest = {
  method: "POST",
  pathWithQuery: "/v1/generate?stream=false",
  body: JSON.stringify({ model: "tiny-lm", prompt: "hi" }),
};

/** A header bag with a case-insensitive `get`, like `Headers`. */
function headerBag(values: Record<string, string>): { get(name: string): string | null } {
  const lower = new Map(Object.entries(values).map(([k, v]) => [k.toLowerCase(), v]));
  return { get: (name) => lower.get(name.toLowerCase()) ?? null };
}

interface VerifyCase {
  headers: Record<string, string>;
  request?: SignableRequest;
  secret?: string;
  now?: number;
  maxAgeMs?: number;
  nonceGuard?: NonceGuard;
}

async function verify(c: VerifyCase): Promise<{ ok: true } | { ok: false; reason: SignatureFailure }> {
  return verifySignedRequest({
    secret: c.secret ?? SECRET,
    headers: headerBag(c.headers),
    request: c.request ?? request,
    nonceGuard: c.nonceGuard ?? createNonceGuard(),
    now: c.now ?? NOW,
    ...(c.maxAgeMs === undefined ? {} : { maxAgeMs: c.maxAgeMs }),
  });
}

async function reasonOf(c: VerifyCase): Promise<SignatureFailure | "ok"> {
  const result = await verify(c);
  return result.ok ? "ok" : result.reason;
}

describe("sha256Hex", () => {
  it("matches the known digests", async () => {
    expect(await sha256Hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("hashes bytes the same as the equivalent string", async () => {
    expect(await sha256Hex(new TextEncoder().encode("abc"))).toBe(await sha256Hex("abc"));
  });

  it("encodes strings as UTF-8", async () => {
    // sha256 of the UTF-8 bytes of "é" (c3 a9).
    expect(await sha256Hex("é")).toBe(await sha256Hex(new Uint8Array([0xc3, 0xa9])));
    expect(await sha256Hex("é")).not.toBe(await sha256Hex(new Uint8Array([0xe9])));
  });
});

describe("randomNonce", () => {
  it("is 32 lower-case hex characters and differs between calls", () => {
    const a = randomNonce();
    const b = randomNonce();
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(b).toMatch(/^[0-9a-f]{32}$/);
    expect(a).not.toBe(b);
  });
});

describe("signRequest", () => {
  it("returns the three headers with the timestamp, nonce and a 32-byte hex MAC", async () => {
    const headers = await signRequest(SECRET, request, NOW, NONCE);
    expect(Object.keys(headers).sort()).toEqual(
      [SIGNATURE_HEADERS.nonce, SIGNATURE_HEADERS.signature, SIGNATURE_HEADERS.timestamp].sort(),
    );
    expect(headers[SIGNATURE_HEADERS.timestamp]).toBe(String(NOW));
    expect(headers[SIGNATURE_HEADERS.nonce]).toBe(NONCE);
    expect(headers[SIGNATURE_HEADERS.signature]).toMatch(/^[0-9a-f]{64}$/);
  });

  it("is deterministic for the same inputs and changes with the secret, nonce or time", async () => {
    const sig = async (secret: string, now: number, nonce: string) =>
      (await signRequest(secret, request, now, nonce))[SIGNATURE_HEADERS.signature];
    const base = await sig(SECRET, NOW, NONCE);
    expect(await sig(SECRET, NOW, NONCE)).toBe(base);
    expect(await sig("other", NOW, NONCE)).not.toBe(base);
    expect(await sig(SECRET, NOW + 1, NONCE)).not.toBe(base);
    expect(await sig(SECRET, NOW, `${NONCE.slice(0, -1)}0`)).not.toBe(base);
  });

  it("generates a fresh nonce when none is given", async () => {
    const a = await signRequest(SECRET, request, NOW);
    const b = await signRequest(SECRET, request, NOW);
    expect(a[SIGNATURE_HEADERS.nonce]).toMatch(/^[0-9a-f]{32}$/);
    expect(a[SIGNATURE_HEADERS.nonce]).not.toBe(b[SIGNATURE_HEADERS.nonce]);
  });
});

describe("verifySignedRequest", () => {
  it("accepts a request it signed", async () => {
    const headers = await signRequest(SECRET, request, NOW, NONCE);
    expect(await verify({ headers })).toEqual({ ok: true });
  });

  it("accepts byte bodies and a lower-case method (the method is upper-cased)", async () => {
    const bytes: SignableRequest = { ...request, body: new TextEncoder().encode("payload") };
    expect(await reasonOf({ headers: await signRequest(SECRET, bytes, NOW, NONCE), request: bytes })).toBe("ok");
    const lower = { ...request, method: "post" };
    expect(await reasonOf({ headers: await signRequest(SECRET, lower, NOW, NONCE), request })).toBe("ok");
  });

  it("accepts an empty body", async () => {
    const empty: SignableRequest = { method: "GET", pathWithQuery: "/health", body: "" };
    expect(await reasonOf({ headers: await signRequest(SECRET, empty, NOW, NONCE), request: empty })).toBe("ok");
  });

  it.each<[string, SignableRequest]>([
    ["body", { ...request, body: JSON.stringify({ model: "tiny-lm", prompt: "hI" }) }],
    ["method", { ...request, method: "PUT" }],
    ["path", { ...request, pathWithQuery: "/v1/predict?stream=false" }],
    ["query", { ...request, pathWithQuery: "/v1/generate?stream=true" }],
    ["missing query", { ...request, pathWithQuery: "/v1/generate" }],
  ])("rejects a tampered %s as bad_signature", async (_what, tampered) => {
    const headers = await signRequest(SECRET, request, NOW, NONCE);
    expect(await reasonOf({ headers, request: tampered })).toBe("bad_signature");
  });

  it("rejects a wrong secret as bad_signature", async () => {
    const headers = await signRequest("attacker-secret", request, NOW, NONCE);
    expect(await reasonOf({ headers })).toBe("bad_signature");
    const good = await signRequest(SECRET, request, NOW, NONCE);
    expect(await reasonOf({ headers: good, secret: `${SECRET}x` })).toBe("bad_signature");
  });

  it("rejects a tampered timestamp or nonce header as bad_signature", async () => {
    const headers = await signRequest(SECRET, request, NOW, NONCE);
    expect(await reasonOf({ headers: { ...headers, [SIGNATURE_HEADERS.timestamp]: String(NOW + 1) } })).toBe(
      "bad_signature",
    );
    expect(await reasonOf({ headers: { ...headers, [SIGNATURE_HEADERS.nonce]: `${NONCE}00` } })).toBe("bad_signature");
  });

  it("rejects a flipped signature bit as bad_signature", async () => {
    const headers = await signRequest(SECRET, request, NOW, NONCE);
    const signature = headers[SIGNATURE_HEADERS.signature] ?? "";
    const flipped = (signature[0] === "0" ? "1" : "0") + signature.slice(1);
    expect(await reasonOf({ headers: { ...headers, [SIGNATURE_HEADERS.signature]: flipped } })).toBe("bad_signature");
  });

  it("accepts timestamps exactly 60 s old or 60 s ahead", async () => {
    expect(SIGNATURE_MAX_AGE_MS).toBe(60_000);
    const old = await signRequest(SECRET, request, NOW - 60_000, NONCE);
    expect(await reasonOf({ headers: old })).toBe("ok");
    const ahead = await signRequest(SECRET, request, NOW + 60_000, NONCE);
    expect(await reasonOf({ headers: ahead })).toBe("ok");
  });

  it("rejects timestamps more than 60 s old as expired", async () => {
    const headers = await signRequest(SECRET, request, NOW - 60_001, NONCE);
    expect(await reasonOf({ headers })).toBe("expired");
    expect(await reasonOf({ headers: await signRequest(SECRET, request, NOW - 3_600_000, NONCE) })).toBe("expired");
  });

  it("rejects timestamps more than 60 s in the future as expired", async () => {
    const headers = await signRequest(SECRET, request, NOW + 60_001, NONCE);
    expect(await reasonOf({ headers })).toBe("expired");
  });

  it("honours a custom maxAgeMs", async () => {
    const headers = await signRequest(SECRET, request, NOW - 5_000, NONCE);
    expect(await reasonOf({ headers, maxAgeMs: 4_999 })).toBe("expired");
    expect(await reasonOf({ headers, maxAgeMs: 5_000 })).toBe("ok");
  });

  it("reports expired before checking the signature", async () => {
    const headers = await signRequest("wrong", request, NOW - 120_000, NONCE);
    expect(await reasonOf({ headers })).toBe("expired");
  });

  it.each([SIGNATURE_HEADERS.timestamp, SIGNATURE_HEADERS.nonce, SIGNATURE_HEADERS.signature])(
    "rejects a request without %s as missing_headers",
    async (name) => {
      const headers = await signRequest(SECRET, request, NOW, NONCE);
      const { [name]: _dropped, ...rest } = headers;
      expect(await reasonOf({ headers: rest })).toBe("missing_headers");
      expect(await reasonOf({ headers: { ...headers, [name]: "" } })).toBe("missing_headers");
    },
  );

  it("rejects no headers at all as missing_headers", async () => {
    expect(await reasonOf({ headers: {} })).toBe("missing_headers");
  });

  it.each<[string, string, string]>([
    ["timestamp", SIGNATURE_HEADERS.timestamp, "-1"],
    ["timestamp", SIGNATURE_HEADERS.timestamp, "12.5"],
    ["timestamp", SIGNATURE_HEADERS.timestamp, "1e12"],
    ["timestamp", SIGNATURE_HEADERS.timestamp, "12345678901234567"],
    ["timestamp", SIGNATURE_HEADERS.timestamp, "now"],
    ["nonce", SIGNATURE_HEADERS.nonce, "0123456789abcde"],
    ["nonce", SIGNATURE_HEADERS.nonce, "0123456789ABCDEF"],
    ["nonce", SIGNATURE_HEADERS.nonce, "z123456789abcdef"],
    ["nonce", SIGNATURE_HEADERS.nonce, "a".repeat(65)],
    ["signature", SIGNATURE_HEADERS.signature, "abcd"],
    ["signature", SIGNATURE_HEADERS.signature, "a".repeat(63)],
    ["signature", SIGNATURE_HEADERS.signature, "a".repeat(66)],
    ["signature", SIGNATURE_HEADERS.signature, "g".repeat(64)],
    ["signature", SIGNATURE_HEADERS.signature, "A".repeat(64)],
  ])("rejects a malformed %s (%s: %j) as malformed", async (_what, name, value) => {
    const headers = await signRequest(SECRET, request, NOW, NONCE);
    expect(await reasonOf({ headers: { ...headers, [name]: value } })).toBe("malformed");
  });

  it("rejects the same signed request twice: the second is replayed", async () => {
    const nonceGuard = createNonceGuard();
    const headers = await signRequest(SECRET, request, NOW, NONCE);
    expect(await reasonOf({ headers, nonceGuard })).toBe("ok");
    expect(await reasonOf({ headers, nonceGuard })).toBe("replayed");
    expect(await reasonOf({ headers, nonceGuard, now: NOW + 30_000 })).toBe("replayed");
  });

  it("a replay is caught even with a different body signed under the same nonce", async () => {
    const nonceGuard = createNonceGuard();
    const other: SignableRequest = { ...request, body: "{}" };
    expect(await reasonOf({ headers: await signRequest(SECRET, request, NOW, NONCE), nonceGuard })).toBe("ok");
    expect(await reasonOf({ headers: await signRequest(SECRET, other, NOW, NONCE), request: other, nonceGuard })).toBe(
      "replayed",
    );
  });

  it("a forged request does not consume the nonce", async () => {
    const nonceGuard = createNonceGuard();
    const forged = await signRequest("attacker-secret", request, NOW, NONCE);
    expect(await reasonOf({ headers: forged, nonceGuard })).toBe("bad_signature");
    const genuine = await signRequest(SECRET, request, NOW, NONCE);
    expect(await reasonOf({ headers: genuine, nonceGuard })).toBe("ok");
  });

  it("expired and malformed requests do not consume the nonce either", async () => {
    const nonceGuard = createNonceGuard();
    const stale = await signRequest(SECRET, request, NOW - 61_000, NONCE);
    expect(await reasonOf({ headers: stale, nonceGuard })).toBe("expired");
    const genuine = await signRequest(SECRET, request, NOW, NONCE);
    expect(await reasonOf({ headers: { ...genuine, [SIGNATURE_HEADERS.signature]: "x" }, nonceGuard })).toBe(
      "malformed",
    );
    expect(await reasonOf({ headers: genuine, nonceGuard })).toBe("ok");
  });

  it("uses the real clock when now is not given", async () => {
    const headers = await signRequest(SECRET, request, Date.now(), NONCE);
    const result = await verifySignedRequest({
      secret: SECRET,
      headers: headerBag(headers),
      request,
      nonceGuard: createNonceGuard(),
    });
    expect(result).toEqual({ ok: true });
    const ancient = await signRequest(SECRET, request, 1_000, NONCE);
    const stale = await verifySignedRequest({
      secret: SECRET,
      headers: headerBag(ancient),
      request,
      nonceGuard: createNonceGuard(),
    });
    expect(stale).toEqual({ ok: false, reason: "expired" });
  });
});

describe("createNonceGuard", () => {
  function fakeClock(start: number): { now: () => number; set(t: number): void } {
    let t = start;
    return { now: () => t, set: (next) => (t = next) };
  }

  it("refuses a nonce it has seen inside the window", () => {
    const clock = fakeClock(NOW);
    const guard = createNonceGuard(120_000, clock.now);
    expect(guard.claim("n1", NOW)).toBe(true);
    expect(guard.claim("n1", NOW)).toBe(false);
    clock.set(NOW + 119_999);
    expect(guard.claim("n1", NOW)).toBe(false);
  });

  it("keeps nonces apart", () => {
    const guard = createNonceGuard(120_000, () => NOW);
    expect(guard.claim("n1", NOW)).toBe(true);
    expect(guard.claim("n2", NOW)).toBe(true);
    expect(guard.claim("n1", NOW)).toBe(false);
    expect(guard.claim("n2", NOW)).toBe(false);
  });

  it("forgets nonces after the window", () => {
    const clock = fakeClock(NOW);
    const guard = createNonceGuard(120_000, clock.now);
    expect(guard.claim("n1", NOW)).toBe(true);
    clock.set(NOW + 120_000);
    expect(guard.claim("n1", NOW + 120_000)).toBe(true);
    // ... and the re-claim starts a fresh window.
    clock.set(NOW + 200_000);
    expect(guard.claim("n1", NOW + 200_000)).toBe(false);
  });

  it("counts the window from a future timestamp when the request claims one", () => {
    const clock = fakeClock(NOW);
    const guard = createNonceGuard(120_000, clock.now);
    expect(guard.claim("n1", NOW + 60_000)).toBe(true);
    clock.set(NOW + 150_000);
    expect(guard.claim("n1", NOW + 60_000)).toBe(false);
    clock.set(NOW + 180_000);
    expect(guard.claim("n1", NOW + 180_000)).toBe(true);
  });

  it("defaults to twice the signature age window", () => {
    const clock = fakeClock(NOW);
    const guard = createNonceGuard(undefined, clock.now);
    expect(guard.claim("n1", NOW)).toBe(true);
    clock.set(NOW + 2 * SIGNATURE_MAX_AGE_MS - 1);
    expect(guard.claim("n1", NOW)).toBe(false);
    clock.set(NOW + 2 * SIGNATURE_MAX_AGE_MS);
    expect(guard.claim("n1", NOW)).toBe(true);
  });

  it("still refuses replays across a sweep of other, expired nonces", () => {
    const clock = fakeClock(NOW);
    const guard = createNonceGuard(1_000, clock.now);
    expect(guard.claim("old", NOW)).toBe(true);
    clock.set(NOW + 900);
    expect(guard.claim("recent", NOW + 900)).toBe(true);
    clock.set(NOW + 1_500); // past windowMs/4 since the last sweep: "old" is dropped, "recent" kept
    expect(guard.claim("recent", NOW + 900)).toBe(false);
    expect(guard.claim("old", NOW)).toBe(true);
  });

  it("works with verifySignedRequest under a fake clock: a replay after the window is expired, not accepted", async () => {
    const clock = fakeClock(NOW);
    const nonceGuard = createNonceGuard(undefined, clock.now);
    const headers = await signRequest(SECRET, request, NOW, NONCE);
    expect(await reasonOf({ headers, nonceGuard, now: NOW })).toBe("ok");
    clock.set(NOW + 200_000);
    expect(await reasonOf({ headers, nonceGuard, now: NOW + 200_000 })).toBe("expired");
  });
});
