import type {
  ClaimedConversion,
  CompleteConversionRequest,
  ConversionJob,
  ConversionTarget,
  ConvertedFormat,
  ModelFile,
  PipelineFiles,
  SourceVerification,
} from "@modelgate/shared";
import { ADMIN, call, causalLmRegistration, putTestArtifact, WORKER_TOKEN } from "./requests.js";

/** Registers `name` (version 1) with the fixture causal-lm artifact. */
export async function registerModel(name: string): Promise<void> {
  const response = await call("POST", `/v1/models/${name}/versions`, { key: ADMIN, body: causalLmRegistration() });
  if (response.status !== 201) throw new Error(`register failed: ${response.status} ${await response.text()}`);
}

export async function requestConversion(name: string, targets: ConversionTarget[] = ["int8"]): Promise<ConversionJob> {
  const response = await call("POST", `/v1/models/${name}/versions/1/conversions`, { key: ADMIN, body: { targets } });
  if (response.status !== 202) throw new Error(`enqueue failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as ConversionJob;
}

/** Claims through the real worker route; undefined on 204 (nothing queued). */
export async function claim(workerId: string): Promise<ClaimedConversion | undefined> {
  const response = await call("POST", "/internal/conversions/claim", {
    key: WORKER_TOKEN,
    body: { worker_id: workerId },
  });
  if (response.status === 204) return undefined;
  if (response.status !== 200) throw new Error(`claim failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as ClaimedConversion;
}

export async function getJob(id: string): Promise<ConversionJob> {
  const response = await call("GET", `/v1/conversions/${id}`, { key: ADMIN });
  if (response.status !== 200) throw new Error(`get failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as ConversionJob;
}

export function workerCall(path: string, body: unknown): Promise<Response> {
  return call("POST", path, { key: WORKER_TOKEN, body });
}

async function storedFile(content: string): Promise<ModelFile> {
  const { format: _format, ...file } = await putTestArtifact(content);
  return file;
}

/** The four files the pipeline writes beside a checked model, stored in S3 (content makes them unique). */
async function storedPipelineFiles(label: string): Promise<PipelineFiles> {
  return {
    contract: await storedFile(`{"contract":"${label}"}`),
    verification_report: await storedFile(`{"report":"${label}"}`),
    deployment_manifest: await storedFile(`{"manifest":"${label}"}`),
    runtime_config: await storedFile(`{"runtime":"${label}"}`),
  };
}

export async function convertedFormat(jobId: string, target: ConversionTarget): Promise<ConvertedFormat> {
  const artifact = await putTestArtifact(`converted ${target} model of ${jobId}`);
  return {
    target,
    artifact: { ...artifact, format: `onnx-${target}` },
    gates_ok: true,
    must_pass_failed: [],
    should_pass_ok: true,
    metrics: { max_abs_diff: 0.01, cosine_similarity: 0.999, top1_agreement: 0.98, compared: 64, size_ratio: 0.27 },
    files: await storedPipelineFiles(`${jobId}/${target}`),
    job_id: jobId,
    converted_at: new Date().toISOString(),
  };
}

export async function sourceVerification(jobId: string, gatesOk = true): Promise<SourceVerification> {
  return {
    gates_ok: gatesOk,
    must_pass_failed: gatesOk ? [] : ["primary_shape_runs"],
    should_pass_ok: gatesOk,
    primary_shape: "T1024",
    files: await storedPipelineFiles(`${jobId}/source`),
    job_id: jobId,
    verified_at: new Date().toISOString(),
  };
}

/** A complete report whose every artifact and file exists in S3 as declared. */
export async function completeReport(
  job: ConversionJob,
  workerId: string,
  targets: ConversionTarget[] = job.targets,
): Promise<CompleteConversionRequest> {
  const formats: CompleteConversionRequest["formats"] = {};
  for (const target of targets) formats[target] = await convertedFormat(job.id, target);
  return { worker_id: workerId, source_verification: await sourceVerification(job.id), formats };
}
