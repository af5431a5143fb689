/**
 * The worker's model memory budget (MODELGATE_MODEL_MEMORY_BUDGET_MB): loading a model that does
 * not fit evicts the least recently used idle one, and never one that is serving a request.
 */
import { GenerateResponseSchema, PredictResponseSchema } from "@modelgate/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDemoLm, buildSpiralsClassifier } from "../src/reference-models/index.js";
import { type LocalS3, startLocalS3 } from "./support/local-s3.js";
import { modelVersionFor } from "./support/model-version.js";
import { problemOf, signedPost } from "./support/signed-fetch.js";
import { startTestWorker, type TestWorker } from "./support/test-worker.js";

let s3: LocalS3;
let worker: TestWorker;
let demoLm: ReturnType<typeof modelVersionFor>;
let spirals: ReturnType<typeof modelVersionFor>;
let otherLm: ReturnType<typeof modelVersionFor>;

// Each model below declares 60 MB; the budget holds two of them, not three.
const MODEL_MB = 60;

beforeAll(async () => {
  s3 = await startLocalS3();
  worker = await startTestWorker(s3, { env: { MODELGATE_MODEL_MEMORY_BUDGET_MB: "130" } });
  const lm = buildDemoLm();
  demoLm = modelVersionFor(lm, await s3.upload(lm.name, lm.onnx), { memory_mb: MODEL_MB });
  const noHalt = buildDemoLm({ haltHead: false });
  otherLm = modelVersionFor(noHalt, await s3.upload("other-lm", noHalt.onnx), {
    name: "other-lm",
    memory_mb: MODEL_MB,
  });
  const classifier = buildSpiralsClassifier();
  spirals = modelVersionFor(classifier, await s3.upload(classifier.name, classifier.onnx), { memory_mb: MODEL_MB });
});

afterAll(async () => {
  await worker?.close();
  await s3?.close();
});

async function loadedNames(): Promise<string[]> {
  const health = (await (await fetch(`${worker.url}/health`)).json()) as { loaded_models: { name: string }[] };
  return health.loaded_models.map((m) => m.name).sort();
}

const generateOn = (target: typeof demoLm, maxNewTokens = 4) =>
  signedPost(worker.url, "/v1/generate", {
    model: target.name,
    prompt: "The worker",
    max_new_tokens: maxNewTokens,
    temperature: 0,
    target,
  });

describe("model memory budget", () => {
  it("evicts the least recently used idle model to load one that does not fit", async () => {
    expect((await generateOn(demoLm)).status).toBe(200);
    const predicted = await signedPost(worker.url, "/v1/predict", {
      model: "spirals",
      data: [[0.1, 0.2]],
      target: spirals,
    });
    expect(PredictResponseSchema.parse(await predicted.json()).predictions).toHaveLength(1);
    expect(await loadedNames()).toEqual(["demo-lm", "spirals"]);
    // demo-lm was used least recently: it makes room for other-lm.
    expect((await generateOn(otherLm)).status).toBe(200);
    expect(await loadedNames()).toEqual(["other-lm", "spirals"]);
    // And an evicted model loads again on demand, with the same answer as before.
    const again = GenerateResponseSchema.parse(await (await generateOn(demoLm)).json());
    expect(again.tokens_generated).toBe(4);
    expect(await loadedNames()).toContain("demo-lm");
  });

  it("never evicts a model with a request in flight: the newcomer gets 503 instead", async () => {
    // Make demo-lm and other-lm the residents, then keep both busy with long generations.
    await generateOn(demoLm);
    await generateOn(otherLm);
    expect(await loadedNames()).toEqual(["demo-lm", "other-lm"]);
    const long = [generateOn(demoLm, 1200), generateOn(otherLm, 1200)];
    await new Promise((resolve) => setTimeout(resolve, 50));
    const refused = await problemOf(
      await signedPost(worker.url, "/v1/predict", { model: "spirals", data: [[0.1, 0.2]], target: spirals }),
    );
    expect(refused.status).toBe(503);
    expect(String(refused.body.detail)).toContain("memory");
    for (const response of await Promise.all(long)) expect(response.status).toBe(200);
    expect(await loadedNames()).toEqual(["demo-lm", "other-lm"]);
  });

  it("loads a file once for every version that points at it, and reports each of them warm", async () => {
    // The same artifact registered again under another name (as a copy or an alias model would be).
    const copy = { ...demoLm, name: "demo-lm-copy", version: 3 };
    await generateOn(demoLm);
    await generateOn(otherLm);
    expect((await generateOn(copy)).status).toBe(200);
    const health = (await (await fetch(`${worker.url}/health`)).json()) as {
      loaded_models: { name: string; version: number; sha256: string; memory_mb: number }[];
    };
    const sameFile = health.loaded_models.filter((m) => m.sha256 === demoLm.artifact.sha256);
    expect(sameFile.map((m) => `${m.name}@${m.version}`).sort()).toEqual([
      "demo-lm-copy@3",
      `demo-lm@${demoLm.version}`,
    ]);
    // One session: other-lm (60 MB) still fits beside it in the 130 MB budget, so nothing was evicted.
    expect(await loadedNames()).toEqual(["demo-lm", "demo-lm-copy", "other-lm"]);
  });
});
