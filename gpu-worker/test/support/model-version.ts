/** Registry `ModelVersion` documents for built reference models, as the edge would forward them. */
import {
  type Artifact,
  estimateModelMemoryMb,
  type ModelFile,
  type ModelVersion,
  ModelVersionSchema,
} from "@modelgate/shared";
import { type BuiltReferenceModel, hfTokenizerSpec } from "../../src/reference-models/index.js";
import type { LocalS3 } from "./local-s3.js";

export function modelVersionFor(
  built: BuiltReferenceModel,
  artifact: Artifact,
  overrides: Partial<ModelVersion> = {},
): ModelVersion {
  const { registration } = built;
  return ModelVersionSchema.parse({
    name: built.name,
    version: 1,
    kind: registration.kind,
    stage: "Production",
    artifact,
    io: registration.io,
    tokenizer: registration.tokenizer,
    categories: registration.categories ?? [],
    primary_category: registration.primary_category,
    benchmark_scores: registration.benchmark_scores ?? {},
    metrics: registration.metrics,
    runtime_config: registration.runtime_config,
    memory_mb: registration.memory_mb ?? estimateModelMemoryMb(artifact.bytes),
    description: registration.description,
    created_at: "2026-01-01T00:00:00.000Z",
    created_by: "test",
    updated_at: "2026-01-01T00:00:00.000Z",
    metadata_revision: 1,
    tags: [],
    formats: [artifact.format],
    locations: {},
    deployed_backends: [],
    ...overrides,
  });
}

/**
 * Uploads a built reference model (and its tokenizer files, for a Hugging Face tokenizer) to
 * S3 and returns the version document the edge would forward for it.
 */
export async function uploadReferenceModel(
  s3: LocalS3,
  built: BuiltReferenceModel,
  overrides: Partial<ModelVersion> = {},
): Promise<ModelVersion> {
  const artifact = await s3.upload(built.name, built.onnx);
  const files = built.tokenizerFiles;
  const tokenizer = files
    ? hfTokenizerSpec(
        {
          tokenizerJson: withoutFormat(await s3.upload(`${built.name}-tokenizer`, files.tokenizerJson)),
          tokenizerConfigJson: withoutFormat(
            await s3.upload(`${built.name}-tokenizer-config`, files.tokenizerConfigJson),
          ),
        },
        files.eosTokenIds,
      )
    : built.registration.tokenizer;
  return modelVersionFor(built, artifact, {
    ...(tokenizer === undefined ? {} : { tokenizer }),
    ...(built.registration.max_context_tokens === undefined
      ? {}
      : { max_context_tokens: built.registration.max_context_tokens }),
    ...overrides,
  });
}

function withoutFormat(artifact: Artifact): ModelFile {
  return { uri: artifact.uri, sha256: artifact.sha256, bytes: artifact.bytes };
}
