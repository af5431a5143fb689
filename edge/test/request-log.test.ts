/**
 * The edge's request log: one JSON line per request with the request id (the caller's when it
 * sends a well-formed one, echoed back), route, status and duration; routed requests name the
 * model and worker. No key, secret or prompt text appears in it.
 */

import { afterEach, beforeEach, describe, expect, inject, it, vi } from "vitest";
import { setEdgeLogLevel } from "../src/logging/edge-log.js";
import { ADMIN, call, causalLmRegistration, registerAndPromote, resetEdge, sendHeartbeat } from "./support/requests.js";
import { EDGE_TEST_SECRETS } from "./support/secrets.js";

let lines: string[];

beforeEach(async () => {
  // The isolate reads its log level from the configuration on its first request; let that happen first.
  await (await call("GET", "/v1/models")).text();
  lines = [];
  const keep = (...args: unknown[]) => {
    lines.push(args.map(String).join(" "));
  };
  vi.spyOn(console, "debug").mockImplementation(keep);
  vi.spyOn(console, "info").mockImplementation(keep);
  vi.spyOn(console, "warn").mockImplementation(keep);
  vi.spyOn(console, "error").mockImplementation(keep);
  setEdgeLogLevel("info");
});

afterEach(async () => {
  vi.restoreAllMocks();
  setEdgeLogLevel("warn");
  await resetEdge();
});

function requestLines(): Array<Record<string, unknown>> {
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.msg === "request");
}

describe("the edge's request log", () => {
  it("writes one JSON line per request with the caller's request id, echoed back", async () => {
    const requestId = "client-chosen-id-0001";
    const response = await call("GET", "/v1/models", { key: ADMIN, headers: { "x-request-id": requestId } });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-request-id")).toBe(requestId);
    const logged = requestLines();
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({
      level: "info",
      service: "modelgate-edge",
      request_id: requestId,
      method: "GET",
      route: "/v1/models",
      status: 200,
      principal: "admin",
    });
    expect(typeof logged[0]?.duration_ms).toBe("number");
    expect(typeof logged[0]?.time).toBe("string");
  });

  it("replaces a malformed request id with its own", async () => {
    const response = await call("GET", "/v1/models", { key: ADMIN, headers: { "x-request-id": "bad id\u0001" } });
    const echoed = response.headers.get("x-request-id") ?? "";
    expect(echoed).toMatch(/^[0-9a-f-]{36}$/);
    expect(requestLines()[0]?.request_id).toBe(echoed);
  });

  it("names the model and worker of a routed request, and never the key, the secrets or the prompt", async () => {
    await registerAndPromote("demo-lm", causalLmRegistration());
    await sendHeartbeat({ worker_id: "steady", url: inject("standInWorkerUrl") });
    lines.length = 0;
    const prompt = "a prompt that must stay out of the logs 7f3a";
    const response = await call("POST", "/v1/generate", {
      key: ADMIN,
      body: { model: "demo-lm", prompt, max_new_tokens: 2 },
    });
    expect(response.status).toBe(200);
    await response.text();
    const routed = requestLines().find((entry) => entry.route === "/v1/generate");
    expect(routed).toMatchObject({ status: 200, model: "demo-lm@1", worker_id: "steady" });
    expect(typeof routed?.overhead_ms).toBe("number");
    const all = lines.join("\n");
    for (const secret of Object.values(EDGE_TEST_SECRETS)) expect(all).not.toContain(secret);
    expect(all).not.toContain(prompt);
  });

  it("logs a 5xx at error level and nothing below the configured level", async () => {
    setEdgeLogLevel("warn");
    await call("GET", "/v1/models", { key: ADMIN });
    expect(requestLines()).toHaveLength(0);
    setEdgeLogLevel("info");
    await registerAndPromote("demo-lm", causalLmRegistration());
    // No worker at all: routing answers 503.
    lines.length = 0;
    const response = await call("POST", "/v1/generate", { key: ADMIN, body: { model: "demo-lm", prompt: "x" } });
    expect(response.status).toBe(503);
    expect(requestLines().find((entry) => entry.route === "/v1/generate")).toMatchObject({
      level: "error",
      status: 503,
    });
  });
});
