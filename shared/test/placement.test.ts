import { describe, expect, it } from "vitest";
import type { WorkerState } from "../src/gpu.js";
import type { ModelVersion } from "../src/model-version.js";
import {
  describePlacement,
  preloadAssignments,
  warmReplicasOf,
  workerMatchesPlacement,
} from "../src/selection/placement.js";
import { selectRoute } from "../src/selection/select-route.js";
import { DEFAULT_SELECTION_FLAGS } from "../src/selection/selection-flags.js";
import { prepareSelection, SelectionConfigSchema } from "../src/selection/task-categories.js";
import { type Placement, ServingConfigSchema } from "../src/tensors/serving-config.js";
import { modelVersion, T0, workerState } from "./fixtures.js";

const CONFIG = prepareSelection(SelectionConfigSchema.parse({}));

function labelled(id: string, labels: Record<string, string>, options: Parameters<typeof workerState>[0] = {}) {
  return { ...workerState({ id, ...options }), labels } satisfies WorkerState;
}

function placed(placement: Placement, overrides: Partial<ModelVersion> = {}): ModelVersion {
  return modelVersion({ serving: { placement }, ...overrides });
}

function route(candidates: ModelVersion[], workers: WorkerState[]) {
  return selectRoute({ candidates, workers, now: T0, config: CONFIG, flags: DEFAULT_SELECTION_FLAGS });
}

const A10 = labelled("a10-1", { gpu: "a10" });
const A10_BUSY = labelled("a10-2", { gpu: "a10" }, { queueDepth: 9 });
const H100 = labelled("h100-1", { gpu: "h100" });
const LEGACY = workerState({ id: "legacy" });

describe("placement schema", () => {
  it("takes labels, pins and min_replicas inside serving, and names a bad field", () => {
    expect(
      ServingConfigSchema.safeParse({ placement: { min_replicas: 2, worker_labels: { gpu: "a10" } } }).success,
    ).toBe(true);
    const repeated = ServingConfigSchema.safeParse({ placement: { pinned_workers: ["w1", "w1"] } });
    expect(repeated.success).toBe(false);
    expect(repeated.error?.issues[0]?.path).toEqual(["placement", "pinned_workers"]);
    const badLabel = ServingConfigSchema.safeParse({ placement: { worker_labels: { GPU: "a10" } } });
    expect(badLabel.error?.issues[0]?.path).toEqual(["placement", "worker_labels", "GPU"]);
    expect(ServingConfigSchema.safeParse({ placement: { min_replicas: -1 } }).success).toBe(false);
  });
});

describe("workerMatchesPlacement", () => {
  it("needs every label and, with pins, the worker's own id", () => {
    expect(workerMatchesPlacement({ worker_labels: { gpu: "a10" } }, A10)).toBe(true);
    expect(workerMatchesPlacement({ worker_labels: { gpu: "a10" } }, H100)).toBe(false);
    expect(workerMatchesPlacement({ worker_labels: { gpu: "a10", zone: "eu" } }, A10)).toBe(false);
    // A worker without enrolment labels matches no label constraint.
    expect(workerMatchesPlacement({ worker_labels: { gpu: "a10" } }, LEGACY)).toBe(false);
    expect(workerMatchesPlacement({ pinned_workers: ["h100-1"] }, H100)).toBe(true);
    expect(workerMatchesPlacement({ pinned_workers: ["h100-1"], worker_labels: { gpu: "a10" } }, H100)).toBe(false);
    expect(workerMatchesPlacement({ min_replicas: 3 }, LEGACY)).toBe(true);
  });

  it("describes itself for errors and reasons", () => {
    expect(describePlacement({ worker_labels: { gpu: "a10" }, pinned_workers: ["w1"], min_replicas: 2 })).toBe(
      "labels gpu=a10; pinned w1; min_replicas 2",
    );
  });
});

describe("selectRoute with placement", () => {
  it("routes a labelled version only to matching workers, even when another is idler", () => {
    const version = placed({ worker_labels: { gpu: "a10" } });
    const decided = route([version], [H100, A10_BUSY, LEGACY]);
    if (!decided.ok) throw decided.error;
    expect(decided.value.worker.workerId).toBe("a10-2");
    expect(decided.value.fallbacks).toEqual([]);
    expect(decided.value.reason).toContain("placement labels gpu=a10");
  });

  it("orders fallbacks among matching workers only", () => {
    const decided = route([placed({ worker_labels: { gpu: "a10" } })], [A10_BUSY, H100, A10]);
    if (!decided.ok) throw decided.error;
    expect([decided.value, ...decided.value.fallbacks].map((option) => option.worker.workerId)).toEqual([
      "a10-1",
      "a10-2",
    ]);
  });

  it("fails with 503 naming the placement when no worker matches", () => {
    const decided = route([placed({ pinned_workers: ["gone"] })], [A10, H100]);
    expect(decided.ok).toBe(false);
    if (decided.ok) return;
    expect(decided.error.status).toBe(503);
    expect(decided.error.reason).toBe("no_worker_available");
    expect(decided.error.message).toContain("pinned gone");
  });

  it("mixes placed and unplaced candidates of a category per worker", () => {
    const free = modelVersion({ name: "free-lm", categories: ["code"], stage: "Production" });
    const pinned = placed(
      { pinned_workers: ["h100-1"] },
      { name: "pinned-lm", categories: ["code"], stage: "Production", benchmark_scores: {} },
    );
    const decided = selectRoute({
      candidates: [free, pinned],
      category: "code",
      workers: [A10, H100],
      now: T0,
      config: CONFIG,
      flags: DEFAULT_SELECTION_FLAGS,
    });
    if (!decided.ok) throw decided.error;
    const options = [decided.value, ...decided.value.fallbacks];
    // One option per worker; the pinned version never appears on a worker it is not pinned to.
    expect(new Set(options.map((option) => option.worker.workerId))).toEqual(new Set(["a10-1", "h100-1"]));
    for (const option of options) {
      if (option.version.name === "pinned-lm") expect(option.worker.workerId).toBe("h100-1");
    }
    expect(decided.value.category).toBe("code");
  });

  it("groups versions of one placement together, and re-partitions an array whose contents changed", () => {
    const pinned = (version: number) =>
      placed({ pinned_workers: ["h100-1"] }, { name: "pinned-lm", version, categories: ["code"], stage: "Production" });
    const candidates = [pinned(1), pinned(2)];
    const decided = selectRoute({
      candidates,
      category: "code",
      workers: [A10, H100],
      now: T0,
      config: CONFIG,
      flags: DEFAULT_SELECTION_FLAGS,
    });
    if (!decided.ok) throw decided.error;
    expect(decided.value.worker.workerId).toBe("h100-1");
    expect(decided.value.fallbacks).toEqual([]);
    // The same array, now holding an unplaced version: the cached partition must not be reused.
    candidates[0] = modelVersion({ name: "free-lm", categories: ["code"], stage: "Production" });
    candidates.pop();
    const again = selectRoute({
      candidates,
      category: "code",
      workers: [A10, H100],
      now: T0,
      config: CONFIG,
      flags: DEFAULT_SELECTION_FLAGS,
    });
    if (!again.ok) throw again.error;
    expect(again.value.fallbacks).toHaveLength(1);
  });

  it("names the placement when every candidate of a category is placed away from the fleet", () => {
    const decided = selectRoute({
      candidates: [placed({ worker_labels: { gpu: "b200" } }, { categories: ["code"], stage: "Production" })],
      category: "code",
      workers: [A10],
      now: T0,
      config: CONFIG,
      flags: DEFAULT_SELECTION_FLAGS,
    });
    expect(decided.ok).toBe(false);
    if (!decided.ok) expect(decided.error.message).toContain("labels gpu=b200");
  });

  it("leaves versions without placement on the unchanged fast path", () => {
    const decided = route([modelVersion()], [H100, LEGACY]);
    if (!decided.ok) throw decided.error;
    expect(decided.value.fallbacks).toHaveLength(1);
    expect(decided.value.reason).not.toContain("placement");
  });
});

describe("preloadAssignments", () => {
  const loadedOn = (version: ModelVersion) => [
    { name: version.name, version: version.version, sha256: version.artifact.sha256, memory_mb: 1, gpu_index: 0 },
  ];

  it("asks min_replicas matching live workers, warm ones first, then by id", () => {
    const version = placed({ min_replicas: 2, worker_labels: { gpu: "a10" } });
    const warm = labelled("a10-9", { gpu: "a10" }, { loadedModels: loadedOn(version) });
    const stale = labelled("a10-0", { gpu: "a10" }, { ageMs: 60_000 });
    const assignments = preloadAssignments([version], [stale, A10, A10_BUSY, warm, H100], T0);
    expect([...assignments.keys()].sort()).toEqual(["a10-1", "a10-9"]);
    expect(assignments.get("a10-9")?.[0]?.name).toBe(version.name);
  });

  it("asks every matching worker when fewer match than min_replicas, and nobody without min_replicas", () => {
    const wide = placed({ min_replicas: 5, pinned_workers: ["h100-1"] });
    const none = placed({ worker_labels: { gpu: "a10" } }, { version: 2 });
    const assignments = preloadAssignments([wide, none], [A10, H100], T0);
    expect([...assignments.keys()]).toEqual(["h100-1"]);
  });

  it("reports where a version is warm", () => {
    const version = placed({ min_replicas: 1 });
    const warm = labelled("a10-9", { gpu: "a10" }, { loadedModels: loadedOn(version) });
    expect(warmReplicasOf(version, [A10, warm], T0)).toEqual(["a10-9"]);
  });
});
