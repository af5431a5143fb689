import { describe, expect, it } from "vitest";
import { createNonceGuard, signRequest, verifySignedRequest } from "../src/signing.js";
import {
  mintEnrolmentToken,
  randomHex,
  readEnrolmentToken,
  urlMatchesPattern,
  type WorkerControl,
  workerDrainState,
} from "../src/worker-fleet.js";

const NOW = Date.parse("2026-12-03T12:00:00.000Z");
const at = (offsetMs: number) => new Date(NOW + offsetMs).toISOString();

describe("URL patterns", () => {
  it("matches whole URLs, * standing for anything but a slash", () => {
    expect(urlMatchesPattern("http://10.0.0.7:8790", "http://10.0.0.*:8790")).toBe(true);
    expect(urlMatchesPattern("http://10.0.0.7:8790/", "http://10.0.0.*:8790")).toBe(true);
    expect(urlMatchesPattern("http://10.0.0.7:8791", "http://10.0.0.*:8790")).toBe(false);
    expect(urlMatchesPattern("http://evil.example/10.0.0.1:8790", "http://*:8790")).toBe(false);
    expect(urlMatchesPattern("https://gpu-1.internal:8790", "https://gpu-*.internal:8790")).toBe(true);
    expect(urlMatchesPattern("https://gpu-1.internal.evil.example:8790", "https://gpu-*.internal:8790")).toBe(false);
    // Dots are literal, not "any character".
    expect(urlMatchesPattern("http://10a0b0c7:8790", "http://10.0.0.*:8790")).toBe(false);
    expect(urlMatchesPattern("https://anywhere:1", "*")).toBe(true);
  });
});

describe("drain state", () => {
  const beat = (inFlight: number, extra: object = {}) => ({
    in_flight: inFlight,
    queue_depth: 0,
    sent_at: at(0),
    ...extra,
  });
  const drain: WorkerControl = { cordoned: true, drain: { requested_at: at(0), deadline: at(10_000) } };

  it("follows cordon, drain, drained and a passed deadline", () => {
    expect(workerDrainState(undefined, beat(3), at(0), NOW)).toBe("serving");
    expect(workerDrainState({ cordoned: true }, beat(3), at(0), NOW)).toBe("cordoned");
    expect(workerDrainState(drain, beat(1), at(1000), NOW + 1000)).toBe("draining");
    // Idle, but in a heartbeat from before the drain began: not yet known to be drained.
    expect(workerDrainState(drain, beat(0), at(-1000), NOW + 1000)).toBe("draining");
    expect(workerDrainState(drain, beat(0, { conversion_jobs: 1 }), at(1000), NOW + 1000)).toBe("draining");
    expect(workerDrainState(drain, beat(0), at(1000), NOW + 1000)).toBe("drained");
    expect(workerDrainState(drain, beat(2), at(11_000), NOW + 11_000)).toBe("drain_timed_out");
    expect(workerDrainState(undefined, beat(1, { draining: true }), at(0), NOW)).toBe("draining");
    expect(workerDrainState(undefined, beat(0, { draining: true }), at(0), NOW)).toBe("drained");
  });
});

describe("enrolment tokens", () => {
  const claims = {
    worker_id: "gpu-1",
    url_pattern: "*",
    labels: { gpu: "h100" },
    expires_at: at(60_000),
    nonce: randomHex(16),
  };

  it("round-trips claims for the key that minted them only, until they expire", async () => {
    const token = await mintEnrolmentToken("admin-key-0123456789", claims);
    expect(await readEnrolmentToken("admin-key-0123456789", token, NOW)).toEqual({ ok: true, claims });
    expect(await readEnrolmentToken("other-key-0123456789", token, NOW)).toEqual({
      ok: false,
      reason: "bad_signature",
    });
    expect(await readEnrolmentToken("admin-key-0123456789", token, NOW + 60_000)).toEqual({
      ok: false,
      reason: "expired",
    });
    expect(await readEnrolmentToken("admin-key-0123456789", "mge_x", NOW)).toEqual({ ok: false, reason: "malformed" });
  });
});

describe("signatures bound to a worker", () => {
  it("verifies at the named worker only", async () => {
    const request = { method: "POST", pathWithQuery: "/v1/generate", body: "{}" };
    const headers = new Headers(await signRequest("secret-0123456789abcdef", { ...request, workerId: "gpu-a" }, NOW));
    const verifyAt = (expectedWorkerId: string, sent = headers) =>
      verifySignedRequest({
        secret: "secret-0123456789abcdef",
        headers: sent,
        request,
        nonceGuard: createNonceGuard(),
        expectedWorkerId,
        now: NOW,
      });
    expect(await verifyAt("gpu-b")).toEqual({ ok: false, reason: "wrong_worker" });
    expect(await verifyAt("gpu-a")).toEqual({ ok: true });
    // Relabelled for gpu-b, the signature no longer matches.
    const relabelled = new Headers(headers);
    relabelled.set("x-modelgate-worker-id", "gpu-b");
    expect(await verifyAt("gpu-b", relabelled)).toEqual({ ok: false, reason: "bad_signature" });
    const unaddressed = new Headers(await signRequest("secret-0123456789abcdef", request, NOW));
    expect(await verifyAt("gpu-a", unaddressed)).toEqual({ ok: false, reason: "wrong_worker" });
  });
});
