/**
 * Canary rollouts (issue 16) through the real stack: wrangler dev (routing, the RolloutGuard
 * alarm, D1 analytics, R2 registry), the GPU worker running onnxruntime, s3rver. A healthy copy
 * of `spirals` takes its asked share of traffic, advances on its own and is promoted; a
 * deliberately broken version (a bad export answering float64 scores, which the worker cannot
 * serve: a 500 for every request) is rolled back by its guard on its own, started and followed with the CLI.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OnnxGraphBuilder } from "@modelgate/gpu-worker/onnx/onnx-graph-builder";
import { freeStackPorts, type LocalStack, startLocalStack } from "@modelgate/infra/local-stack";
import { uploadArtifact } from "@modelgate/infra/seed-demo-models";
import type { HistoryEvent, ModelVersion, RolloutView } from "@modelgate/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCliInProcess } from "../support/run-cli-in-process.js";
import { callEdge, jsonWithStatus } from "../support/stack-calls.js";

let dataDir: string;
let stack: LocalStack;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "modelgate-rollouts-"));
  stack = await startLocalStack({
    dataDir,
    ...(await freeStackPorts()),
    gpuMonitorIntervalMs: 1000,
    // The broken candidate's failures are the model's, not the worker's: keep the one worker's
    // circuit closed so Production traffic on the same worker is still served meanwhile.
    // A short routing cache, so the guard's changes reach routing within 0.2 s instead of 1 s.
    edgeVars: { MODELGATE_CIRCUIT_FAILURE_THRESHOLD: "100", MODELGATE_ROUTING_RECORD_CACHE_MS: "200" },
  });
});

afterAll(async () => {
  await stack?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

let requestCount = 0;
/** A predict naming the model's Production version; each with its own request id (the split's sticky value). */
async function predict(): Promise<{ status: number; model: string | null; arm: string | null }> {
  requestCount += 1;
  const response = await fetch(`${stack.edgeUrl}/v1/predict`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${stack.adminKey}`,
      "content-type": "application/json",
      "x-request-id": `canary-request-${requestCount}`,
    },
    body: JSON.stringify({ model: "spirals", data: [[0.5, 0.3]] }),
  });
  await response.arrayBuffer();
  return {
    status: response.status,
    model: response.headers.get("x-modelgate-model"),
    arm: response.headers.get("x-modelgate-rollout-arm"),
  };
}

/** `count` predicts, `parallel` at a time. */
async function traffic(count: number, parallel = 8) {
  const results: Awaited<ReturnType<typeof predict>>[] = [];
  for (let sent = 0; sent < count; sent += parallel) {
    results.push(...(await Promise.all(Array.from({ length: Math.min(parallel, count - sent) }, predict))));
  }
  return results;
}

async function rollout(): Promise<RolloutView> {
  return (await jsonWithStatus(
    await callEdge(stack, "GET", "/v1/models/spirals/rollouts/current"),
    200,
  )) as RolloutView;
}

/** Keeps traffic flowing (the guard needs requests in each window) until the rollout is no longer active. */
async function trafficUntilSettled(deadlineMs: number): Promise<RolloutView> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    await traffic(8);
    const current = await rollout();
    if (current.status !== "active" || Date.now() > deadline) return current;
  }
}

/** A new version of spirals from an artifact already in S3 (its io is read out of the file by the edge). */
async function register(artifact: object, description: string): Promise<number> {
  const response = await callEdge(stack, "POST", "/v1/models/spirals/versions", {
    kind: "tensor",
    artifact: { ...artifact, format: "onnx" },
    categories: ["classification"],
    metrics: { val_acc: 0.95 },
    description,
  });
  return ((await jsonWithStatus(response, 201)) as { version: number }).version;
}

/**
 * features [batch, 2] → Softmax → Cast to float64: a valid model, as a bad export would make it,
 * whose answers are not the float32 class scores /v1/predict serves, so the worker fails every
 * request with a 500 (an out-of-range Gather would be answered 400, as the caller's fault).
 */
function brokenSpirals(): Uint8Array {
  const graph = new OnnxGraphBuilder({ graphName: "broken-spirals", docString: "float64 scores from a bad export" });
  graph.addInput("features", "float32", ["batch", 2]);
  graph.addNode({
    opType: "Softmax",
    name: "softmax",
    inputs: ["features"],
    outputs: ["scores"],
    attributes: { axis: { int: -1 } },
  });
  graph.addNode({
    opType: "Cast",
    name: "to_double",
    inputs: ["scores"],
    outputs: ["probabilities"],
    attributes: { to: { int: 11 } },
  });
  graph.addOutput("probabilities", "float64", ["batch", 2]);
  return graph.serialize();
}

describe("canary rollouts through the real stack", () => {
  it("a healthy candidate gets its share, advances on its own and is promoted", async () => {
    const production = (await jsonWithStatus(
      await callEdge(stack, "GET", "/v1/models/spirals/versions/production"),
      200,
    )) as ModelVersion;
    const candidate = await register(production.artifact, "the same weights, as a second version");
    const started = await callEdge(stack, "POST", "/v1/models/spirals/rollouts", {
      candidate,
      steps: [25, 100],
      sticky: "request",
      guard: { max_error_rate: 0.05, window: 1, min_requests: 4 },
    });
    expect(((await jsonWithStatus(started, 201)) as RolloutView).percent).toBe(25);
    // The observed share over N requests, measured while paused so that the step cannot move.
    await jsonWithStatus(await callEdge(stack, "POST", "/v1/models/spirals/rollouts/current/pause", {}), 200);
    const sample = await traffic(80);
    expect(sample.every((r) => r.status === 200)).toBe(true);
    const toCandidate = sample.filter((r) => r.arm === "candidate");
    expect(toCandidate.every((r) => r.model === `spirals@${candidate}`)).toBe(true);
    expect(sample.filter((r) => r.arm === "production").every((r) => r.model === `spirals@${production.version}`)).toBe(
      true,
    );
    const share = toCandidate.length / sample.length;
    expect(share).toBeGreaterThan(0.25 - 0.1);
    expect(share).toBeLessThan(0.25 + 0.1);
    await jsonWithStatus(await callEdge(stack, "POST", "/v1/models/spirals/rollouts/current/resume", {}), 200);

    const settled = await trafficUntilSettled(20_000);
    expect(settled).toMatchObject({ status: "completed", percent: 100 });
    const history = (await jsonWithStatus(await callEdge(stack, "GET", "/v1/models/spirals/history"), 200)) as {
      events: HistoryEvent[];
    };
    const steps = history.events.filter((e) => e.action.startsWith("rollout_") || e.action === "stage_changed");
    expect(steps.slice(-7).map((e) => [e.action, e.version, e.to])).toEqual([
      ["rollout_started", candidate, "25%"],
      ["rollout_paused", candidate, "25%"],
      ["rollout_resumed", candidate, "25%"],
      ["rollout_advanced", candidate, "100%"],
      ["stage_changed", candidate, "Production"],
      ["stage_changed", production.version, "Archived"],
      ["rollout_completed", candidate, "100%"],
    ]);
    expect(steps.at(-4)?.reason).toMatch(/^guard held at 25% over \d+ requests; advancing to 100%$/);
  });

  it("a broken candidate is rolled back by its guard on its own (started and followed with the CLI)", async () => {
    const artifact = await uploadArtifact(stack.edgeUrl, stack.adminKey, "broken-spirals.onnx", brokenSpirals());
    const broken = await register(artifact, "deliberately broken: float64 scores");
    const cli = (...argv: string[]) => runCliInProcess(stack.edgeUrl, dataDir, ["--key", stack.adminKey, ...argv]);
    const start = await cli(
      "models",
      "rollout",
      "start",
      "spirals",
      String(broken),
      "--steps",
      "50,100",
      "--sticky",
      "request",
      "--max-error-rate",
      "0.1",
      "--window",
      "1",
      "--min-requests",
      "2",
      "--json",
    );
    expect(start.code, start.stderr).toBe(0);
    expect(JSON.parse(start.stdout)).toMatchObject({ candidate: broken, status: "active", percent: 50 });

    const during = await traffic(16);
    // About half the callers hit the broken version and see a 502 that says so; the rest are served by Production.
    const failed = during.filter((r) => r.arm === "candidate");
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((r) => r.status === 502)).toBe(true);
    expect(during.filter((r) => r.arm === "production").every((r) => r.status === 200)).toBe(true);
    expect(failed.length + during.filter((r) => r.arm === "production").length).toBe(during.length);
    const settled = await trafficUntilSettled(15_000);
    expect(settled.status).toBe("rolled_back");
    expect(settled.reason).toMatch(/^guard broke at 50%: error rate 1 \(\d+ of \d+\) is above max_error_rate 0.1$/);

    const status = await cli("models", "rollout", "status", "spirals", "--wait");
    // A rolled-back rollout is a refusal for scripts (exit 8), with the reason on stderr.
    expect(status.code).toBe(8);
    expect(status.stdout).toContain("rolled_back");
    expect(status.stderr).toContain("error rate 1");
    // Within the routing cache's life, every caller is back on Production.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const after = await traffic(16);
    expect(after.every((r) => r.status === 200 && r.arm === null && r.model !== `spirals@${broken}`)).toBe(true);
  });
});
