import { z } from "zod";
import { ArtifactSchema, ModelFileSchema, TensorSpecSchema } from "./artifact.js";
import { ConversionTargetSchema } from "./conversion/conversion-target.js";
import { ConvertedFormatsSchema, SourceVerificationSchema } from "./conversion/converted-format.js";
import { err, ok, type Result, validationError } from "./errors.js";
import { EvaluationLinkSchema, MAX_EVALUATION_LINKS } from "./evaluation/evaluation-link.js";
import { freeText, ReasonTextSchema } from "./free-text.js";
import { RuntimeConfigOverridesSchema } from "./runtime-config.js";
import { ServingConfigSchema } from "./tensors/serving-config.js";

/** Lower-case, URL- and R2-key-safe; `@` and `:` are reserved for version and format suffixes. */
export const ModelNameSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,63}$/,
    "must be 1–64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit",
  );

/**
 * `causal-lm`: text generation (`/v1/generate`); `tensor`: rows of features in, class
 * probabilities out (`/v1/predict`); `scorer`: reads text and returns a score in [0, 1] (a
 * refinement judge).
 */
export const ModelKindSchema = z.enum(["causal-lm", "tensor", "scorer"]);
export type ModelKind = z.infer<typeof ModelKindSchema>;

/** Seed 004's lifecycle stages. */
export const StageSchema = z.enum(["None", "Staging", "Production", "Archived"]);
export type Stage = z.infer<typeof StageSchema>;

export {
  type Artifact,
  ArtifactFormatSchema,
  ArtifactSchema,
  type ModelFile,
  ModelFileSchema,
  Sha256HexSchema,
  type TensorDtype,
  TensorDtypeSchema,
  type TensorSpec,
  TensorSpecSchema,
} from "./artifact.js";

/** At most 256 each, as seed 001's contract: a decoder with a KV cache has 2 inputs per layer. */
export const IoContractSchema = z.strictObject({
  inputs: z.array(TensorSpecSchema).min(1).max(256),
  outputs: z.array(TensorSpecSchema).min(1).max(256),
});
export type IoContract = z.infer<typeof IoContractSchema>;

export const IoSourceSchema = z.enum(["artifact", "declared"]);
export type IoSource = z.infer<typeof IoSourceSchema>;

/**
 * How a causal LM's text becomes token ids.
 * - `byte-level`: UTF-8 bytes are ids 0–255 and the specials follow.
 * - `hf-tokenizer`: a Hugging Face `tokenizer.json`, plus its `tokenizer_config.json` when the
 *   model has a chat template. Generation ends at any of `eos_token_ids` (generation_config.json's
 *   `eos_token_id`). `<bot>` / `<eot>` in the vocabulary mark latent spans.
 */
export const TokenizerSpecSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("byte-level"),
    vocab_size: z.int().min(256).max(1024),
    bos_token_id: z.int().min(0),
    eos_token_id: z.int().min(0),
  }),
  z.strictObject({
    type: z.literal("hf-tokenizer"),
    tokenizer_json: ModelFileSchema,
    tokenizer_config_json: ModelFileSchema.optional(),
    eos_token_ids: z.array(z.int().min(0)).min(1).max(16),
  }),
]);
export type TokenizerSpec = z.infer<typeof TokenizerSpecSchema>;

const categoryName = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, "must be a lower-case category name");
export const MetricNameSchema = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, "must be a metric or benchmark name");
const metricName = MetricNameSchema;
/** Roles, groups, tags, backends, locations and formats: short lower-case labels. */
export const LabelSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._:-]{0,63}$/, "must be 1–64 characters of a-z, 0-9, '.', '_', ':' or '-'");
/** One line of free text (names, paths, hardware); `longText` for notes and descriptions. */
const shortText = (max: number) => freeText({ max });
const longText = (max: number) => freeText({ max, multiline: true });
const uniqueLabels = (max: number) =>
  z
    .array(LabelSchema)
    .max(max)
    .refine((values) => new Set(values).size === values.length, "must not repeat a value");

/** Seed 003's dataset block: what the version was trained on and how good that data was. */
export const DatasetInfoSchema = z.strictObject({
  name: shortText(200).min(1),
  path: shortText(1000).optional(),
  train_samples: z.int().min(0).optional(),
  val_samples: z.int().min(0).optional(),
  test_samples: z.int().min(0).optional(),
  quality: z.record(metricName, z.number()).optional(),
});

/** Seed 003's LoRA adapter configuration. */
export const LoraConfigSchema = z.strictObject({
  r: z.int().min(1).max(4096),
  lora_alpha: z.number().min(0),
  target_modules: z.array(shortText(128).min(1)).max(64),
  lora_dropout: z.number().min(0).max(1),
  bias: shortText(32).optional(),
  task_type: shortText(64).optional(),
});

const hyperparameterValue = z.union([z.number(), shortText(200), z.boolean()]);
const timestamp = z.union([z.iso.datetime({ offset: true }), z.iso.datetime({ local: true }), z.iso.date()]);

/**
 * What describes a version and may change after registration: names, notes, tags, routing
 * fields (categories, benchmark scores) and where copies live. Edits (`PATCH`) produce a new
 * metadata revision; the artifact and everything in `VersionProvenance` never change.
 */
export const VersionMetadataShape = {
  display_name: shortText(200).optional(),
  description: longText(4000).optional(),
  role: LabelSchema.optional(),
  group: LabelSchema.optional(),
  notes: longText(4000).optional(),
  tags: uniqueLabels(32),
  categories: z
    .array(categoryName)
    .max(16)
    .refine((values) => new Set(values).size === values.length, "must not repeat a category"),
  primary_category: categoryName.optional(),
  benchmark_scores: z.record(metricName, z.number().min(0).max(100)),
  formats: uniqueLabels(16),
  /** Where copies of the model live (seed 003): location name → path or URI. */
  locations: z.record(LabelSchema, shortText(1000).min(1)),
  primary_location: LabelSchema.optional(),
  deployed_backends: uniqueLabels(16),
  /** How the worker serves a tensor version (dynamic batching); defaults when absent. */
  serving: ServingConfigSchema.optional(),
} as const;
export const VERSION_METADATA_FIELDS = Object.keys(VersionMetadataShape) as (keyof typeof VersionMetadataShape)[];

/** Training provenance (seed 003), fixed at registration like the artifact itself. */
export const VersionProvenanceShape = {
  base_model: shortText(200).optional(),
  training_date: timestamp.optional(),
  training_duration_minutes: z.number().min(0).max(1_000_000).optional(),
  dataset: DatasetInfoSchema.optional(),
  /** Training/evaluation metrics at registration: `val_acc`, `final_loss`, `best_loss`, … */
  metrics: z.record(metricName, z.number()),
  perplexity: z.number().min(0).optional(),
  lora_config: LoraConfigSchema.optional(),
  hyperparameters: z
    .record(metricName, hyperparameterValue)
    .refine((value) => Object.keys(value).length <= 64, "at most 64 hyperparameters")
    .optional(),
  hardware: shortText(100).optional(),
  device: shortText(50).optional(),
  git_commit: z
    .string()
    .regex(/^[0-9a-f]{7,40}$/, "must be a 7–40 character hex commit id")
    .optional(),
} as const;

function checkVersionFieldRelations(
  value: {
    categories?: string[] | undefined;
    primary_category?: string | undefined;
    locations?: Record<string, string> | undefined;
    primary_location?: string | undefined;
  },
  ctx: z.RefinementCtx,
): void {
  if (value.primary_category !== undefined && !(value.categories ?? []).includes(value.primary_category)) {
    ctx.addIssue({ code: "custom", path: ["primary_category"], message: "must be one of categories" });
  }
  if (value.primary_location !== undefined && !(value.primary_location in (value.locations ?? {}))) {
    ctx.addIssue({ code: "custom", path: ["primary_location"], message: "must be one of the keys of locations" });
  }
}

/** The version's mutable part as stored and returned. */
export const VersionMetadataSchema = z.strictObject(VersionMetadataShape);
export type VersionMetadata = z.infer<typeof VersionMetadataSchema>;

/** Keys of a metadata `PATCH` that say how to apply it rather than what to change. */
const PATCH_CONTROL_KEYS: ReadonlySet<string> = new Set(["reason", "expected_metadata_revision"]);

/**
 * A `PATCH` body: any subset of the metadata fields (`null` clears an optional one). Fields
 * outside it (artifact, io, metrics, …) are immutable and refused by name.
 * `expected_metadata_revision` makes it conditional: a client that read the version, changed a
 * part and writes it back (the CLI's `models deploy` rewrites `serving`) is refused with 409
 * if someone else's edit landed in between, instead of overwriting it.
 */
export const VersionMetadataPatchSchema = z
  .strictObject({
    ...Object.fromEntries(
      Object.entries(VersionMetadataShape).map(([key, schema]) => [key, schema.nullable().optional()]),
    ),
    reason: ReasonTextSchema.optional(),
    expected_metadata_revision: z.int().min(1).optional(),
  } as { [K in keyof typeof VersionMetadataShape]: z.ZodOptional<z.ZodNullable<(typeof VersionMetadataShape)[K]>> } & {
    reason: z.ZodOptional<z.ZodString>;
    expected_metadata_revision: z.ZodOptional<z.ZodInt>;
  })
  .refine((patch) => patchedMetadataFields(patch).length > 0, "name at least one metadata field to change");

/** The metadata fields a patch changes (its keys without the control ones). */
export function patchedMetadataFields(patch: Record<string, unknown>): string[] {
  return Object.keys(patch).filter((key) => !PATCH_CONTROL_KEYS.has(key));
}
export type VersionMetadataPatch = z.infer<typeof VersionMetadataPatchSchema>;

/** What a client sends to register a version; the registry assigns the number and stage. */
export const RegisterVersionRequestSchema = z
  .strictObject({
    kind: ModelKindSchema,
    artifact: ArtifactSchema,
    /**
     * What the model takes and returns. Optional: the registry reads it from the ONNX file; a
     * declared one is checked against the file (and may fix dimensions the file leaves dynamic).
     */
    io: IoContractSchema.optional(),
    tokenizer: TokenizerSpecSchema.optional(),
    /** The longest sequence (prompt + new tokens) the model takes; longer requests are refused. */
    max_context_tokens: z.int().min(1).max(1_048_576).optional(),
    runtime_config: RuntimeConfigOverridesSchema.optional(),
    /** GPU memory the loaded model needs; estimated from the artifact size when absent. */
    memory_mb: z
      .int()
      .min(1)
      .max(1024 * 1024)
      .optional(),
    ...VersionProvenanceShape,
    metrics: VersionProvenanceShape.metrics.default({}),
    ...VersionMetadataShape,
    tags: VersionMetadataShape.tags.default([]),
    categories: VersionMetadataShape.categories.default([]),
    benchmark_scores: VersionMetadataShape.benchmark_scores.default({}),
    formats: VersionMetadataShape.formats.optional(),
    locations: VersionMetadataShape.locations.default({}),
    deployed_backends: VersionMetadataShape.deployed_backends.default([]),
    /** Apply the model's registration policy (threshold gate, auto-promotion); default true. */
    apply_policy: z.boolean().default(true),
  })
  .superRefine((value, ctx) => {
    if (value.kind !== "tensor" && value.tokenizer === undefined) {
      ctx.addIssue({ code: "custom", path: ["tokenizer"], message: `a ${value.kind} version needs a tokenizer` });
    }
    checkVersionFieldRelations(value, ctx);
  });
export type RegisterVersionRequest = z.input<typeof RegisterVersionRequestSchema>;
export type RegisterVersionInput = z.output<typeof RegisterVersionRequestSchema>;

/** A registered version: immutable registration, current stage, current metadata revision. */
export const ModelVersionSchema = z.strictObject({
  name: ModelNameSchema,
  version: z.int().min(1),
  kind: ModelKindSchema,
  stage: StageSchema,
  artifact: ArtifactSchema,
  io: IoContractSchema,
  /** Where `io` came from: read from the ONNX file, or as declared (a file whose graph could not be read). */
  io_source: IoSourceSchema.optional(),
  tokenizer: TokenizerSpecSchema.optional(),
  max_context_tokens: z.int().min(1).optional(),
  runtime_config: RuntimeConfigOverridesSchema.optional(),
  memory_mb: z.int().min(1),
  ...VersionProvenanceShape,
  ...VersionMetadataShape,
  metadata_revision: z.int().min(1),
  /** The original's contract, shape runs and gates, from its latest conversion job. */
  verification: SourceVerificationSchema.optional(),
  /** Converted formats with their verification (`name@3:int8` serves one). */
  converted_formats: ConvertedFormatsSchema.optional(),
  /** The format served when a request names none; set by promoting with a verified `format`. */
  serving_format: ConversionTargetSchema.optional(),
  /** The latest evaluations run on this version, newest last (each links its report and results). */
  evaluations: z.array(EvaluationLinkSchema).max(MAX_EVALUATION_LINKS).optional(),
  created_at: z.iso.datetime(),
  created_by: z.string(),
  updated_at: z.iso.datetime(),
});
export type ModelVersion = z.infer<typeof ModelVersionSchema>;

/** The metadata part of a version, picked out of the whole document. */
export function versionMetadataOf(version: ModelVersion): VersionMetadata {
  const metadata: Record<string, unknown> = {};
  for (const field of VERSION_METADATA_FIELDS) {
    if (version[field] !== undefined) metadata[field] = version[field];
  }
  return VersionMetadataSchema.parse(metadata);
}

/** Applies a metadata patch (null clears) and checks the fields that depend on each other. */
export function applyMetadataPatch(current: VersionMetadata, patch: VersionMetadataPatch): Result<VersionMetadata> {
  const next: Record<string, unknown> = { ...current };
  for (const field of VERSION_METADATA_FIELDS) {
    if (!(field in patch)) continue;
    const value = patch[field];
    if (value === null) {
      // Lists and maps clear to empty; optional scalars disappear.
      const emptied = VersionMetadataSchema.shape[field].safeParse([]).success
        ? []
        : VersionMetadataSchema.shape[field].safeParse({}).success
          ? {}
          : undefined;
      if (emptied === undefined) delete next[field];
      else next[field] = emptied;
    } else if (value !== undefined) {
      next[field] = value;
    }
  }
  const parsed = VersionMetadataSchema.superRefine(checkVersionFieldRelations).safeParse(next);
  if (!parsed.success) return err(validationError(parsed.error, "metadata"));
  return ok(parsed.data);
}

export const StageChangeRequestSchema = z
  .strictObject({
    stage: StageSchema,
    /** Promoting to Production archives the previous Production version unless this is false. */
    archive_existing: z.boolean().default(true),
    reason: ReasonTextSchema.optional(),
    /** Promote a converted format as the one served by default; it must have passed its must-pass gates. */
    format: ConversionTargetSchema.optional(),
    /** Promote although must-pass gates failed; needs a `reason`, recorded in the history. */
    force: z.boolean().default(false),
  })
  .superRefine((change, ctx) => {
    if (change.force && (change.reason === undefined || change.reason.trim() === "")) {
      ctx.addIssue({ code: "custom", path: ["reason"], message: "a forced promotion needs a reason" });
    }
  });
export type StageChangeRequest = z.infer<typeof StageChangeRequestSchema>;

/** Loaded size estimate: ONNX weights plus room for activations and the runtime. */
export function estimateModelMemoryMb(artifactBytes: number): number {
  return Math.max(1, Math.ceil((artifactBytes * 1.5) / (1024 * 1024)) + 64);
}
