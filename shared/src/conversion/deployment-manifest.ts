import { z } from "zod";
import { Sha256HexSchema } from "../artifact.js";

/** A file the manifest lists: where it is and its checksum. */
const ManifestFileSchema = z.strictObject({
  uri: z.string(),
  sha256: Sha256HexSchema,
  bytes: z.int().min(1),
});

/**
 * Seed 000's `deployment_manifest.json` (model_info, artifacts, capabilities), with the ONNX
 * artifacts modelgate writes in place of TorchScript/CoreML exports, each with its sha256.
 */
export const DeploymentManifestSchema = z.strictObject({
  schema: z.literal("modelgate.deployment-manifest/v1"),
  model_info: z.strictObject({
    name: z.string(),
    version: z.int().min(1),
    format: z.enum(["fp32", "fp16", "int8", "int4"]),
    use_halt_head: z.boolean(),
    use_self_evaluation: z.boolean(),
    arch: z.record(z.string(), z.union([z.boolean(), z.number(), z.string()])),
  }),
  artifacts: z.strictObject({
    onnx_export: ManifestFileSchema,
    contract: ManifestFileSchema,
    verification_report: ManifestFileSchema.optional(),
    runtime_config: ManifestFileSchema,
  }),
  capabilities: z.strictObject({
    latent_reasoning: z.boolean(),
    halt_head: z.boolean(),
    code_mode: z.boolean(),
  }),
  gates_ok: z.boolean(),
  generated_at: z.iso.datetime(),
});
export type DeploymentManifest = z.infer<typeof DeploymentManifestSchema>;
