/**
 * The worker's `GET /metrics` and request log, on a real worker (HTTP, inference threads,
 * onnxruntime-node, S3 via s3rver) with a fake nvidia-smi on PATH printing the real CSV format:
 * every catalogued family is exposed; request, token, timing, batching, halt, refinement and
 * judge series move by exactly what the requests did; GPU gauges follow nvidia-smi (N/A left
 * out); the metrics token guards the route; each request's id comes back and is logged.
 */
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { GenerateResponseSchema, type MetricDefinition, WORKER_METRICS } from "@modelgate/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWorkerLogger } from "../src/logger.js";
import { buildDemoLm, buildSpiralsClassifier } from "../src/reference-models/index.js";
import { type LocalS3, startLocalS3 } from "./support/local-s3.js";
import { modelVersionFor } from "./support/model-version.js";
import { signedPost } from "./support/signed-fetch.js";
import { startTestWorker, type TestWorker } from "./support/test-worker.js";

const METRICS_TOKEN = "worker-metrics-token-0123456789";
const TWO_GPUS = [
  "0, GPU-aaaaaaaa-0000-0000-0000-000000000000, NVIDIA H100 80GB HBM3, 87, 40, 60000, 81559, 21559, 66, 512.30, 700.00",
  "1, GPU-bbbbbbbb-0000-0000-0000-000000000000, NVIDIA H100 80GB HBM3, [N/A], [N/A], 1024, 81559, 80535, 35, [Not Supported], 700.00",
].join("\n");

let s3: LocalS3;
let worker: TestWorker;
let fakeSmiDir: string;
let savedPath: string | undefined;
const logLines: string[] = [];
let demoLm: ReturnType<typeof modelVersionFor>;
let spirals: ReturnType<typeof modelVersionFor>;

beforeAll(async () => {
  fakeSmiDir = await mkdtemp(join(tmpdir(), "fake-nvidia-smi-"));
  await writeFile(join(fakeSmiDir, "nvidia-smi"), `#!/bin/sh\ncat <<'CSV'\n${TWO_GPUS}\nCSV\n`);
  await chmod(join(fakeSmiDir, "nvidia-smi"), 0o755);
  savedPath = process.env.PATH;
  process.env.PATH = `${fakeSmiDir}:${savedPath ?? ""}`;
  s3 = await startLocalS3();
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      done();
    },
  });
  worker = await startTestWorker(s3, {
    env: { MODELGATE_METRICS_TOKEN: METRICS_TOKEN },
    start: { logger: createWorkerLogger({ level: "debug", workerId: "test-worker", destination }) },
  });
  const lm = buildDemoLm();
  demoLm = modelVersionFor(lm, await s3.upload(lm.name, lm.onnx));
  const classifier = buildSpiralsClassifier();
  spirals = modelVersionFor(classifier, await s3.upload(classifier.name, classifier.onnx));
});

afterAll(async () => {
  await worker?.close();
  await s3?.close();
  process.env.PATH = savedPath;
  await rm(fakeSmiDir, { recursive: true, force: true });
});

interface Scrape {
  text: string;
  /** The sum over series of `name` whose labels include every given pair. */
  value(name: string, labels?: Record<string, string>): number;
  has(name: string, labels: Record<string, string>): boolean;
}

async function scrape(): Promise<Scrape> {
  const response = await fetch(`${worker.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  const samples: Array<{ name: string; labels: string; value: number }> = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    if (!match?.[1] || !match[3]) throw new Error(`not a sample line: ${line}`);
    samples.push({ name: match[1], labels: match[2] ?? "", value: Number(match[3]) });
  }
  const matching = (name: string, labels: Record<string, string> = {}) =>
    samples.filter(
      (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels.includes(`${k}="${v}"`)),
    );
  return {
    text,
    value: (name, labels) => matching(name, labels).reduce((sum, s) => sum + s.value, 0),
    has: (name, labels) => matching(name, labels).length > 0,
  };
}

const DEMO = { model: "demo-lm", version: "1", format: "fp32" };

async function generate(body: Record<string, unknown>) {
  const response = await signedPost(worker.url, "/v1/generate", { model: "demo-lm", target: demoLm, ...body });
  expect(response.status, await response.clone().text()).toBe(200);
  return { response, answer: GenerateResponseSchema.parse(await response.json()) };
}

describe("the worker's GET /metrics", () => {
  it("lists every catalogued worker family, each series labelled with the worker id", async () => {
    const { text } = await scrape();
    for (const metric of Object.values(WORKER_METRICS) as MetricDefinition[]) {
      expect(text).toContain(`# TYPE ${metric.name} ${metric.type}\n`);
    }
    expect(text).toMatch(/^modelgate_worker_info\{version="[^"]+",worker_id="test-worker"\} 1$/m);
    for (const line of text.split("\n").filter((l) => l.startsWith("modelgate_"))) {
      expect(line).toContain('worker_id="test-worker"');
    }
  });

  it("counts generations: requests, tokens, timings, batches, halt, refinement, judges and stop reasons", async () => {
    const before = await scrape();
    const plain = await generate({ prompt: "The worker loads", max_new_tokens: 8, temperature: 0 });
    // A regex no answer matches: every loop is judged and refinement runs to max_loops.
    const judged = await generate({
      prompt: "Say yes",
      max_new_tokens: 4,
      temperature: 0.8,
      seed: 3,
      judge: { type: "regex", pattern: "^impossible-answer$" },
      runtime_config: { caws_tier: "tier_3", max_refinement_loops: 3, halt_probability_threshold: 1 },
    });
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = DEMO) =>
      after.value(name, labels) - before.value(name, labels);
    const answers = [plain.answer, judged.answer];
    const loops = answers.flatMap((a) => a.loops);
    expect(judged.answer.stop_reason).toBe("max_loops");
    expect(delta("modelgate_inference_request_success_total", { ...DEMO, endpoint: "generate" })).toBe(2);
    expect(delta("modelgate_generation_tokens_total")).toBe(loops.reduce((sum, l) => sum + l.tokens, 0));
    expect(delta("modelgate_prompt_tokens_total")).toBe(loops.reduce((sum, l) => sum + l.prompt_tokens, 0));
    expect(delta("modelgate_inference_request_duration_seconds_count", { ...DEMO, endpoint: "generate" })).toBe(2);
    expect(delta("modelgate_time_to_first_token_seconds_count")).toBe(2);
    for (const phase of ["queue", "prefill", "decode"]) {
      expect(delta(`modelgate_inference_${phase}_duration_seconds_count`)).toBe(loops.length);
    }
    // Each loop is at least one prefill and one decode step, each reported exactly once.
    expect(delta("modelgate_inference_batch_size_count", { ...DEMO, phase: "prefill" })).toBeGreaterThanOrEqual(
      loops.length,
    );
    expect(delta("modelgate_inference_batch_size_count", { ...DEMO, phase: "decode" })).toBeGreaterThanOrEqual(
      loops.length,
    );
    expect(delta("modelgate_halt_probability_count")).toBe(2);
    expect(delta("modelgate_halt_probability_sum")).toBeCloseTo(
      answers.reduce((sum, a) => sum + (a.halt_probability ?? 0), 0),
      6,
    );
    expect(delta("modelgate_refinement_loops_sum")).toBe(loops.length);
    expect(delta("modelgate_judge_score_count", { ...DEMO, judge: "regex" })).toBe(judged.answer.loops.length);
    expect(delta("modelgate_generation_stop_reason_total", { ...DEMO, stop_reason: "no_judge" })).toBe(1);
    expect(delta("modelgate_generation_stop_reason_total", { ...DEMO, stop_reason: "max_loops" })).toBe(1);
    // The model is resident, with its budgeted bytes, and was loaded once.
    expect(after.value("modelgate_model_loaded", DEMO)).toBe(1);
    expect(after.value("modelgate_model_loaded_bytes", DEMO)).toBe(demoLm.memory_mb * 1024 * 1024);
    expect(after.value("modelgate_model_load_duration_seconds_count", DEMO)).toBe(1);
    expect(after.value("modelgate_loaded_models")).toBeGreaterThanOrEqual(1);
  });

  it("counts a refused request as a failure by error code, and predictions by their endpoint", async () => {
    const before = await scrape();
    const refused = await signedPost(worker.url, "/v1/generate", {
      model: "demo-lm",
      target: { ...demoLm, max_context_tokens: 8 },
      prompt: "hi",
      max_new_tokens: 8,
    });
    expect(refused.status).toBe(400);
    const predicted = await signedPost(worker.url, "/v1/predict", {
      model: "spirals",
      target: spirals,
      data: [[0.1, 0.2]],
    });
    expect(predicted.status).toBe(200);
    const after = await scrape();
    const failures = (s: Scrape) =>
      s.value("modelgate_inference_request_failure_total", { ...DEMO, endpoint: "generate" });
    expect(failures(after) - failures(before)).toBe(1);
    expect(after.has("modelgate_inference_request_failure_total", { ...DEMO, code: "bad_request" })).toBe(true);
    const spiralsLabels = { model: "spirals", version: "1", format: "fp32", endpoint: "predict" };
    expect(
      after.value("modelgate_inference_request_success_total", spiralsLabels) -
        before.value("modelgate_inference_request_success_total", spiralsLabels),
    ).toBe(1);
  });

  it("reports each GPU nvidia-smi lists, leaving out readings it could not give", async () => {
    const metrics = await scrape();
    const gpu0 = { gpu: "0", uuid: "GPU-aaaaaaaa-0000-0000-0000-000000000000", device: "cuda" };
    expect(metrics.value("modelgate_gpu_utilization_ratio", gpu0)).toBeCloseTo(0.87, 6);
    expect(metrics.value("modelgate_gpu_memory_used_bytes", gpu0)).toBe(60000 * 1024 * 1024);
    expect(metrics.value("modelgate_gpu_memory_total_bytes", gpu0)).toBe(81559 * 1024 * 1024);
    expect(metrics.value("modelgate_gpu_temperature_celsius", gpu0)).toBe(66);
    expect(metrics.value("modelgate_gpu_power_draw_watts", gpu0)).toBeCloseTo(512.3, 6);
    expect(metrics.value("modelgate_gpu_power_limit_watts", gpu0)).toBe(700);
    // GPU 1 reads [N/A] utilization and [Not Supported] power draw: absent, not zero.
    expect(metrics.has("modelgate_gpu_utilization_ratio", { gpu: "1" })).toBe(false);
    expect(metrics.has("modelgate_gpu_power_draw_watts", { gpu: "1" })).toBe(false);
    expect(metrics.value("modelgate_gpu_temperature_celsius", { gpu: "1" })).toBe(35);
    expect(metrics.value("modelgate_process_resident_memory_bytes")).toBeGreaterThan(10 * 1024 * 1024);
    expect(metrics.has("modelgate_event_loop_lag_seconds", { quantile: "0.99" })).toBe(true);
  });

  it("asks for the metrics token when one is configured", async () => {
    for (const authorization of [undefined, "Bearer wrong-token-0000000000000", `Basic ${METRICS_TOKEN}`]) {
      const response = await fetch(`${worker.url}/metrics`, authorization ? { headers: { authorization } } : {});
      expect(response.status).toBe(401);
      expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(await response.text()).not.toContain("modelgate_");
    }
  });
});

describe("the worker's request log", () => {
  it("returns the edge's request id and logs one line per request with it, never the prompt", async () => {
    const requestId = "edge-request-id-42abc";
    const prompt = "a secret prompt that must not be logged 91c2";
    const response = await signedPost(
      worker.url,
      "/v1/generate",
      { model: "demo-lm", target: demoLm, prompt, max_new_tokens: 2 },
      { headers: { "x-request-id": requestId } },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("x-request-id")).toBe(requestId);
    await response.text();
    const entries = logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const logged = entries.find((entry) => entry.msg === "request" && entry.request_id === requestId);
    expect(logged).toMatchObject({
      level: "info",
      service: "modelgate-gpu-worker",
      worker_id: "test-worker",
      method: "POST",
      path: "/v1/generate",
      status: 200,
    });
    expect(typeof logged?.time).toBe("string");
    expect(logLines.join("\n")).not.toContain(prompt);
  });

  it("makes up an id for a request without a usable one, and logs scrapes at debug", async () => {
    const response = await fetch(`${worker.url}/health`, { headers: { "x-request-id": "no good" } });
    const id = response.headers.get("x-request-id") ?? "";
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const entry = logLines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((e) => e.msg === "request" && e.request_id === id);
    expect(entry).toMatchObject({ level: "debug", path: "/health", status: 200 });
  });
});
