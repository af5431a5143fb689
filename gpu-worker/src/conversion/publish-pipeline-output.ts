/**
 * Writes a pipeline's files to object storage under content-addressed keys
 * (`artifacts/sha256/<sha256>`, the same layout the edge uses for uploads) and builds the
 * registry entries that reference them. Nothing is referenced before it is stored: the edge
 * checks every reference again (size and sha256) before it records a conversion.
 */
import {
  ARTIFACT_FORMAT_BY_TARGET,
  type ConversionJob,
  type ConversionTarget,
  type ConvertedFormats,
  type ModelFile,
  type PipelineFiles,
  type SourceVerification,
} from "@modelgate/shared";
import type { ObjectStore } from "../artifacts/object-store.js";
import type { PipelineFileBytes, PipelineOutput } from "./conversion-pipeline.js";
import { sha256Hex } from "./verification-gates.js";

export interface PublishTarget {
  store: ObjectStore;
  bucket: string;
}

export interface PublishedOutput {
  sourceVerification: SourceVerification;
  formats: ConvertedFormats;
}

/** Stores one file and returns how the registry refers to it. Same bytes → same key, so re-runs are free. */
export async function storeContentAddressed(
  bytes: Uint8Array,
  contentType: string,
  { store, bucket }: PublishTarget,
): Promise<ModelFile> {
  const sha256 = sha256Hex(bytes);
  const uri = `s3://${bucket}/artifacts/sha256/${sha256}`;
  await store.putObject(uri, bytes, { contentType, contentLength: bytes.byteLength });
  return { uri, sha256, bytes: bytes.byteLength };
}

const JSON_TYPE = "application/json";

async function storeFiles(files: Partial<PipelineFileBytes>, target: PublishTarget): Promise<Partial<PipelineFiles>> {
  const stored: Partial<PipelineFiles> = {};
  for (const name of ["contract", "verification_report", "deployment_manifest", "runtime_config"] as const) {
    const bytes = files[name];
    if (bytes !== undefined) stored[name] = await storeContentAddressed(bytes, JSON_TYPE, target);
  }
  return stored;
}

function complete(files: Partial<PipelineFiles>, what: string): PipelineFiles {
  const { contract, verification_report, deployment_manifest, runtime_config } = files;
  if (!contract || !verification_report || !deployment_manifest || !runtime_config) {
    throw new Error(`the pipeline did not produce every file for ${what}`);
  }
  return { contract, verification_report, deployment_manifest, runtime_config };
}

export async function publishPipelineOutput(
  output: PipelineOutput,
  job: ConversionJob,
  target: PublishTarget,
): Promise<PublishedOutput> {
  const now = new Date().toISOString();
  const report = output.source.report;
  const sourceVerification: SourceVerification = {
    gates_ok: report.gates_ok,
    must_pass_failed: report.must_pass_failed,
    should_pass_ok: report.should_pass_ok,
    primary_shape: output.source.primaryShape,
    files: await storeFiles(output.source.files, target),
    job_id: job.id,
    verified_at: now,
  };
  const formats: ConvertedFormats = {};
  for (const [name, format] of Object.entries(output.formats)) {
    if (format === undefined) continue;
    const conversionTarget = name as ConversionTarget;
    const model = await storeContentAddressed(format.model, "application/octet-stream", target);
    formats[conversionTarget] = {
      target: conversionTarget,
      artifact: { ...model, format: ARTIFACT_FORMAT_BY_TARGET[conversionTarget] },
      gates_ok: format.report.gates_ok,
      must_pass_failed: format.report.must_pass_failed,
      should_pass_ok: format.report.should_pass_ok,
      metrics: format.report.metrics,
      files: complete(await storeFiles(format.files, target), conversionTarget),
      job_id: job.id,
      converted_at: now,
    };
  }
  return { sourceVerification, formats };
}
