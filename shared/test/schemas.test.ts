import { describe, expect, it } from "vitest";
import { GPU_MONITOR_INTERVAL_MS, GpuSnapshotSchema, WorkerHeartbeatSchema, WorkerStateSchema } from "../src/gpu.js";
import {
  GenerateRequestSchema,
  PredictRequestSchema,
  WorkerGenerateRequestSchema,
  WorkerPredictRequestSchema,
} from "../src/inference.js";
import { gpu, modelVersion, workerState } from "./fixtures.js";

function heartbeat(overrides: Record<string, unknown>): Record<string, unknown> {
  return { ...workerState().heartbeat, ...overrides };
}

function issuePaths(result: { success: boolean; error?: { issues: Array<{ path: PropertyKey[] }> } }): string[] {
  if (result.success || !result.error) throw new Error("expected validation to fail");
  return result.error.issues.map((issue) => issue.path.map(String).join("."));
}

describe("gpu.ts schemas", () => {
  it("the worker fixture is a valid WorkerState", () => {
    expect(WorkerStateSchema.safeParse(workerState()).success).toBe(true);
  });

  it("samples every 1–10 s, 5 s by default", () => {
    expect(GPU_MONITOR_INTERVAL_MS).toEqual({ min: 1000, max: 10000, default: 5000 });
    expect(WorkerHeartbeatSchema.safeParse(heartbeat({ interval_ms: 1000 })).success).toBe(true);
    expect(WorkerHeartbeatSchema.safeParse(heartbeat({ interval_ms: 10000 })).success).toBe(true);
    expect(issuePaths(WorkerHeartbeatSchema.safeParse(heartbeat({ interval_ms: 999 })))).toEqual(["interval_ms"]);
    expect(issuePaths(WorkerHeartbeatSchema.safeParse(heartbeat({ interval_ms: 10001 })))).toEqual(["interval_ms"]);
  });

  it("keeps missing readings as null rather than zero", () => {
    const snapshot = gpu({ memory_free_mb: null, temperature_c: null, power_draw_w: null });
    expect(snapshot.memory_free_mb).toBeNull();
    expect(snapshot.temperature_c).toBeNull();
    expect(GpuSnapshotSchema.safeParse({ ...snapshot, memory_free_mb: undefined }).success).toBe(false);
  });

  it.each(["", "has space", "a/b", "x".repeat(65)])("rejects worker_id %j", (worker_id) => {
    expect(issuePaths(WorkerHeartbeatSchema.safeParse(heartbeat({ worker_id })))).toEqual(["worker_id"]);
  });

  it("requires an http(s) url, at least one GPU, and no unknown fields", () => {
    expect(issuePaths(WorkerHeartbeatSchema.safeParse(heartbeat({ url: "ftp://x:1" })))).toEqual(["url"]);
    expect(issuePaths(WorkerHeartbeatSchema.safeParse(heartbeat({ gpus: [] })))).toEqual(["gpus"]);
    expect(issuePaths(WorkerHeartbeatSchema.safeParse(heartbeat({ extra: true })))).toEqual([""]);
  });
});

describe("inference.ts schemas", () => {
  it("accepts a minimal generate request and rejects unknown fields", () => {
    expect(GenerateRequestSchema.safeParse({ model: "tiny-lm", prompt: "hi" }).success).toBe(true);
    expect(issuePaths(GenerateRequestSchema.safeParse({ model: "tiny-lm", prompt: "hi", min_p: 0.1 }))).toEqual([""]);
  });

  it("refuses min_new_tokens above max_new_tokens, naming it", () => {
    const base = { model: "tiny-lm", prompt: "hi" };
    expect(GenerateRequestSchema.safeParse({ ...base, min_new_tokens: 8, max_new_tokens: 8 }).success).toBe(true);
    expect(issuePaths(GenerateRequestSchema.safeParse({ ...base, min_new_tokens: 9, max_new_tokens: 8 }))).toEqual([
      "min_new_tokens",
    ]);
  });

  it("bounds top_k, top_p, repetition_penalty and stop", () => {
    const base = { model: "tiny-lm", prompt: "hi" };
    const knobs = { top_k: 1000, top_p: 1, repetition_penalty: 10, stop: ["x".repeat(64), "\n"] };
    expect(GenerateRequestSchema.safeParse({ ...base, ...knobs }).success).toBe(true);
    expect(issuePaths(GenerateRequestSchema.safeParse({ ...base, top_k: 1001 }))).toEqual(["top_k"]);
    expect(issuePaths(GenerateRequestSchema.safeParse({ ...base, top_p: 0 }))).toEqual(["top_p"]);
    expect(issuePaths(GenerateRequestSchema.safeParse({ ...base, repetition_penalty: 0.9 }))).toEqual([
      "repetition_penalty",
    ]);
    expect(issuePaths(GenerateRequestSchema.safeParse({ ...base, stop: [] }))).toEqual(["stop"]);
    expect(issuePaths(GenerateRequestSchema.safeParse({ ...base, stop: ["ok", ""] }))).toEqual(["stop.1"]);
  });

  it("bounds seed, temperature and max_new_tokens", () => {
    const base = { model: "tiny-lm", prompt: "hi" };
    expect(GenerateRequestSchema.safeParse({ ...base, seed: 2 ** 32 - 1, temperature: 0 }).success).toBe(true);
    expect(issuePaths(GenerateRequestSchema.safeParse({ ...base, seed: 2 ** 32 }))).toEqual(["seed"]);
    expect(issuePaths(GenerateRequestSchema.safeParse({ ...base, temperature: -0.1 }))).toEqual(["temperature"]);
    expect(issuePaths(GenerateRequestSchema.safeParse({ ...base, max_new_tokens: 0 }))).toEqual(["max_new_tokens"]);
    expect(issuePaths(GenerateRequestSchema.safeParse({ ...base, prompt: "" }))).toEqual(["prompt"]);
  });

  it("validates runtime_config overrides inside a generate request", () => {
    const result = GenerateRequestSchema.safeParse({
      model: "tiny-lm",
      prompt: "hi",
      runtime_config: { halt_probability_threshold: 1.5 },
    });
    expect(issuePaths(result)).toEqual(["runtime_config.halt_probability_threshold"]);
  });

  it("requires non-empty rows in a predict request", () => {
    expect(PredictRequestSchema.safeParse({ model: "m", data: [[1, 2]] }).success).toBe(true);
    expect(issuePaths(PredictRequestSchema.safeParse({ model: "m", data: [] }))).toEqual(["data"]);
    expect(issuePaths(PredictRequestSchema.safeParse({ model: "m", data: [[]] }))).toEqual(["data.0"]);
  });

  it("worker requests carry the resolved target version", () => {
    const target = modelVersion();
    expect(WorkerGenerateRequestSchema.safeParse({ model: "tiny-lm", prompt: "hi", target }).success).toBe(true);
    expect(issuePaths(WorkerGenerateRequestSchema.safeParse({ model: "tiny-lm", prompt: "hi" }))).toEqual(["target"]);
    expect(WorkerPredictRequestSchema.safeParse({ model: "m", data: [[1]], target }).success).toBe(true);
  });
});
