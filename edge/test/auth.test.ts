import { describe, expect, it } from "vitest";
import { ADMIN, call, expectProblem, WORKER_TOKEN } from "./support/requests.js";

describe("authentication and errors", () => {
  it("answers /health without a key", async () => {
    const response = await call("GET", "/health");
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: "ok", service: "modelgate-edge" });
  });

  it("refuses a request without a key with 401 problem+json and a Bearer challenge", async () => {
    const response = await call("GET", "/v1/models");
    const problem = await expectProblem(response, 401);
    expect(problem.code).toBe("unauthorized");
    expect(response.headers.get("www-authenticate")).toContain("Bearer");
  });

  it("refuses a wrong key with 401", async () => {
    const problem = await expectProblem(await call("GET", "/v1/models", { key: `${ADMIN}x` }), 401);
    expect(problem.detail).toContain("not valid");
  });

  it("refuses a malformed Authorization header with 401", async () => {
    await expectProblem(await call("GET", "/v1/models", { headers: { authorization: `Basic ${ADMIN}` } }), 401);
  });

  it("does not let the worker token read or write the registry (403)", async () => {
    const problem = await expectProblem(await call("GET", "/v1/models", { key: WORKER_TOKEN }), 403);
    expect(problem.detail).toContain("models:read");
    await expectProblem(await call("POST", "/v1/generate", { key: WORKER_TOKEN, body: {} }), 403);
  });

  it("answers unknown routes with 404 problem+json", async () => {
    const problem = await expectProblem(await call("GET", "/v1/nothing-here", { key: ADMIN }), 404);
    expect(problem.code).toBe("not_found");
  });

  it("echoes a request id on every answer", async () => {
    const response = await call("GET", "/v1/models", { key: ADMIN, headers: { "x-request-id": "req-1234567890" } });
    expect(response.headers.get("x-request-id")).toBe("req-1234567890");
  });
});
