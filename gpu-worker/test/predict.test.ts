import { PROBLEM_CONTENT_TYPE, PredictResponseSchema } from "@modelgate/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDemoLm, buildSpiralsClassifier } from "../src/reference-models/index.js";
import { type LocalS3, startLocalS3 } from "./support/local-s3.js";
import { modelVersionFor } from "./support/model-version.js";
import { problemOf, signedPost } from "./support/signed-fetch.js";
import { startTestWorker, type TestWorker } from "./support/test-worker.js";

let s3: LocalS3;
let worker: TestWorker;
let spirals: ReturnType<typeof modelVersionFor>;

beforeAll(async () => {
  s3 = await startLocalS3();
  worker = await startTestWorker(s3);
  const built = buildSpiralsClassifier();
  spirals = modelVersionFor(built, await s3.upload(built.name, built.onnx));
});

afterAll(async () => {
  await worker?.close();
  await s3?.close();
});

describe("POST /v1/predict", () => {
  it("classifies rows and returns one probability row per input row", async () => {
    const data = [
      [0, 0],
      [0.5, -0.25],
      [-1, 1],
    ];
    const response = await signedPost(worker.url, "/v1/predict", { model: "spirals", data, target: spirals });
    expect(response.status, await response.clone().text()).toBe(200);
    const result = PredictResponseSchema.parse(await response.json());
    expect(result.model_version).toBe("spirals@1");
    expect(result.worker_id).toBe("test-worker");
    expect(result.predictions).toHaveLength(3);
    expect(result.probabilities).toHaveLength(3);
    result.probabilities.forEach((row, index) => {
      expect(row).toHaveLength(2);
      for (const probability of row) expect(probability).toBeGreaterThanOrEqual(0);
      expect((row[0] ?? 0) + (row[1] ?? 0)).toBeCloseTo(1, 5);
      expect(result.predictions[index]).toBe((row[1] ?? 0) > (row[0] ?? 0) ? 1 : 0);
    });
  });

  it("refuses rows with the wrong number of features with 400 naming data", async () => {
    const response = await signedPost(worker.url, "/v1/predict", {
      model: "spirals",
      data: [
        [0, 0],
        [1, 2, 3],
      ],
      target: spirals,
    });
    const problem = await problemOf(response);
    expect(problem.status).toBe(400);
    expect(problem.contentType).toBe(PROBLEM_CONTENT_TYPE);
    expect(problem.body.code).toBe("validation_failed");
    expect(String(problem.body.detail)).toContain("data");
    expect(problem.body.errors).toEqual([{ field: "data.1", message: "expected 2 values, got 3" }]);
  });

  it("refuses a signed body that gives a key twice, naming it, and reads one after a byte-order mark", async () => {
    const body = JSON.stringify({ model: "spirals", data: [[0, 0]], target: spirals });
    const twice = await problemOf(await signedPost(worker.url, "/v1/predict", body.replace("{", '{"model":"other",')));
    expect(twice.status).toBe(400);
    expect(twice.contentType).toBe(PROBLEM_CONTENT_TYPE);
    expect(twice.body.errors).toEqual([
      { field: "model", message: "the key is given more than once; send each key once" },
    ]);
    const afterMark = await signedPost(worker.url, "/v1/predict", `\uFEFF${body}`);
    expect(afterMark.status, await afterMark.clone().text()).toBe(200);
  });

  it("refuses a causal LM with 400", async () => {
    const built = buildDemoLm();
    const target = modelVersionFor(built, await s3.upload(built.name, built.onnx));
    const problem = await problemOf(
      await signedPost(worker.url, "/v1/predict", { model: "demo-lm", data: [[1]], target }),
    );
    expect(problem.status).toBe(400);
    expect(String(problem.body.detail)).toContain("/v1/generate");
  });
});
