import { PROBLEM_CONTENT_TYPE, randomNonce, signRequest } from "@modelgate/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSpiralsClassifier } from "../src/reference-models/index.js";
import { type LocalS3, startLocalS3 } from "./support/local-s3.js";
import { modelVersionFor } from "./support/model-version.js";
import { problemOf, signedPost, TEST_SIGNING_SECRET, TEST_WORKER_ID } from "./support/signed-fetch.js";
import { startTestWorker, type TestWorker } from "./support/test-worker.js";

const MAX_BODY_BYTES = 64 * 1024;

let s3: LocalS3;
let worker: TestWorker;
let body: { model: string; data: number[][]; target: ReturnType<typeof modelVersionFor> };

beforeAll(async () => {
  s3 = await startLocalS3();
  worker = await startTestWorker(s3, { env: { MODELGATE_MAX_BODY_BYTES: String(MAX_BODY_BYTES) } });
  const built = buildSpiralsClassifier();
  body = {
    model: "spirals",
    data: [[0.1, 0.2]],
    target: modelVersionFor(built, await s3.upload(built.name, built.onnx)),
  };
});

afterAll(async () => {
  await worker?.close();
  await s3?.close();
});

async function expectProblem(response: Response, status: number, code: string) {
  const problem = await problemOf(response);
  expect(problem.status).toBe(status);
  expect(problem.contentType).toBe(PROBLEM_CONTENT_TYPE);
  expect(problem.body.code).toBe(code);
  expect(problem.body.instance).toBeDefined();
  return problem.body;
}

describe("edge signature on /v1/*", () => {
  it("accepts a correctly signed request", async () => {
    expect((await signedPost(worker.url, "/v1/predict", body)).status).toBe(200);
  });

  it("refuses an unsigned request with 401", async () => {
    await expectProblem(await signedPost(worker.url, "/v1/predict", body, { unsigned: true }), 401, "unauthorized");
    await expectProblem(await signedPost(worker.url, "/v1/generate", body, { unsigned: true }), 401, "unauthorized");
  });

  it("refuses a request signed with another secret", async () => {
    const response = await signedPost(worker.url, "/v1/predict", body, { secret: "not-the-edge-secret-0000" });
    await expectProblem(response, 401, "unauthorized");
  });

  it("refuses a tampered body with 401", async () => {
    const tampered = JSON.stringify({ ...body, data: [[9, 9]] });
    await expectProblem(
      await signedPost(worker.url, "/v1/predict", body, { sendInstead: tampered }),
      401,
      "unauthorized",
    );
  });

  it("refuses a request signed for another path", async () => {
    const text = JSON.stringify(body);
    const headers = await signRequest(TEST_SIGNING_SECRET, {
      method: "POST",
      pathWithQuery: "/v1/generate",
      body: text,
      workerId: TEST_WORKER_ID,
    });
    const response = await fetch(`${worker.url}/v1/predict`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: text,
    });
    await expectProblem(response, 401, "unauthorized");
  });

  it("refuses a timestamp older than 60 s with 401", async () => {
    const response = await signedPost(worker.url, "/v1/predict", body, { now: Date.now() - 61_000 });
    const problem = await expectProblem(response, 401, "unauthorized");
    expect(String(problem.detail)).toContain("window");
  });

  it("refuses a replayed request with 401", async () => {
    const nonce = randomNonce();
    const now = Date.now();
    expect((await signedPost(worker.url, "/v1/predict", body, { nonce, now })).status).toBe(200);
    const replay = await signedPost(worker.url, "/v1/predict", body, { nonce, now });
    const problem = await expectProblem(replay, 401, "unauthorized");
    expect(String(problem.detail)).toContain("replayed");
  });

  it("refuses a request the edge signed for another worker (a replay across workers) with 401", async () => {
    const forOther = await signedPost(worker.url, "/v1/predict", body, { workerId: "another-worker" });
    const problem = await expectProblem(forOther, 401, "unauthorized");
    expect(String(problem.detail)).toContain("another worker");
  });

  it("leaves /health open", async () => {
    const response = await fetch(`${worker.url}/health`);
    expect(response.status).toBe(200);
    const health = (await response.json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: "ok", worker_id: "test-worker" });
    expect(health).toHaveProperty("uptime_s");
    expect(health).toHaveProperty("queue_depth", 0);
    expect(health).toHaveProperty("in_flight", 0);
    expect(Array.isArray(health.gpus) && health.gpus.length).toBeGreaterThan(0);
    expect(Array.isArray(health.loaded_models)).toBe(true);
    // Resident memory of the whole worker process: present, positive, and the peak never below now.
    const memory = health.process as { rss_mb: number; peak_rss_mb: number };
    expect(memory.rss_mb).toBeGreaterThan(0);
    expect(memory.peak_rss_mb).toBeGreaterThanOrEqual(memory.rss_mb);
  });
});

describe("bad input", () => {
  it("answers malformed JSON with 400", async () => {
    const problem = await expectProblem(await signedPost(worker.url, "/v1/predict", "{not json"), 400, "bad_request");
    expect(String(problem.detail)).toContain("not valid JSON");
  });

  it("answers wrong types with 400 naming the fields", async () => {
    const response = await signedPost(worker.url, "/v1/generate", {
      model: 42,
      prompt: "x",
      max_new_tokens: "many",
      target: body.target,
    });
    const problem = await expectProblem(response, 400, "validation_failed");
    const fields = (problem.errors as Array<{ field: string }>).map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(["model", "max_new_tokens"]));
  });

  it("answers a missing target with 400 naming it", async () => {
    const problem = await expectProblem(
      await signedPost(worker.url, "/v1/predict", { model: "spirals", data: [[1, 2]] }),
      400,
      "validation_failed",
    );
    expect((problem.errors as Array<{ field: string }>).map((e) => e.field)).toContain("target");
  });

  it("answers an oversized body with 413", async () => {
    const huge = { ...body, data: Array.from({ length: 5000 }, () => [0.123456789, 0.987654321]) };
    expect(JSON.stringify(huge).length).toBeGreaterThan(MAX_BODY_BYTES);
    await expectProblem(await signedPost(worker.url, "/v1/predict", huge), 413, "payload_too_large");
  });

  it("answers an unknown route with 404 problem+json", async () => {
    // Under /v1 the signature is checked first, so unsigned callers cannot probe for routes.
    await expectProblem(await signedPost(worker.url, "/v1/nothing-here", {}), 404, "not_found");
    await expectProblem(await fetch(`${worker.url}/v1/nothing-here`), 401, "unauthorized");
    await expectProblem(await fetch(`${worker.url}/nope`), 404, "not_found");
  });
});
