/**
 * The routing decision benchmark (issue 5): `selectRoute` over 1,000 candidate versions ×
 * 64 GPUs (16 workers × 4 GPUs), timed call by call after a warm-up, with every flag on and
 * with every flag off. Pure computation in this process: it needs no local stack.
 *
 * The fleet rotates through several heartbeat snapshots (different queues, temperatures,
 * free memory, loaded models, heartbeat ages) so successive calls do not repeat one decision.
 */
import {
  type ModelVersion,
  ModelVersionSchema,
  rolloutArmFor,
  type WorkerState,
  WorkerStateSchema,
} from "@modelgate/shared";
import {
  DEFAULT_SELECTION_FLAGS,
  prepareSelection,
  SelectionConfigSchema,
  type SelectionFlags,
  selectRoute,
} from "../../shared/src/selection/index.js";
import { type BenchRow, fmt, mark, percentile } from "./bench-stats.js";

export const SELECTION_VERSIONS = 1000;
export const SELECTION_WORKERS = 16;
export const SELECTION_GPUS_PER_WORKER = 4;
const SNAPSHOTS = 8;
const WARM_UP_CALLS = 2000;
const TIMED_CALLS = 5000;
const TARGET_P99_US = 100;
const NOW = Date.parse("2026-12-01T12:00:00.000Z");

/** Deterministic pseudo-random fractions, so runs are comparable. */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const CATEGORY_SETS: string[][] = [["code"], ["code", "general"], ["general", "code"], ["code", "math", "reasoning"]];
const STAGES = ["Production", "Staging", "None"] as const;

export function buildBenchVersions(count: number, random: () => number): ModelVersion[] {
  const versions: ModelVersion[] = [];
  for (let i = 0; i < count; i++) {
    const name = `bench-${String(Math.floor(i / 10)).padStart(3, "0")}`;
    const categories = CATEGORY_SETS[i % CATEGORY_SETS.length] ?? ["code"];
    const scores: Record<string, number> = {};
    if (i % 7 !== 0) scores.HumanEval = Math.round(300 + 600 * random()) / 10;
    if (i % 5 !== 0) scores.MBPP = Math.round(300 + 600 * random()) / 10;
    if (i % 3 === 0) scores.GSM8K = Math.round(300 + 600 * random()) / 10;
    versions.push(
      ModelVersionSchema.parse({
        name,
        version: (i % 10) + 1,
        kind: "causal-lm",
        stage: STAGES[i % STAGES.length],
        artifact: {
          uri: `s3://modelgate-models/bench/${name}/${i}.onnx`,
          sha256: i.toString(16).padStart(64, "0"),
          bytes: 4096,
          format: "onnx-fp16",
        },
        io: {
          inputs: [{ name: "input_ids", dtype: "int64", shape: ["batch", "sequence"] }],
          outputs: [{ name: "logits", dtype: "float32", shape: ["batch", "sequence", 260] }],
        },
        tokenizer: { type: "byte-level", vocab_size: 260, bos_token_id: 256, eos_token_id: 257 },
        max_context_tokens: 2048 * (1 + (i % 8)),
        memory_mb: 1000 + Math.floor(random() * 39_000),
        categories,
        primary_category: categories[0],
        benchmark_scores: scores,
        metrics: {},
        tags: [],
        formats: ["onnx-fp16"],
        locations: {},
        deployed_backends: [],
        metadata_revision: 1,
        created_at: "2026-11-01T00:00:00.000Z",
        created_by: "bench",
        updated_at: new Date(Date.parse("2026-11-01T00:00:00.000Z") + i * 60_000).toISOString(),
      }),
    );
  }
  return versions;
}

export function buildBenchFleet(versions: readonly ModelVersion[], random: () => number): WorkerState[] {
  const workers: WorkerState[] = [];
  for (let w = 0; w < SELECTION_WORKERS; w++) {
    const id = `gpu-host-${String(w).padStart(2, "0")}`;
    const intervalMs = 5000;
    const ageMs = Math.floor(random() * 2.5 * intervalMs);
    const receivedAt = new Date(NOW - ageMs).toISOString();
    const gpus = [];
    const loaded = [];
    for (let g = 0; g < SELECTION_GPUS_PER_WORKER; g++) {
      const total = 81_920;
      const free = Math.floor(random() * total);
      gpus.push({
        index: g,
        uuid: `GPU-${w}-${g}`,
        name: "NVIDIA H100 80GB HBM3",
        device: "cuda",
        utilization_gpu_pct: Math.floor(random() * 100),
        utilization_memory_pct: Math.floor(random() * 100),
        memory_used_mb: total - free,
        memory_total_mb: total,
        memory_free_mb: free,
        temperature_c: 35 + Math.floor(random() * 55),
        power_draw_w: 300,
        power_limit_w: 700,
      });
      for (let m = 0; m < 2; m++) {
        const version = versions[Math.floor(random() * versions.length)];
        if (version === undefined) continue;
        loaded.push({
          name: version.name,
          version: version.version,
          sha256: version.artifact.sha256,
          memory_mb: version.memory_mb,
          gpu_index: g,
        });
      }
    }
    workers.push(
      WorkerStateSchema.parse({
        heartbeat: {
          worker_id: id,
          url: `http://${id}.internal:8790`,
          sent_at: receivedAt,
          interval_ms: intervalMs,
          gpus,
          loaded_models: loaded,
          queue_depth: Math.floor(random() * 8),
          in_flight: Math.floor(random() * 4),
          tokens_per_second: Math.floor(random() * 400),
        },
        received_at: receivedAt,
      }),
    );
  }
  return workers;
}

/**
 * `same-array`: the caller keeps one array (the index is cached by it). `new-array`: a new array
 * of the same version objects every call (found again among the recent indexes).
 * `new-versions`: new version objects every call (more sets than the recent-index cache holds,
 * so every call builds the index: what a caller that re-parses the registry per request pays).
 */
function candidatesFor(
  versionSets: readonly (readonly ModelVersion[])[],
  supply: CandidateSupply,
  call: number,
): readonly ModelVersion[] {
  const set = (supply === "new-versions" ? versionSets[call % versionSets.length] : versionSets[0]) ?? [];
  return supply === "same-array" ? set : set.slice();
}

interface Timing {
  p50: number;
  p99: number;
  max: number;
  checksum: number;
}

/** How each call gets its candidates. */
type CandidateSupply = "same-array" | "new-array" | "new-versions";

function timeSelection(
  versionSets: readonly (readonly ModelVersion[])[],
  fleets: readonly WorkerState[][],
  flags: SelectionFlags,
  category: string | undefined,
  calls = TIMED_CALLS,
  supply: CandidateSupply = "same-array",
): Timing {
  const config = prepareSelection(SelectionConfigSchema.parse({}));
  let checksum = 0;
  const run = (call: number): void => {
    const result = selectRoute({
      candidates: candidatesFor(versionSets, supply, call),
      category,
      workers: fleets[call % fleets.length] ?? [],
      now: NOW,
      config,
      flags,
    });
    if (!result.ok) throw result.error;
    checksum += result.value.fallbacks.length + result.value.version.version;
  };
  for (let call = 0; call < WARM_UP_CALLS; call++) run(call);
  const micros: number[] = [];
  for (let call = 0; call < calls; call++) {
    const started = performance.now();
    run(call);
    micros.push((performance.now() - started) * 1000);
  }
  return { p50: percentile(micros, 50), p99: percentile(micros, 99), max: Math.max(...micros), checksum };
}

const SPLIT_BATCHES = 500;
const SPLIT_BATCH_CALLS = 1000;

/**
 * A canary rollout's split (rollouts.ts): what a request to a model with a rollout pays before
 * `selectRoute`, one hash of a request id (a UUID, 36 characters) against the share. Timed in
 * batches of 1,000 calls (one call is below the timer's resolution), per call.
 */
function timeCanarySplit(): Timing {
  const ids = Array.from(
    { length: SPLIT_BATCH_CALLS },
    (_, i) => `0b7c${String(i).padStart(4, "0")}-9d1e-4c6a-8f3b-2a5d7e9c1b40`,
  );
  const rollout = { id: "4.1", percent: 10 };
  let checksum = 0;
  const batch = () => {
    for (const id of ids) if (rolloutArmFor(rollout, id) === "candidate") checksum += 1;
  };
  for (let i = 0; i < 20; i++) batch();
  const micros: number[] = [];
  for (let i = 0; i < SPLIT_BATCHES; i++) {
    const started = performance.now();
    batch();
    micros.push(((performance.now() - started) * 1000) / SPLIT_BATCH_CALLS);
  }
  return { p50: percentile(micros, 50), p99: percentile(micros, 99), max: Math.max(...micros), checksum };
}

export function benchSelection(): BenchRow[] {
  const random = seededRandom(2026);
  const versions = buildBenchVersions(SELECTION_VERSIONS, random);
  const fleets = Array.from({ length: SNAPSHOTS }, () => buildBenchFleet(versions, random));
  const allOff: SelectionFlags = { benchmark_scoring: false, multi_category: false, gpu_awareness: false };
  const shape = `${SELECTION_VERSIONS} versions × ${SELECTION_WORKERS * SELECTION_GPUS_PER_WORKER} GPUs (${SELECTION_WORKERS} workers × ${SELECTION_GPUS_PER_WORKER})`;
  const row = (what: string, timing: Timing, target: boolean, calls = TIMED_CALLS): BenchRow => [
    `${what}, ${calls} calls after ${WARM_UP_CALLS} warm-up`,
    `p50 ${fmt(timing.p50)} µs, **p99 ${fmt(timing.p99)} µs**, max ${fmt(timing.max)} µs`,
    target ? `target p99 ≤ ${TARGET_P99_US} µs ${mark(timing.p99 <= TARGET_P99_US)}` : "—",
  ];
  const explicit = [versions.slice(0, 1)];
  const same = [versions];
  // 10 copies of the versions as new objects, read back as the edge reads a registry document
  // (JSON, then the schema): more than the 8 indexes kept, so none is found again.
  const copies = Array.from({ length: 10 }, () =>
    versions.map((version) => ModelVersionSchema.parse(JSON.parse(JSON.stringify(version)))),
  );
  // Placement (issue 17): half the workers labelled gpu=a10, the rest gpu=h100; 2 % of the
  // versions (20) placed on one pool or the other, and an explicit version placed on a10.
  const labelledFleets = fleets.map((fleet) =>
    fleet.map((state, w) => ({ ...state, labels: { gpu: w % 2 === 0 ? "a10" : "h100" } })),
  );
  const placedVersions = versions.map((version, i) =>
    i % 50 === 0
      ? { ...version, serving: { placement: { worker_labels: { gpu: i % 100 === 0 ? "a10" : "h100" } } } }
      : version,
  );
  const placedExplicit = [
    [{ ...(versions[0] as ModelVersion), serving: { placement: { worker_labels: { gpu: "a10" } } } }],
  ];
  return [
    row(
      `selectRoute auto:code, ${shape}, all flags on`,
      timeSelection(same, fleets, DEFAULT_SELECTION_FLAGS, "code"),
      true,
    ),
    row(`selectRoute auto:code, ${shape}, all flags off`, timeSelection(same, fleets, allOff, "code"), true),
    row(
      `selectRoute explicit name@N (1 version) × ${SELECTION_WORKERS * SELECTION_GPUS_PER_WORKER} GPUs, all flags on`,
      timeSelection(explicit, fleets, DEFAULT_SELECTION_FLAGS, undefined),
      false,
    ),
    row(
      `placement: selectRoute auto:code, ${shape}, all flags on, 20 versions placed on two label pools`,
      timeSelection([placedVersions], labelledFleets, DEFAULT_SELECTION_FLAGS, "code"),
      true,
    ),
    row(
      `placement: selectRoute explicit name@N placed on gpu=a10 (8 of 16 workers match), all flags on`,
      timeSelection(placedExplicit, labelledFleets, DEFAULT_SELECTION_FLAGS, undefined),
      false,
    ),
    [
      `canary split: rolloutArmFor on a request id, per call (${SPLIT_BATCHES} batches of ${SPLIT_BATCH_CALLS})`,
      ((timing) => `p50 ${fmt(timing.p50 * 1000)} ns, **p99 ${fmt(timing.p99 * 1000)} ns**`)(timeCanarySplit()),
      "the explicit selectRoute above that it precedes",
    ],
    row(
      `selectRoute auto:code, ${shape}, all flags on, a new array of the same version objects every call`,
      timeSelection(same, fleets, DEFAULT_SELECTION_FLAGS, "code", TIMED_CALLS, "new-array"),
      false,
    ),
    row(
      `selectRoute auto:code, ${shape}, all flags on, new version objects every call (candidate index built every call)`,
      timeSelection(copies, fleets, DEFAULT_SELECTION_FLAGS, "code", 1000, "new-versions"),
      false,
      1000,
    ),
  ];
}
