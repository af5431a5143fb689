import {
  type GpuSnapshot,
  GpuSnapshotSchema,
  type LoadedModel,
  type WorkerState,
  WorkerStateSchema,
} from "../src/gpu.js";
import { type ModelVersion, ModelVersionSchema, type Stage } from "../src/model-version.js";
import { DEFAULT_REGISTRY_POLICY, type ModelRecord, ModelRecordSchema } from "../src/registry-record.js";

/** A fixed instant the fixtures are built around. */
export const T0 = Date.parse("2025-01-01T00:00:00.000Z");

export const SHA_A = "a".repeat(64);
export const SHA_B = "b".repeat(64);

export function gpu(overrides: Partial<GpuSnapshot> = {}): GpuSnapshot {
  const index = overrides.index ?? 0;
  return GpuSnapshotSchema.parse({
    index,
    uuid: `GPU-${index}`,
    name: "NVIDIA Test",
    device: "cuda",
    utilization_gpu_pct: 10,
    utilization_memory_pct: 20,
    memory_used_mb: 1000,
    memory_total_mb: 81920,
    memory_free_mb: 80920,
    temperature_c: 40,
    power_draw_w: 100,
    power_limit_w: 700,
    ...overrides,
  });
}

export interface WorkerStateOptions {
  id?: string;
  /** Milliseconds between the worker's heartbeat and `T0` (positive = in the past). */
  ageMs?: number;
  intervalMs?: number;
  queueDepth?: number;
  gpus?: GpuSnapshot[];
  loadedModels?: LoadedModel[];
}

/** A `WorkerState` received `ageMs` before `T0`, validated against `WorkerStateSchema`. */
export function workerState(options: WorkerStateOptions = {}): WorkerState {
  const id = options.id ?? "w1";
  const receivedAt = new Date(T0 - (options.ageMs ?? 0)).toISOString();
  return WorkerStateSchema.parse({
    heartbeat: {
      worker_id: id,
      url: `http://${id}.internal:8790`,
      sent_at: receivedAt,
      interval_ms: options.intervalMs ?? 5000,
      gpus: options.gpus ?? [gpu()],
      loaded_models: options.loadedModels ?? [],
      queue_depth: options.queueDepth ?? 0,
      in_flight: 0,
      tokens_per_second: 0,
    },
    received_at: receivedAt,
  });
}

export function modelVersion(overrides: Partial<ModelVersion> = {}): ModelVersion {
  return ModelVersionSchema.parse({
    name: "tiny-lm",
    version: 1,
    kind: "tensor",
    stage: "None",
    artifact: { uri: "s3://models/tiny-lm/1/model.onnx", sha256: SHA_A, bytes: 1024, format: "onnx" },
    io: {
      inputs: [{ name: "input", dtype: "float32", shape: ["batch", 4] }],
      outputs: [{ name: "output", dtype: "float32", shape: ["batch", 2] }],
    },
    categories: [],
    benchmark_scores: {},
    metrics: {},
    tags: [],
    formats: ["onnx"],
    locations: {},
    deployed_backends: [],
    memory_mb: 2048,
    metadata_revision: 1,
    created_at: "2025-01-01T00:00:00.000Z",
    created_by: "test",
    updated_at: "2025-01-01T00:00:00.000Z",
    ...overrides,
  });
}

/** A record whose versions are numbered 1..n in order, with the given stages. */
export function modelRecord(stages: readonly Stage[], aliases: Record<string, number> = {}): ModelRecord {
  return ModelRecordSchema.parse({
    name: "tiny-lm",
    revision: 1,
    created_at: "2025-01-01T00:00:00.000Z",
    updated_at: "2025-01-01T00:00:00.000Z",
    last_version: stages.length,
    policy: DEFAULT_REGISTRY_POLICY,
    aliases,
    versions: stages.map((stage, i) => modelVersion({ version: i + 1, stage })),
    history: [],
  });
}

/** A valid `RegisterVersionRequestSchema` input for a causal LM. */
export function registerRequestInput(): Record<string, unknown> {
  return {
    kind: "causal-lm",
    artifact: { uri: "s3://models/tiny-lm/1/model.onnx", sha256: SHA_A, bytes: 4096, format: "onnx-fp16" },
    io: {
      inputs: [{ name: "input_ids", dtype: "int64", shape: ["batch", "sequence"] }],
      outputs: [{ name: "logits", dtype: "float32", shape: ["batch", "sequence", 258] }],
    },
    tokenizer: { type: "byte-level", vocab_size: 258, bos_token_id: 256, eos_token_id: 257 },
    categories: ["chat", "code"],
    primary_category: "chat",
  };
}
