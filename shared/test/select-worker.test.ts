import { describe, expect, it } from "vitest";
import type { LoadedModel } from "../src/gpu.js";
import type { ModelVersion } from "../src/model-version.js";
import {
  heartbeatAgeMs,
  isWorkerLive,
  STALE_AFTER_INTERVALS,
  selectWorkerForModel,
  type WorkerSelection,
} from "../src/select-worker.js";
import { gpu, modelVersion, SHA_A, SHA_B, T0, workerState } from "./fixtures.js";

type Target = Pick<ModelVersion, "name" | "version" | "memory_mb" | "artifact">;

const target: Target = modelVersion({ name: "tiny-lm", version: 2, memory_mb: 4000 });

function loaded(overrides: Partial<LoadedModel> = {}): LoadedModel {
  return { name: "tiny-lm", version: 2, sha256: SHA_A, memory_mb: 4000, gpu_index: 0, ...overrides };
}

function select(...args: Parameters<typeof selectWorkerForModel>): WorkerSelection {
  const result = selectWorkerForModel(...args);
  if (!result.ok) throw new Error(`expected a selection, got failure: ${result.failure.reason}`);
  return result.selection;
}

function failure(...args: Parameters<typeof selectWorkerForModel>): string {
  const result = selectWorkerForModel(...args);
  if (result.ok) throw new Error(`expected a failure, got ${result.selection.choice.workerId}`);
  return result.failure.reason;
}

describe("isWorkerLive", () => {
  it("uses three intervals", () => {
    expect(STALE_AFTER_INTERVALS).toBe(3);
  });

  it("measures the age from received_at", () => {
    expect(heartbeatAgeMs(workerState({ ageMs: 1234 }), T0)).toBe(1234);
  });

  it.each([1000, 5000, 10000])("is live at exactly 3 × %i ms and stale 1 ms later", (intervalMs) => {
    const exactly = workerState({ intervalMs, ageMs: 3 * intervalMs });
    const over = workerState({ intervalMs, ageMs: 3 * intervalMs + 1 });
    expect(isWorkerLive(exactly, T0)).toBe(true);
    expect(isWorkerLive(over, T0)).toBe(false);
  });

  it("uses each worker's own interval", () => {
    const fast = workerState({ id: "fast", intervalMs: 1000, ageMs: 4000 });
    const slow = workerState({ id: "slow", intervalMs: 2000, ageMs: 4000 });
    expect(isWorkerLive(fast, T0)).toBe(false);
    expect(isWorkerLive(slow, T0)).toBe(true);
  });

  it("is live for a fresh heartbeat", () => {
    expect(isWorkerLive(workerState({ ageMs: 0 }), T0)).toBe(true);
  });
});

describe("selectWorkerForModel", () => {
  it("picks the only fitting worker and names it in the reason", () => {
    const selection = select([workerState({ id: "gpu-box-1" })], target, T0);
    expect(selection.choice).toEqual({
      workerId: "gpu-box-1",
      url: "http://gpu-box-1.internal:8790",
      gpuIndex: 0,
      freeMemoryMb: 80920,
      queueDepth: 0,
      modelLoaded: false,
    });
    expect(selection.fallbacks).toEqual([]);
    expect(selection.reason).toContain("worker gpu-box-1");
    expect(selection.reason).toContain("gpu 0");
    expect(selection.reason).toContain("80920 MB free");
    expect(selection.reason).toContain("model not loaded");
    expect(selection.reason).toContain("1 live worker(s)");
  });

  it("fails when there are no workers at all", () => {
    expect(failure([], target, T0)).toBe("no live workers (0 stale)");
  });

  it("excludes stale workers and says how many were stale", () => {
    const workers = [
      workerState({ id: "a", intervalMs: 1000, ageMs: 3001 }),
      workerState({ id: "b", intervalMs: 5000, ageMs: 60_000 }),
    ];
    expect(failure(workers, target, T0)).toBe("no live workers (2 stale)");
  });

  it("does not route to a stale worker even when it is otherwise the best", () => {
    const workers = [
      workerState({ id: "stale", ageMs: 15_001, queueDepth: 0, loadedModels: [loaded()] }),
      workerState({ id: "live", ageMs: 15_000, queueDepth: 9 }),
    ];
    const selection = select(workers, target, T0);
    expect(selection.choice.workerId).toBe("live");
    expect(selection.fallbacks).toEqual([]);
    expect(selection.reason).toContain("1 live worker(s)");
  });

  it("excludes GPUs without enough free memory", () => {
    const workers = [
      workerState({ id: "small", gpus: [gpu({ memory_free_mb: 3999 })] }),
      workerState({ id: "big", queueDepth: 5, gpus: [gpu({ memory_free_mb: 4000 })] }),
    ];
    const selection = select(workers, target, T0);
    expect(selection.choice.workerId).toBe("big");
    expect(selection.fallbacks.map((c) => c.workerId)).toEqual([]);
  });

  it("fails, naming the model and memory, when no live GPU has room", () => {
    const workers = [workerState({ id: "small", gpus: [gpu({ memory_free_mb: 100 })] })];
    expect(failure(workers, target, T0)).toBe("no live worker has 4000 MB free for tiny-lm@2");
  });

  it("keeps a worker that already has the model loaded on that GPU even without free memory", () => {
    const workers = [workerState({ id: "full", gpus: [gpu({ memory_free_mb: 10 })], loadedModels: [loaded()] })];
    const selection = select(workers, target, T0);
    expect(selection.choice).toMatchObject({ workerId: "full", gpuIndex: 0, modelLoaded: true, freeMemoryMb: 10 });
    expect(selection.reason).toContain("model loaded");
    expect(selection.reason).not.toContain("not loaded");
  });

  it("does not count a loaded model with a different sha256 as loaded", () => {
    const workers = [
      workerState({ id: "full", gpus: [gpu({ memory_free_mb: 10 })], loadedModels: [loaded({ sha256: SHA_B })] }),
    ];
    expect(failure(workers, target, T0)).toMatch(/^no live worker has 4000 MB free/);
  });

  it("does not count a model loaded on a different GPU as loaded on this one", () => {
    const workers = [
      workerState({
        id: "two",
        gpus: [gpu({ index: 0, memory_free_mb: 10 }), gpu({ index: 1, memory_free_mb: 20 })],
        loadedModels: [loaded({ gpu_index: 1 })],
      }),
    ];
    const selection = select(workers, target, T0);
    expect(selection.choice).toMatchObject({ gpuIndex: 1, modelLoaded: true });
  });

  it("does not count a different model with the same sha256 as loaded", () => {
    const workers = [
      workerState({ gpus: [gpu({ memory_free_mb: 10 })], loadedModels: [loaded({ name: "other-model" })] }),
    ];
    expect(selectWorkerForModel(workers, target, T0).ok).toBe(false);
  });

  it("treats unknown (null) free memory as fitting", () => {
    const workers = [workerState({ id: "na", gpus: [gpu({ memory_free_mb: null, memory_used_mb: null })] })];
    const selection = select(workers, target, T0);
    expect(selection.choice).toMatchObject({ workerId: "na", freeMemoryMb: null });
    expect(selection.reason).toContain("unknown free memory");
  });

  it("prefers the shortest queue over a loaded model and over free memory", () => {
    const workers = [
      workerState({ id: "busy", queueDepth: 2, loadedModels: [loaded()], gpus: [gpu({ memory_free_mb: 80000 })] }),
      workerState({ id: "idle", queueDepth: 1, gpus: [gpu({ memory_free_mb: 5000 })] }),
    ];
    expect(select(workers, target, T0).choice.workerId).toBe("idle");
  });

  it("at equal queue depth prefers the worker with the model loaded over more free memory", () => {
    const workers = [
      workerState({ id: "roomy", queueDepth: 1, gpus: [gpu({ memory_free_mb: 80000 })] }),
      workerState({ id: "warm", queueDepth: 1, loadedModels: [loaded()], gpus: [gpu({ memory_free_mb: 5000 })] }),
    ];
    expect(select(workers, target, T0).choice.workerId).toBe("warm");
  });

  it("at equal queue depth and load state prefers more free memory", () => {
    const workers = [
      workerState({ id: "a", gpus: [gpu({ memory_free_mb: 5000 })] }),
      workerState({ id: "b", gpus: [gpu({ memory_free_mb: 9000 })] }),
      workerState({ id: "c", gpus: [gpu({ memory_free_mb: 7000 })] }),
    ];
    const selection = select(workers, target, T0);
    expect(selection.choice.workerId).toBe("b");
    expect(selection.fallbacks.map((c) => c.workerId)).toEqual(["c", "a"]);
  });

  it("orders fallbacks by the same rules, one entry per worker, excluding the chosen one", () => {
    const workers = [
      workerState({
        id: "multi",
        queueDepth: 1,
        gpus: [gpu({ index: 0, memory_free_mb: 6000 }), gpu({ index: 1, memory_free_mb: 7000 })],
      }),
      workerState({ id: "best", queueDepth: 0, gpus: [gpu({ memory_free_mb: 5000 })] }),
      workerState({ id: "worst", queueDepth: 3, gpus: [gpu({ memory_free_mb: 80000 })] }),
      workerState({ id: "warm", queueDepth: 1, loadedModels: [loaded()], gpus: [gpu({ memory_free_mb: 4000 })] }),
    ];
    const selection = select(workers, target, T0);
    expect(selection.choice.workerId).toBe("best");
    const ids = selection.fallbacks.map((c) => c.workerId);
    expect(ids).toEqual(["warm", "multi", "worst"]);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).not.toContain("best");
    // The multi-GPU worker's fallback is its better GPU.
    expect(selection.fallbacks[1]?.gpuIndex).toBe(1);
    expect(selection.reason).toContain("4 live worker(s), 4 fit");
  });

  it("a multi-GPU worker picks the GPU with more free memory", () => {
    const workers = [
      workerState({
        id: "multi",
        gpus: [
          gpu({ index: 0, memory_free_mb: 6000 }),
          gpu({ index: 1, memory_free_mb: 30000 }),
          gpu({ index: 2, memory_free_mb: 3000 }),
        ],
      }),
    ];
    const selection = select(workers, target, T0);
    expect(selection.choice).toMatchObject({ workerId: "multi", gpuIndex: 1, freeMemoryMb: 30000 });
    expect(selection.fallbacks).toEqual([]);
    expect(selection.reason).toContain("gpu 1");
  });

  it("a multi-GPU worker prefers the GPU that already holds the model", () => {
    const workers = [
      workerState({
        id: "multi",
        gpus: [gpu({ index: 0, memory_free_mb: 70000 }), gpu({ index: 1, memory_free_mb: 5000 })],
        loadedModels: [loaded({ gpu_index: 1 })],
      }),
    ];
    expect(select(workers, target, T0).choice).toMatchObject({ gpuIndex: 1, modelLoaded: true });
  });

  it("breaks full ties by worker id, independent of input order", () => {
    const a = workerState({ id: "alpha" });
    const b = workerState({ id: "bravo" });
    expect(select([b, a], target, T0).choice.workerId).toBe("alpha");
    expect(select([a, b], target, T0).choice.workerId).toBe("alpha");
  });

  it("rounds free memory in the reason", () => {
    const workers = [workerState({ id: "w", gpus: [gpu({ memory_free_mb: 4500.6 })] })];
    expect(select(workers, target, T0).reason).toContain("4501 MB free");
  });

  it("does not mutate its input", () => {
    const workers = [workerState({ id: "b" }), workerState({ id: "a" })];
    const snapshot = structuredClone(workers);
    select(workers, target, T0);
    expect(workers).toEqual(snapshot);
  });
});
