/** With INFERENCE_THREADS=2 each model gets its own thread, so one model's long job does not block another's. */
import { GenerateResponseSchema, PredictResponseSchema } from "@modelgate/shared";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildDemoLm, buildSpiralsClassifier } from "../src/reference-models/index.js";
import { type LocalS3, startLocalS3 } from "./support/local-s3.js";
import { modelVersionFor } from "./support/model-version.js";
import { signedPost } from "./support/signed-fetch.js";
import { startTestWorker, type TestWorker } from "./support/test-worker.js";

let s3: LocalS3;
let worker: TestWorker;

beforeAll(async () => {
  s3 = await startLocalS3();
  worker = await startTestWorker(s3, { env: { INFERENCE_THREADS: "2" } });
});

afterAll(async () => {
  await worker?.close();
  await s3?.close();
});

it("answers a predict on one thread while a long generation runs on the other", async () => {
  const lm = buildDemoLm();
  const classifier = buildSpiralsClassifier();
  const demoLm = modelVersionFor(lm, await s3.upload(lm.name, lm.onnx));
  const spirals = modelVersionFor(classifier, await s3.upload(classifier.name, classifier.onnx));
  // Load both first: a new model goes to the thread holding the fewest models.
  expect(
    (await signedPost(worker.url, "/v1/generate", { model: "demo-lm", prompt: "x", max_new_tokens: 1, target: demoLm }))
      .status,
  ).toBe(200);
  expect(
    (await signedPost(worker.url, "/v1/predict", { model: "spirals", data: [[0, 0]], target: spirals })).status,
  ).toBe(200);

  let generationDone = false;
  const prompt = "Workers report their load to the edge. ".repeat(50);
  const generation = signedPost(worker.url, "/v1/generate", {
    model: "demo-lm",
    prompt,
    max_new_tokens: 512,
    temperature: 0,
    target: demoLm,
  }).finally(() => {
    generationDone = true;
  });
  // Wait until the generation is really running.
  for (let i = 0; i < 100; i++) {
    const health = (await (await fetch(`${worker.url}/health`)).json()) as { in_flight: number };
    if (health.in_flight === 1) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }

  const predict = await signedPost(worker.url, "/v1/predict", {
    model: "spirals",
    data: [[0.3, -0.7]],
    target: spirals,
  });
  expect(predict.status).toBe(200);
  PredictResponseSchema.parse(await predict.json());
  expect(generationDone).toBe(false);

  const result = GenerateResponseSchema.parse(await (await generation).json());
  expect(result.tokens_generated).toBe(512);
  const health = (await (await fetch(`${worker.url}/health`)).json()) as { loaded_models: Array<{ name: string }> };
  expect(health.loaded_models.map((m) => m.name).sort()).toEqual(["demo-lm", "spirals"]);
});
