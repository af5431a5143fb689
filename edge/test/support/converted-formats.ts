import { env } from "cloudflare:test";
import {
  ARTIFACT_FORMAT_BY_TARGET,
  type ConversionTarget,
  type ConvertedFormat,
  type ModelFile,
  type ModelRecord,
  type PipelineFiles,
  type SourceVerification,
} from "@modelgate/shared";
import type { ConversionOutcome } from "../../src/registry/conversion-records.js";
import { registryCoordinator } from "../../src/registry/registry-access.js";
import type { WireResult } from "../../src/registry/wire-result.js";
import { putTestArtifact } from "./requests.js";

/**
 * A conversion job's outcome as the job queue hands it to the registry coordinator: every file
 * stored in the test S3 first (content-addressed, as the worker's pipeline writes them).
 */
async function storedFile(content: string): Promise<ModelFile> {
  const { format: _format, ...file } = await putTestArtifact(content);
  return file;
}

async function pipelineFiles(label: string): Promise<PipelineFiles> {
  const [contract, verification_report, deployment_manifest, runtime_config] = await Promise.all(
    ["contract.json", "verification_report.json", "deployment_manifest.json", "runtime_config.json"].map((file) =>
      storedFile(`${label} ${file}`),
    ),
  );
  if (!contract || !verification_report || !deployment_manifest || !runtime_config) throw new Error("files missing");
  return { contract, verification_report, deployment_manifest, runtime_config };
}

export async function sourceVerification(jobId: string, failed: string[] = []): Promise<SourceVerification> {
  return {
    gates_ok: failed.length === 0,
    must_pass_failed: failed,
    should_pass_ok: true,
    primary_shape: "T1024",
    files: await pipelineFiles(`${jobId} source`),
    job_id: jobId,
    verified_at: new Date().toISOString(),
  };
}

/** A converted format; `failed` names must-pass gates that failed. Its artifact's bytes are unique per job. */
export async function convertedFormat(
  target: ConversionTarget,
  jobId: string,
  failed: string[] = [],
): Promise<ConvertedFormat> {
  const artifact = await putTestArtifact(`${jobId} ${target} weights\n`.repeat(target === "int4" ? 8 : 16));
  return {
    target,
    artifact: { ...artifact, format: ARTIFACT_FORMAT_BY_TARGET[target] },
    gates_ok: failed.length === 0,
    must_pass_failed: failed,
    should_pass_ok: true,
    metrics: {
      max_abs_diff: failed.length === 0 ? 0.004 : 0.9,
      cosine_similarity: failed.length === 0 ? 0.9998 : 0.61,
      top1_agreement: failed.length === 0 ? 0.995 : 0.42,
      compared: 1024,
      size_ratio: target === "fp16" ? 0.5 : target === "int8" ? 0.27 : 0.16,
    },
    files: await pipelineFiles(`${jobId} ${target}`),
    job_id: jobId,
    converted_at: new Date().toISOString(),
  };
}

/** The outcome of one job: the source verification (passed unless `sourceFailed`) and the given formats. */
export async function conversionOutcome(
  jobId: string,
  formats: Partial<Record<ConversionTarget, string[]>>,
  sourceFailed: string[] = [],
): Promise<ConversionOutcome> {
  const converted: ConversionOutcome["formats"] = {};
  for (const [target, failed] of Object.entries(formats) as [ConversionTarget, string[]][]) {
    converted[target] = await convertedFormat(target, jobId, failed);
  }
  return { job_id: jobId, source_verification: await sourceVerification(jobId, sourceFailed), formats: converted };
}

/** Calls the coordinator as the conversion job queue does (a Durable Object RPC). */
export function recordConversion(
  name: string,
  version: number,
  outcome: ConversionOutcome,
): Promise<WireResult<ModelRecord>> {
  return registryCoordinator(env).recordConversion(name, version, outcome, "conversion-test");
}
