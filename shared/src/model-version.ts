import { z } from "zod";
import { RuntimeConfigOverridesSchema } from "./runtime-config.js";

/** Lower-case, URL- and R2-key-safe; `@` and `:` are reserved for version and format suffixes. */
export const ModelNameSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,63}$/,
    "must be 1–64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit",
  );

export const ModelKindSchema = z.enum(["causal-lm", "tensor"]);
export type ModelKind = z.infer<typeof ModelKindSchema>;

/** Seed 004's lifecycle stages. */
export const StageSchema = z.enum(["None", "Staging", "Production", "Archived"]);
export type Stage = z.infer<typeof StageSchema>;

export const Sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lower-case hex characters (sha256)");

export const ArtifactFormatSchema = z.enum(["onnx", "onnx-fp16", "onnx-int8", "onnx-int4"]);

/** An immutable file in object storage; `sha256` is checked every time a worker loads it. */
export const ArtifactSchema = z.strictObject({
  uri: z.string().regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.+$/, "must be an s3://bucket/key URI"),
  sha256: Sha256HexSchema,
  bytes: z
    .int()
    .min(1)
    .max(64 * 1024 ** 3),
  format: ArtifactFormatSchema,
});
export type Artifact = z.infer<typeof ArtifactSchema>;

export const TensorDtypeSchema = z.enum(["float32", "float16", "int64", "int32", "bool", "uint8", "int8"]);
export type TensorDtype = z.infer<typeof TensorDtypeSchema>;

/** A dimension is a fixed size or a named dynamic axis (`batch`, `sequence`). */
export const TensorSpecSchema = z.strictObject({
  name: z.string().min(1).max(256),
  dtype: TensorDtypeSchema,
  shape: z.array(z.union([z.int().min(1), z.string().min(1).max(64)])).max(8),
});
export type TensorSpec = z.infer<typeof TensorSpecSchema>;

export const IoContractSchema = z.strictObject({
  inputs: z.array(TensorSpecSchema).min(1).max(64),
  outputs: z.array(TensorSpecSchema).min(1).max(64),
});
export type IoContract = z.infer<typeof IoContractSchema>;

/**
 * How a causal LM's text becomes token ids. `byte-level`: UTF-8 bytes are ids 0–255 and the
 * specials follow. (A `tokenizer.json` artifact joins this union with the generation engine.)
 */
export const TokenizerSpecSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("byte-level"),
    vocab_size: z.int().min(256).max(1024),
    bos_token_id: z.int().min(0),
    eos_token_id: z.int().min(0),
  }),
]);
export type TokenizerSpec = z.infer<typeof TokenizerSpecSchema>;

const categoryName = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, "must be a lower-case category name");
const metricName = z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, "must be a metric or benchmark name");

/** What a client sends to register a version; the registry assigns the number and stage. */
export const RegisterVersionRequestSchema = z
  .strictObject({
    kind: ModelKindSchema,
    artifact: ArtifactSchema,
    io: IoContractSchema,
    tokenizer: TokenizerSpecSchema.optional(),
    categories: z.array(categoryName).max(16).default([]),
    primary_category: categoryName.optional(),
    benchmark_scores: z.record(metricName, z.number().min(0).max(100)).default({}),
    metrics: z.record(metricName, z.number()).default({}),
    runtime_config: RuntimeConfigOverridesSchema.optional(),
    /** GPU memory the loaded model needs; estimated from the artifact size when absent. */
    memory_mb: z
      .int()
      .min(1)
      .max(1024 * 1024)
      .optional(),
    description: z.string().max(4000).optional(),
  })
  .superRefine((value, ctx) => {
    if (value.kind === "causal-lm" && value.tokenizer === undefined) {
      ctx.addIssue({ code: "custom", path: ["tokenizer"], message: "a causal-lm version needs a tokenizer" });
    }
    if (value.primary_category !== undefined && !value.categories.includes(value.primary_category)) {
      ctx.addIssue({ code: "custom", path: ["primary_category"], message: "must be one of categories" });
    }
  });
export type RegisterVersionRequest = z.infer<typeof RegisterVersionRequestSchema>;

export const StageTransitionSchema = z.strictObject({
  from: StageSchema,
  to: StageSchema,
  at: z.iso.datetime(),
  by: z.string(),
  reason: z.string().optional(),
});
export type StageTransition = z.infer<typeof StageTransitionSchema>;

export const ModelVersionSchema = z.strictObject({
  name: ModelNameSchema,
  version: z.int().min(1),
  kind: ModelKindSchema,
  stage: StageSchema,
  artifact: ArtifactSchema,
  io: IoContractSchema,
  tokenizer: TokenizerSpecSchema.optional(),
  categories: z.array(categoryName),
  primary_category: categoryName.optional(),
  benchmark_scores: z.record(z.string(), z.number()),
  metrics: z.record(z.string(), z.number()),
  runtime_config: RuntimeConfigOverridesSchema.optional(),
  memory_mb: z.int().min(1),
  description: z.string().optional(),
  created_at: z.iso.datetime(),
  created_by: z.string(),
  stage_history: z.array(StageTransitionSchema),
});
export type ModelVersion = z.infer<typeof ModelVersionSchema>;

export const ModelRecordSchema = z.strictObject({
  name: ModelNameSchema,
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
  versions: z.array(ModelVersionSchema),
});
export type ModelRecord = z.infer<typeof ModelRecordSchema>;

export const StageChangeRequestSchema = z.strictObject({
  stage: StageSchema,
  /** Promoting to Production archives the previous Production version unless this is false. */
  archive_existing: z.boolean().default(true),
  reason: z.string().max(1000).optional(),
});
export type StageChangeRequest = z.infer<typeof StageChangeRequestSchema>;

/** Loaded size estimate: ONNX weights plus room for activations and the runtime. */
export function estimateModelMemoryMb(artifactBytes: number): number {
  return Math.max(1, Math.ceil((artifactBytes * 1.5) / (1024 * 1024)) + 64);
}

/**
 * `name` → its Production version; `name@N` → version N; `name@production`/`@staging` → the
 * version in that stage.
 */
export type ModelReference =
  | { name: string; selector: { kind: "stage"; stage: "Production" | "Staging" } }
  | { name: string; selector: { kind: "version"; version: number } };

export function parseModelReference(reference: string): ModelReference | undefined {
  const match = /^([a-z0-9][a-z0-9._-]{0,63})(?:@([A-Za-z0-9_-]+))?$/.exec(reference);
  if (!match) return undefined;
  const name = match[1] ?? "";
  const suffix = match[2];
  if (suffix === undefined || suffix.toLowerCase() === "production") {
    return { name, selector: { kind: "stage", stage: "Production" } };
  }
  if (suffix.toLowerCase() === "staging") return { name, selector: { kind: "stage", stage: "Staging" } };
  if (/^[1-9][0-9]{0,8}$/.test(suffix)) return { name, selector: { kind: "version", version: Number(suffix) } };
  return undefined;
}

export function resolveModelReference(record: ModelRecord, reference: ModelReference): ModelVersion | undefined {
  const { selector } = reference;
  if (selector.kind === "version") return record.versions.find((v) => v.version === selector.version);
  // Newest first, so that a stage held by two versions (archive_existing: false) picks the latest.
  return [...record.versions].reverse().find((v) => v.stage === selector.stage);
}
