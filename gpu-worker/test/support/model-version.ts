/** Registry `ModelVersion` documents for built reference models, as the edge would forward them. */
import { type Artifact, estimateModelMemoryMb, type ModelVersion, ModelVersionSchema } from "@modelgate/shared";
import type { BuiltReferenceModel } from "../../src/reference-models/index.js";

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
