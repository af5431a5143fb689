import {
  type ModelRecord,
  ModelRecordSchema,
  type ModelVersion,
  ModelVersionSchema,
  type RegisterVersionRequest,
  type WorkerListEntry,
  WorkerListEntrySchema,
} from "@modelgate/shared";

const sha = (digit: string) => digit.repeat(64);

/** A registration document as a user would write it in registration.json. */
export function tensorRegistration(overrides: Partial<RegisterVersionRequest> = {}): Record<string, unknown> {
  return {
    kind: "tensor",
    artifact: { uri: "s3://modelgate-models/spirals/model.onnx", sha256: sha("c"), bytes: 4096, format: "onnx" },
    io: {
      inputs: [{ name: "features", dtype: "float32", shape: ["batch", 2] }],
      outputs: [{ name: "probabilities", dtype: "float32", shape: ["batch", 2] }],
    },
    categories: ["classification"],
    ...overrides,
  };
}

function version(
  fields: Pick<ModelVersion, "name" | "version" | "kind" | "stage"> & Partial<ModelVersion>,
): ModelVersion {
  const lm = fields.kind === "causal-lm";
  return ModelVersionSchema.parse({
    artifact: {
      uri: `s3://modelgate-models/${fields.name}/v${fields.version}.onnx`,
      sha256: sha(String(fields.version)),
      bytes: 1_500_000,
      format: "onnx",
    },
    io: lm
      ? {
          inputs: [{ name: "input_ids", dtype: "int64", shape: ["batch", "sequence"] }],
          outputs: [{ name: "logits", dtype: "float32", shape: ["batch", "sequence", 258] }],
        }
      : {
          inputs: [{ name: "features", dtype: "float32", shape: ["batch", 2] }],
          outputs: [{ name: "probabilities", dtype: "float32", shape: ["batch", 2] }],
        },
    ...(lm ? { tokenizer: { type: "byte-level", vocab_size: 258, bos_token_id: 256, eos_token_id: 257 } } : {}),
    categories: lm ? ["general"] : ["classification"],
    benchmark_scores: lm ? { mmlu: 41.5 } : {},
    metrics: {},
    memory_mb: 66,
    created_at: "2026-01-10T09:00:00.000Z",
    created_by: "admin",
    stage_history: [],
    ...fields,
  });
}

/** The registry the fake edge starts with: an LM with Archived, Production and Staging versions; a classifier. */
export function seededModels(): ModelRecord[] {
  return [
    ModelRecordSchema.parse({
      name: "demo-lm",
      created_at: "2026-01-10T09:00:00.000Z",
      updated_at: "2026-01-12T10:30:00.000Z",
      versions: [
        version({ name: "demo-lm", version: 1, kind: "causal-lm", stage: "Archived" }),
        version({
          name: "demo-lm",
          version: 2,
          kind: "causal-lm",
          stage: "Production",
          stage_history: [{ from: "None", to: "Production", at: "2026-01-12T10:30:00.000Z", by: "admin" }],
        }),
        version({ name: "demo-lm", version: 3, kind: "causal-lm", stage: "Staging" }),
      ],
    }),
    ModelRecordSchema.parse({
      name: "spirals",
      created_at: "2026-01-11T09:00:00.000Z",
      updated_at: "2026-01-11T09:00:00.000Z",
      versions: [version({ name: "spirals", version: 1, kind: "tensor", stage: "Production" })],
    }),
  ];
}

export function seededWorkers(): WorkerListEntry[] {
  return [
    WorkerListEntrySchema.parse({
      heartbeat: {
        worker_id: "gpu-box-1",
        url: "http://10.0.0.7:8790",
        sent_at: "2026-01-12T10:30:00.000Z",
        interval_ms: 5000,
        gpus: [
          {
            index: 0,
            uuid: "GPU-1",
            name: "NVIDIA H100",
            device: "cuda",
            utilization_gpu_pct: 37,
            utilization_memory_pct: 10,
            memory_used_mb: 8000,
            memory_total_mb: 81559,
            memory_free_mb: 73559,
            temperature_c: 41,
            power_draw_w: 120,
            power_limit_w: 700,
          },
        ],
        loaded_models: [{ name: "demo-lm", version: 2, sha256: sha("2"), memory_mb: 66, gpu_index: 0 }],
        queue_depth: 1,
        in_flight: 2,
        tokens_per_second: 812.5,
      },
      received_at: "2026-01-12T10:30:00.100Z",
      age_ms: 1200,
      live: true,
    }),
  ];
}
