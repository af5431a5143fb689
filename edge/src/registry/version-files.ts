import type { ModelFile, ModelVersion, PipelineFiles } from "@modelgate/shared";

type StoredFile = Pick<ModelFile, "uri" | "sha256">;

function pipelineFiles(files: Partial<PipelineFiles> | undefined): StoredFile[] {
  return Object.values(files ?? {}).filter((file): file is ModelFile => file !== undefined);
}

/**
 * The objects a `purge=true` delete removes for a version (each only when no live version still
 * references its sha256): the artifact, every converted artifact and every pipeline file. They
 * were written for this version alone, so leaving them would strand them in the bucket.
 */
export function purgeableFiles(version: ModelVersion): StoredFile[] {
  const files: StoredFile[] = [version.artifact];
  for (const format of Object.values(version.converted_formats ?? {})) {
    if (!format) continue;
    files.push(format.artifact, ...pipelineFiles(format.files));
  }
  files.push(...pipelineFiles(version.verification?.files));
  return files;
}

/**
 * Every object a live version references, by sha256: what a purge must keep. Tokenizer files
 * count too, because objects are content-addressed and another version's converted artifact or
 * report may be byte-identical to (hence the same object as) one of them.
 */
export function referencedSha256s(version: ModelVersion): string[] {
  const files = purgeableFiles(version);
  const tokenizer = version.tokenizer;
  if (tokenizer?.type === "hf-tokenizer") {
    files.push(tokenizer.tokenizer_json);
    if (tokenizer.tokenizer_config_json) files.push(tokenizer.tokenizer_config_json);
  }
  return [...new Set(files.map((file) => file.sha256))];
}
