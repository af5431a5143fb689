/**
 * Seed 000's refinement through a real worker: judges of each kind score real generations
 * (demo-lm), loops obey the tier, the halt head can end them, a scorer model judges, and a
 * streamed run tells the same story event by event.
 */
import { type GenerateResponse, GenerateResponseSchema, PROBLEM_CONTENT_TYPE } from "@modelgate/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDemoLm, buildDemoScorer, demoScorerReferenceScore } from "../src/reference-models/index.js";
import { type LocalS3, startLocalS3 } from "./support/local-s3.js";
import { modelVersionFor } from "./support/model-version.js";
import { readServerSentEvents } from "./support/server-sent-events.js";
import { problemOf, signedPost } from "./support/signed-fetch.js";
import { startTestWorker, type TestWorker } from "./support/test-worker.js";

let s3: LocalS3;
let worker: TestWorker;
let demoLm: ReturnType<typeof modelVersionFor>;
let scorer: ReturnType<typeof modelVersionFor>;

beforeAll(async () => {
  s3 = await startLocalS3();
  worker = await startTestWorker(s3);
  const lm = buildDemoLm();
  demoLm = modelVersionFor(lm, await s3.upload(lm.name, lm.onnx));
  const builtScorer = buildDemoScorer();
  scorer = modelVersionFor(builtScorer, await s3.upload(builtScorer.name, builtScorer.onnx));
});

afterAll(async () => {
  await worker?.close();
  await s3?.close();
});

/** Three loops allowed, greedy, and a halt threshold the demo model never reaches mid-sentence. */
const threeLoops = { caws_tier: "tier_3", max_refinement_loops: 3, halt_probability_threshold: 0.99 };

function request(overrides: Record<string, unknown> = {}) {
  return {
    model: "demo-lm",
    prompt: "The edge",
    max_new_tokens: 12,
    temperature: 0,
    seed: 5,
    target: demoLm,
    runtime_config: threeLoops,
    ...overrides,
  };
}

async function generate(body: Record<string, unknown>): Promise<GenerateResponse> {
  const response = await signedPost(worker.url, "/v1/generate", body);
  expect(response.status, await response.clone().text()).toBe(200);
  return GenerateResponseSchema.parse(await response.json());
}

describe("refinement with a regex judge", () => {
  it("refines up to the loop budget when the answer never matches, feeding the feedback back", async () => {
    const result = await generate(request({ judge: { type: "regex", pattern: "^[0-9]+$" } }));
    expect(result.refinement_loops).toBe(3);
    expect(result.stop_reason).toBe("max_loops");
    expect(result.loops.map((l) => l.loop)).toEqual([1, 2, 3]);
    for (const loop of result.loops) {
      expect(loop.judge_score).toBe(0);
      expect(loop.judge_feedback).toContain("/^[0-9]+$/");
      expect(loop.tokens).toBeGreaterThan(0);
    }
    // Later loops read the original prompt plus the previous answer and the feedback.
    const [first, second] = result.loops;
    expect(second?.prompt_tokens).toBeGreaterThan((first?.prompt_tokens ?? 0) + (first?.tokens ?? 0));
    const perLoop = result.loops.reduce((sum, l) => sum + l.prompt_tokens + l.tokens, 0);
    expect(result.ces_tokens_total).toBe(perLoop);
  });

  it("stops at the first loop whose answer passes", async () => {
    const result = await generate(request({ judge: { type: "regex", pattern: "[a-z]" } }));
    expect(result).toMatchObject({ refinement_loops: 1, stop_reason: "judge_passed" });
    expect(result.loops[0]).toMatchObject({ judge_score: 1, judge_feedback: null });
  });

  it("never runs more loops than the key's tier allows", async () => {
    const capped = await generate(request({ judge: { type: "regex", pattern: "^[0-9]+$" }, caws_tier_cap: "tier_1" }));
    expect(capped.refinement_loops).toBe(1);
    expect(capped.stop_reason).toBe("max_loops");
    expect(capped.runtime_config.max_refinement_loops).toBe(1);
    const tier2 = await generate(request({ judge: { type: "regex", pattern: "^[0-9]+$" }, caws_tier_cap: "tier_2" }));
    expect(tier2.refinement_loops).toBe(2);
  });

  it("lets the halt head end refinement when its probability reaches the threshold", async () => {
    const result = await generate(
      request({
        judge: { type: "regex", pattern: "^[0-9]+$" },
        runtime_config: { ...threeLoops, halt_probability_threshold: 0.01 },
      }),
    );
    expect(result.stop_reason).toBe("halted");
    expect(result.refinement_loops).toBe(1);
    expect(result.loops[0]?.halt_probability).toBeGreaterThanOrEqual(0.01);
  });

  it("is reproducible: the same seed gives the same loops", async () => {
    const body = request({ temperature: 0.8, judge: { type: "regex", pattern: "^[0-9]+$" } });
    const [a, b] = [await generate(body), await generate(body)];
    expect(b.loops.map((l) => l.text)).toEqual(a.loops.map((l) => l.text));
    expect(b.token_ids).toEqual(a.token_ids);
  });
});

describe("refinement with a json_schema judge", () => {
  it("scores prose 0 with the parse error as feedback", async () => {
    const schema = { type: "object", required: ["status"], properties: { status: { type: "string" } } };
    const result = await generate(request({ judge: { type: "json_schema", schema } }));
    expect(result.loops.every((l) => l.judge_score === 0)).toBe(true);
    expect(result.loops[0]?.judge_feedback).toMatch(/JSON/);
  });

  it("refuses an invalid schema with 400 naming judge.schema, before any inference", async () => {
    const before = await (await fetch(`${worker.url}/health`)).json();
    const response = await signedPost(
      worker.url,
      "/v1/generate",
      request({ judge: { type: "json_schema", schema: { type: "no-such-type" } } }),
    );
    const problem = await problemOf(response);
    expect(problem.status).toBe(400);
    expect(problem.contentType).toBe(PROBLEM_CONTENT_TYPE);
    expect((problem.body.errors as { field: string }[]).map((e) => e.field)).toContain("judge.schema");
    const after = await (await fetch(`${worker.url}/health`)).json();
    expect(after).toMatchObject({ tokens_per_second: (before as { tokens_per_second: number }).tokens_per_second });
  });
});

describe("refinement with a model judge", () => {
  it("scores each answer with the registered scorer model", async () => {
    const result = await generate(request({ judge: { type: "model", model: "demo-scorer" }, judge_target: scorer }));
    expect(result.loops.length).toBeGreaterThanOrEqual(1);
    for (const loop of result.loops) {
      // The scorer reads the loop's prompt and its answer; the very first loop's prompt is the request's.
      if (loop.loop !== 1) continue;
      const ids = [256, ...new TextEncoder().encode(`The edge\n${loop.text}`)];
      expect(loop.judge_score).toBeCloseTo(demoScorerReferenceScore(ids), 5);
    }
  });

  it("refuses a judge_target that is not a scorer, naming judge.model", async () => {
    const problem = await problemOf(
      await signedPost(
        worker.url,
        "/v1/generate",
        request({ judge: { type: "model", model: "demo-lm" }, judge_target: demoLm }),
      ),
    );
    expect(problem.status).toBe(400);
    expect((problem.body.errors as { field: string }[]).map((e) => e.field)).toContain("judge.model");
  });
});

describe("streamed generation", () => {
  it("streams each loop's text, a loop event per loop, and a done event equal to the plain answer", async () => {
    const body = request({ judge: { type: "regex", pattern: "^[0-9]+$" } });
    const plain = await generate(body);
    const response = await signedPost(worker.url, "/v1/generate", { ...body, stream: true });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = await readServerSentEvents(response);
    const names = events.map((e) => e.event);
    expect(names.at(-1)).toBe("done");
    expect(names.filter((n) => n === "loop")).toHaveLength(plain.refinement_loops);
    for (const loop of plain.loops) {
      const streamed = events
        .filter((e) => e.event === "token" && (e.data as { loop: number }).loop === loop.loop)
        .map((e) => (e.data as { text: string }).text)
        .join("");
      expect(streamed).toBe(loop.text);
    }
    const done = GenerateResponseSchema.parse(events.at(-1)?.data);
    expect(done.loops.map((l) => l.text)).toEqual(plain.loops.map((l) => l.text));
    expect(done.token_ids).toEqual(plain.token_ids);
  });

  it("ends a stream that fails after it started with an explicit error event, never a silent done", async () => {
    // The scorer's artifact is not in S3: the failure comes after loop 1 has already streamed.
    const missing = {
      uri: `s3://${s3.bucket}/models/missing/scorer.onnx`,
      sha256: "f".repeat(64),
      bytes: 1554,
      format: "onnx" as const,
    };
    const brokenScorer = { ...scorer, artifact: missing };
    const response = await signedPost(worker.url, "/v1/generate", {
      ...request({ judge: { type: "model", model: "demo-scorer" }, judge_target: brokenScorer }),
      stream: true,
    });
    expect(response.status).toBe(200);
    const events = await readServerSentEvents(response);
    expect(events.some((e) => e.event === "token")).toBe(true);
    expect(events.map((e) => e.event)).not.toContain("done");
    const last = events.at(-1);
    expect(last?.event).toBe("error");
    expect(last?.data).toMatchObject({ status: 502 });
    // The problem speaks of object storage, not of files or stack traces on the worker.
    expect(JSON.stringify(last?.data)).not.toContain("/tmp");
  });

  it("answers a bad streamed request with a 4xx problem, not a stream", async () => {
    const response = await signedPost(worker.url, "/v1/generate", request({ stream: true, top_p: 3 }));
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toBe(PROBLEM_CONTENT_TYPE);
  });
});
