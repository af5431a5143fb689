import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildDemoLm, buildSpiralsClassifier } from "@modelgate/gpu-worker/reference-models/index";
import { freeStackPorts, type LocalStack, startLocalStack } from "@modelgate/infra/local-stack";
import {
  type GenerateResponse,
  GenerateResponseSchema,
  PredictResponseSchema,
  ProblemDetailsSchema,
  VersionSearchPageSchema,
} from "@modelgate/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { greedyDecodeDirect, predictDirect } from "../support/direct-onnx.js";
import { runCliInProcess } from "../support/run-cli-in-process.js";

let dataDir: string;
let ports: { edgePort: number; workerPort: number; s3Port: number };
let stack: LocalStack;

/** `key: null` sends no Authorization header at all. */
async function edge(path: string, body: unknown, key: string | null = stack.adminKey): Promise<Response> {
  return fetch(`${stack.edgeUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify(body),
  });
}

async function expectProblem(response: Response, status: number) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  return ProblemDetailsSchema.parse(await response.json());
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "modelgate-stack-"));
  ports = await freeStackPorts();
  stack = await startLocalStack({ dataDir, ...ports, gpuMonitorIntervalMs: 1000 });
});

afterAll(async () => {
  await stack?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe("the whole stack started by npm start's launcher", () => {
  it("seeded every demo model into Production through the real path", () => {
    expect(stack.seeded.map((m) => [m.name, m.version, m.created])).toEqual([
      ["demo-lm", 1, true],
      ["spirals", 1, true],
      ["ref-decoder", 1, true],
      ["demo-scorer", 1, true],
    ]);
  });

  it("keeps the admin key in a file only its owner can read", async () => {
    const info = await stat(join(dataDir, "admin-key"));
    expect(info.mode & 0o777).toBe(0o600);
  });

  it("generates through the edge exactly what onnxruntime says for the same model", async () => {
    const response = await edge("/v1/generate", {
      model: "demo-lm",
      prompt: "hello",
      max_new_tokens: 16,
      temperature: 0,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-modelgate-worker")).toBe(stack.workerId);
    expect(response.headers.get("x-modelgate-route-reason")).toContain(stack.workerId);
    const answer: GenerateResponse = GenerateResponseSchema.parse(await response.json());
    expect(answer.tokens_generated).toBe(16);
    expect(answer.halt_probability).toBeGreaterThanOrEqual(0);
    expect(answer.halt_probability).toBeLessThanOrEqual(1);
    expect(answer).toMatchObject({
      model: "demo-lm",
      version: 1,
      worker_id: stack.workerId,
      refinement_loops: 1,
      stop_reason: "no_judge",
    });

    const promptIds = [256, ...new TextEncoder().encode("hello")];
    const direct = await greedyDecodeDirect(buildDemoLm().onnx, promptIds, 16);
    expect(answer.token_ids).toEqual(direct.tokenIds);
    expect(answer.text).toBe(String.fromCharCode(...direct.tokenIds));
    expect(answer.halt_logits?.[0]).toBeCloseTo(direct.haltLogits?.[0] ?? Number.NaN, 5);
    expect(answer.halt_logits?.[1]).toBeCloseTo(direct.haltLogits?.[1] ?? Number.NaN, 5);
  });

  it("samples reproducibly with a seed and reports the seed it used", async () => {
    const body = { model: "demo-lm", prompt: "The model", max_new_tokens: 24, temperature: 1, seed: 1234 };
    const first = GenerateResponseSchema.parse(await (await edge("/v1/generate", body)).json());
    const second = GenerateResponseSchema.parse(await (await edge("/v1/generate", body)).json());
    expect(first.seed).toBe(1234);
    expect(second.token_ids).toEqual(first.token_ids);
  });

  it("predicts through the edge exactly what onnxruntime says for the same model", async () => {
    const rows = [
      [0.5, 0.3],
      [-0.4, 0.1],
      [0.05, -0.7],
    ];
    const response = await edge("/v1/predict", { model: "spirals", data: rows });
    expect(response.status).toBe(200);
    const answer = PredictResponseSchema.parse(await response.json());
    expect(answer.model_version).toBe("spirals@1");
    expect(answer.probabilities).toHaveLength(3);
    const direct = await predictDirect(buildSpiralsClassifier().onnx, rows);
    answer.probabilities.forEach((row, r) => {
      expect(row).toHaveLength(2);
      for (const [c, p] of row.entries()) expect(p).toBeCloseTo(direct[r]?.[c] ?? Number.NaN, 6);
      expect(answer.predictions[r]).toBe((row[1] ?? 0) > (row[0] ?? 0) ? 1 : 0);
    });
  });

  it("refuses inference without a key (401 problem+json)", async () => {
    await expectProblem(await edge("/v1/generate", { model: "demo-lm", prompt: "hello" }, null), 401);
    await expectProblem(await edge("/v1/predict", { model: "spirals", data: [[0.5, 0.3]] }, null), 401);
    await expectProblem(
      await edge("/v1/predict", { model: "spirals", data: [[0.5, 0.3]] }, "mg_wrong_0123456789abcdef"),
      401,
    );
  });

  it("refuses a direct unsigned call to the worker (401)", async () => {
    const response = await fetch(`${stack.workerUrl}/v1/generate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "demo-lm", prompt: "hello" }),
    });
    await expectProblem(response, 401);
  });

  it("answers bad input with 4xx problem+json and registers nothing", async () => {
    const unknown = await expectProblem(await edge("/v1/generate", { model: "missing", prompt: "hi" }), 404);
    expect(unknown.detail).toContain("missing");
    const wrongFeatures = await expectProblem(await edge("/v1/predict", { model: "spirals", data: [[1, 2, 3]] }), 400);
    expect(wrongFeatures.errors?.[0]?.field).toMatch(/^data/);
    const badType = await expectProblem(await edge("/v1/generate", { model: "demo-lm", prompt: 42 }), 400);
    expect(badType.errors?.map((e) => e.field)).toEqual(["prompt"]);
    const list = await fetch(`${stack.edgeUrl}/v1/models?sort=name`, {
      headers: { authorization: `Bearer ${stack.adminKey}` },
    });
    const page = VersionSearchPageSchema.parse(await list.json());
    expect(page.items.map((v) => `${v.name}@${v.version}:${v.stage}`)).toEqual([
      "demo-lm@1:Production",
      "demo-scorer@1:Production",
      "ref-decoder@1:Production",
      "spirals@1:Production",
    ]);
  });

  it("keeps the worker's /health answering while a 1024-token generation runs", async () => {
    // demo-lm recomputes the whole sequence each step, so this generation lasts long enough to probe.
    const generation = edge("/v1/generate", { model: "demo-lm", prompt: "Serving models", max_new_tokens: 1024 });
    let generationDone = false;
    void generation.then(() => {
      generationDone = true;
    });
    const latencies: number[] = [];
    let probesDuringGeneration = 0;
    while (!generationDone && latencies.length < 200) {
      const started = performance.now();
      const health = await fetch(`${stack.workerUrl}/health`);
      latencies.push(performance.now() - started);
      expect(health.status).toBe(200);
      const body = (await health.json()) as { in_flight: number };
      if (body.in_flight > 0 && !generationDone) probesDuringGeneration++;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const answer = GenerateResponseSchema.parse(await (await generation).json());
    expect(answer.tokens_generated).toBe(1024);
    expect(probesDuringGeneration).toBeGreaterThan(0);
    // Blocked by inference, a probe would wait for the whole generation (over a second). The
    // 100 ms p99 target itself is measured by `npm run bench`, not asserted on a shared CI box.
    const sorted = [...latencies].sort((a, b) => a - b);
    expect(sorted[Math.floor(sorted.length / 2)]).toBeLessThan(100);
    expect(Math.max(...latencies)).toBeLessThan(600);
  });

  it("serves the modelgate CLI: models list, generate and predict, with --json", async () => {
    const cli = (...argv: string[]) => runCliInProcess(stack.edgeUrl, dataDir, argv);
    // No key given and none in <cwd>/.modelgate/admin-key: the edge refuses, exit code 3.
    const withoutKeyFile = await cli("models", "list");
    expect(withoutKeyFile.code).toBe(3);
    const keyed = async (...argv: string[]) => cli("--key", stack.adminKey, ...argv);
    const list = await keyed("models", "list");
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^demo-lm\s+1\s+Production\s/m);
    expect(list.stdout).toMatch(/^spirals\s+1\s+Production\s/m);
    const generated = await keyed(
      "generate",
      "demo-lm",
      "hello",
      "--max-new-tokens",
      "8",
      "--temperature",
      "0",
      "--json",
    );
    expect(generated.code).toBe(0);
    expect(GenerateResponseSchema.parse(JSON.parse(generated.stdout)).tokens_generated).toBe(8);
    const predicted = await keyed("predict", "spirals", "--data", "[[0.5,0.3]]", "--json");
    expect(predicted.code).toBe(0);
    expect(PredictResponseSchema.parse(JSON.parse(predicted.stdout)).predictions).toHaveLength(1);
    const missing = await keyed("models", "info", "no-such-model");
    expect(missing.code).toBe(4);

    // A scoped key made with the CLI works for inference, cannot read the registry, and dies when revoked.
    const created = await keyed("keys", "create", "e2e-bot", "--scopes", "infer", "--max-tier", "tier_1", "--json");
    expect(created.code).toBe(0);
    const { id, key } = JSON.parse(created.stdout) as { id: string; key: string };
    const answer = await cli("--key", key, "generate", "demo-lm", "hi", "--max-new-tokens", "2", "--json");
    expect(answer.code).toBe(0);
    expect(GenerateResponseSchema.parse(JSON.parse(answer.stdout)).runtime_config.max_refinement_loops).toBe(1);
    expect((await cli("--key", key, "models", "list")).code).toBe(3);
    const listed = await keyed("keys", "list");
    expect(listed.stdout).toMatch(new RegExp(`^${id}\\s+e2e-bot\\s+`, "m"));
    expect(listed.stdout).not.toContain(key);
    expect((await keyed("keys", "revoke", id)).code).toBe(0);
    expect((await cli("--key", key, "generate", "demo-lm", "hi", "--max-new-tokens", "2")).code).toBe(3);
  });

  it("reuses the persisted state on a second start", async () => {
    await stack.stop();
    // Stopped means stopped: nothing answers on the stack's ports any more.
    await expect(fetch(`${stack.edgeUrl}/health`)).rejects.toThrow();
    await expect(fetch(`${stack.workerUrl}/health`)).rejects.toThrow();
    const adminKey = stack.adminKey;
    stack = await startLocalStack({ dataDir, ...ports, gpuMonitorIntervalMs: 1000 });
    expect(stack.adminKey).toBe(adminKey);
    expect(stack.seeded.map((m) => [m.name, m.version, m.created])).toEqual([
      ["demo-lm", 1, false],
      ["spirals", 1, false],
      ["ref-decoder", 1, false],
      ["demo-scorer", 1, false],
    ]);
    const response = await edge("/v1/predict", { model: "spirals", data: [[0.5, 0.3]] });
    expect(response.status).toBe(200);
  });
});
