import { GenerateResponseSchema, PROBLEM_CONTENT_TYPE } from "@modelgate/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDemoLm, buildSpiralsClassifier } from "../src/reference-models/index.js";
import { type LocalS3, startLocalS3 } from "./support/local-s3.js";
import { modelVersionFor } from "./support/model-version.js";
import { problemOf, signedPost } from "./support/signed-fetch.js";
import { startTestWorker, type TestWorker } from "./support/test-worker.js";

let s3: LocalS3;
let worker: TestWorker;
let demoLm: ReturnType<typeof modelVersionFor>;
let demoLmWithoutHalt: ReturnType<typeof modelVersionFor>;

beforeAll(async () => {
  s3 = await startLocalS3();
  worker = await startTestWorker(s3);
  const built = buildDemoLm();
  demoLm = modelVersionFor(built, await s3.upload(built.name, built.onnx));
  const noHalt = buildDemoLm({ haltHead: false });
  demoLmWithoutHalt = modelVersionFor(noHalt, await s3.upload("demo-lm-no-halt", noHalt.onnx), {
    name: "demo-lm-no-halt",
  });
});

afterAll(async () => {
  await worker?.close();
  await s3?.close();
});

async function generate(body: Record<string, unknown>) {
  const response = await signedPost(worker.url, "/v1/generate", body);
  expect(response.status, await response.clone().text()).toBe(200);
  return GenerateResponseSchema.parse(await response.json());
}

describe("POST /v1/generate", () => {
  it("applies the caller's tier cap as a ceiling over every runtime_config layer", async () => {
    const capped = await generate({
      model: "demo-lm",
      prompt: "hi",
      max_new_tokens: 2,
      temperature: 0,
      runtime_config: { caws_tier: "tier_3", max_refinement_loops: 3, latent_mode_enabled: true, max_latent_spans: 3 },
      caws_tier_cap: "tier_1",
      target: demoLm,
    });
    expect(capped.runtime_config).toMatchObject({
      caws_tier: "tier_1",
      max_refinement_loops: 1,
      max_latent_spans: 0,
      latent_mode_enabled: false,
    });
    // A cap is a ceiling, never a floor: a stricter request keeps its own tier.
    const stricter = await generate({
      model: "demo-lm",
      prompt: "hi",
      max_new_tokens: 2,
      temperature: 0,
      runtime_config: { caws_tier: "tier_1" },
      caws_tier_cap: "tier_3",
      target: demoLm,
    });
    expect(stricter.runtime_config.caws_tier).toBe("tier_1");
  });

  it("generates greedily with the halt head and reports seed 000's metrics", async () => {
    const result = await generate({
      model: "demo-lm",
      prompt: "The worker loads",
      max_new_tokens: 16,
      temperature: 0,
      target: demoLm,
    });
    expect(result.tokens_generated).toBe(16);
    expect(result.token_ids).toHaveLength(16);
    expect(result.finish_reason).toBe("length");
    expect(result.text.length).toBeGreaterThan(0);
    expect(result.prompt_tokens).toBe(1 + "The worker loads".length);
    expect(result.ces_tokens_total).toBe(result.prompt_tokens + 16);
    expect(result.halt_logits).toHaveLength(2);
    expect(result.halt_probability).toBeGreaterThanOrEqual(0);
    expect(result.halt_probability).toBeLessThanOrEqual(1);
    expect(result.refinement_loops).toBe(1);
    expect(result.latent_spans_used).toBe(0);
    expect(result.model).toBe("demo-lm");
    expect(result.version).toBe(1);
    expect(result.worker_id).toBe("test-worker");
    expect(result.tokens_per_second).toBeGreaterThan(0);
    // Top-level knobs win over every runtime_config layer; the default tier_2 caps loops at 2.
    expect(result.runtime_config).toMatchObject({ max_new_tokens: 16, temperature: 0, max_refinement_loops: 2 });

    const again = await generate({
      model: "demo-lm",
      prompt: "The worker loads",
      max_new_tokens: 16,
      temperature: 0,
      target: demoLm,
    });
    expect(again.token_ids).toEqual(result.token_ids);
  });

  it("repeats a sampled generation exactly with the same seed", async () => {
    const body = {
      model: "demo-lm",
      prompt: "A request",
      max_new_tokens: 32,
      temperature: 1,
      seed: 1234,
      target: demoLm,
    };
    const first = await generate(body);
    const second = await generate(body);
    expect(first.seed).toBe(1234);
    expect(second.token_ids).toEqual(first.token_ids);
    expect(second.text).toBe(first.text);
    const other = await generate({ ...body, seed: 99 });
    expect(other.token_ids).not.toEqual(first.token_ids);
  });

  it("reports the seed it picked when the request has none", async () => {
    const result = await generate({
      model: "demo-lm",
      prompt: "Hi",
      max_new_tokens: 4,
      temperature: 1,
      target: demoLm,
    });
    const replay = await generate({
      model: "demo-lm",
      prompt: "Hi",
      max_new_tokens: 4,
      temperature: 1,
      seed: result.seed,
      target: demoLm,
    });
    expect(replay.token_ids).toEqual(result.token_ids);
  });

  it("ends at a stop string with finish_reason stop, leaving the stop string out of the text", async () => {
    const body = { model: "demo-lm", prompt: "The worker", max_new_tokens: 40, temperature: 0, target: demoLm };
    const full = await generate(body);
    expect(full.finish_reason).toBe("length");
    // A piece from the middle of the greedy text; the run with it as a stop must end right before it.
    const stop = full.text.slice(10, 13);
    const stopped = await generate({ ...body, stop: ["never appears", stop] });
    expect(stopped.finish_reason).toBe("stop");
    expect(stopped.text).toBe(full.text.slice(0, full.text.indexOf(stop)));
    expect(stopped.token_ids).toEqual(full.token_ids.slice(0, stopped.token_ids.length));
    expect(stopped.tokens_generated).toBe(stopped.token_ids.length);
  });

  it("samples reproducibly with top_k, top_p and repetition_penalty", async () => {
    const body = {
      model: "demo-lm",
      prompt: "A request",
      max_new_tokens: 24,
      temperature: 1,
      top_k: 20,
      top_p: 0.9,
      repetition_penalty: 1.3,
      seed: 42,
      target: demoLm,
    };
    const first = await generate(body);
    expect((await generate(body)).token_ids).toEqual(first.token_ids);
    // Top-k 1 is greedy whatever the temperature and seed.
    const greedy = await generate({ ...body, temperature: 0, top_k: undefined, top_p: undefined });
    const topOne = await generate({ ...body, top_k: 1, top_p: undefined, seed: 7 });
    expect(topOne.token_ids).toEqual(greedy.token_ids);
  });

  it.each([
    ["top_p", { top_p: 0 }],
    ["top_p", { top_p: 1.5 }],
    ["top_k", { top_k: 0 }],
    ["top_k", { top_k: 2.5 }],
    ["repetition_penalty", { repetition_penalty: 0.5 }],
    ["stop", { stop: [] }],
    ["stop", { stop: [""] }],
    ["stop", { stop: ["x".repeat(65)] }],
    ["stop", { stop: Array.from({ length: 9 }, (_, i) => `s${i}`) }],
  ])("answers 400 naming %s for %j", async (field, knob) => {
    const problem = await problemOf(
      await signedPost(worker.url, "/v1/generate", { model: "demo-lm", prompt: "x", target: demoLm, ...knob }),
    );
    expect(problem.status).toBe(400);
    expect(problem.contentType).toBe(PROBLEM_CONTENT_TYPE);
    const errors = (problem.body.errors ?? []) as { field: string }[];
    expect(errors.map((e) => e.field.split(".")[0])).toContain(field);
  });

  it("serves a model without a halt head, with null halt fields", async () => {
    const result = await generate({
      model: "demo-lm-no-halt",
      prompt: "Good serving",
      max_new_tokens: 8,
      temperature: 0,
      target: demoLmWithoutHalt,
    });
    expect(result.tokens_generated).toBe(8);
    expect(result.halt_logits).toBeNull();
    expect(result.halt_probability).toBeNull();
  });

  it("switches the halt head off when the request's runtime_config says so", async () => {
    const result = await generate({
      model: "demo-lm",
      prompt: "Good serving",
      max_new_tokens: 4,
      temperature: 0,
      runtime_config: { halt_head_enabled: false, caws_tier: "tier_1", max_refinement_loops: 3 },
      target: demoLm,
    });
    expect(result.halt_probability).toBeNull();
    expect(result.runtime_config).toMatchObject({
      halt_head_enabled: false,
      caws_tier: "tier_1",
      max_refinement_loops: 1,
      max_latent_spans: 0,
    });
  });

  it("uses runtime_config.max_new_tokens when the top-level field is absent", async () => {
    const result = await generate({
      model: "demo-lm",
      prompt: "x",
      temperature: 0,
      runtime_config: { max_new_tokens: 5 },
      target: demoLm,
    });
    expect(result.tokens_generated).toBe(5);
  });

  it("queues concurrent generations on the model's thread and answers each", async () => {
    const body = { model: "demo-lm", prompt: "Each worker", max_new_tokens: 24, temperature: 0, target: demoLm };
    const results = await Promise.all([generate(body), generate(body), generate(body)]);
    expect(results.map((r) => r.text)).toEqual([results[0]?.text, results[0]?.text, results[0]?.text]);
  });

  it("answers 500 problem+json without internals when the artifact is not a loadable model", async () => {
    const built = buildDemoLm();
    const garbage = new TextEncoder().encode("this is not an ONNX model");
    const broken = modelVersionFor(built, await s3.upload("broken", garbage), { name: "broken" });
    const problem = await problemOf(
      await signedPost(worker.url, "/v1/generate", { model: "broken", prompt: "x", target: broken }),
    );
    expect(problem.status).toBe(500);
    expect(problem.contentType).toBe(PROBLEM_CONTENT_TYPE);
    expect(problem.body.detail).toBe("Model broken@1 could not be loaded.");
    expect(JSON.stringify(problem.body)).not.toContain(worker.cacheDir);
    // The thread survived: other models keep working.
    const after = await generate({ model: "demo-lm", prompt: "x", max_new_tokens: 2, target: demoLm });
    expect(after.tokens_generated).toBe(2);
  });

  it("refuses a tensor model with 400", async () => {
    const spirals = buildSpiralsClassifier();
    const target = modelVersionFor(spirals, await s3.upload(spirals.name, spirals.onnx));
    const problem = await problemOf(
      await signedPost(worker.url, "/v1/generate", { model: "spirals", prompt: "x", target }),
    );
    expect(problem.status).toBe(400);
    expect(problem.contentType).toBe(PROBLEM_CONTENT_TYPE);
    expect(String(problem.body.detail)).toContain("/v1/predict");
  });

  it("answers 502 problem+json when the artifact is missing from object storage", async () => {
    const built = buildDemoLm();
    const missing = modelVersionFor(
      built,
      { ...demoLm.artifact, uri: `s3://${s3.bucket}/models/nowhere.onnx`, sha256: "0".repeat(64) },
      { name: "missing" },
    );
    const problem = await problemOf(
      await signedPost(worker.url, "/v1/generate", { model: "missing", prompt: "x", target: missing }),
    );
    expect(problem.status).toBe(502);
    expect(problem.contentType).toBe(PROBLEM_CONTENT_TYPE);
    expect(String(problem.body.detail)).toContain("not in object storage");
  });
});
