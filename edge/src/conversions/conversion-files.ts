import {
  type CompleteConversionRequest,
  type ConversionJob,
  type ConvertedFormats,
  type FieldProblem,
  type ModelFile,
  ModelgateError,
  type SourceVerification,
} from "@modelgate/shared";
import type { ArtifactVerifier } from "../artifacts/artifact-verifier.js";
import type { ConversionJobResult } from "./conversion-jobs.js";

/** An object a finished job names, with the request field that names it. */
interface ReferencedFile {
  field: string;
  file: Pick<ModelFile, "uri" | "sha256" | "bytes">;
}

function pipelineFiles(prefix: string, files: Partial<Record<string, ModelFile>>): ReferencedFile[] {
  return Object.entries(files).flatMap(([name, file]) => (file ? [{ field: `${prefix}.files.${name}`, file }] : []));
}

/** Every object a complete (or failed) report references: artifacts, then the pipeline's files. */
export function referencedFiles(
  sourceVerification: SourceVerification | undefined,
  formats: ConvertedFormats = {},
): ReferencedFile[] {
  const referenced: ReferencedFile[] = [];
  if (sourceVerification) referenced.push(...pipelineFiles("source_verification", sourceVerification.files));
  for (const [target, format] of Object.entries(formats)) {
    if (!format) continue;
    referenced.push({ field: `formats.${target}.artifact`, file: format.artifact });
    referenced.push(...pipelineFiles(`formats.${target}`, format.files));
  }
  return referenced;
}

/**
 * Checks each referenced object exists in object storage exactly as declared, with the verifier
 * registrations use. The first problem is thrown (422 `artifact_missing`/`artifact_mismatch`)
 * naming the request field, so the worker knows which upload to redo.
 */
export async function verifyReferencedFiles(verifier: ArtifactVerifier, referenced: ReferencedFile[]): Promise<void> {
  for (const { field, file } of referenced) {
    const checked = await verifier.verify(file);
    if (checked.ok) continue;
    // The verifier names registration fields (`artifact.uri`); name this request's field instead.
    const renamed = checked.error.fieldErrors?.map((problem) => ({
      ...problem,
      field: problem.field.replace(/^artifact(?=\.|$)/, field),
    }));
    throw new ModelgateError(checked.error.code, checked.error.message, renamed);
  }
}

/**
 * What only the queue knows: a report carries only the job's own targets and names this job.
 * (Whether each format matches its target is the registry's check, where formats are recorded.)
 */
export function checkReportMatchesJob(
  job: ConversionJob,
  sourceVerification: SourceVerification | undefined,
  formats: ConvertedFormats = {},
): void {
  const problems: FieldProblem[] = [];
  if (sourceVerification && sourceVerification.job_id !== job.id) {
    problems.push({ field: "source_verification.job_id", message: `must be ${job.id}` });
  }
  for (const [target, format] of Object.entries(formats)) {
    if (!format) continue;
    const field = `formats.${target}`;
    if (!job.targets.some((wanted) => wanted === target)) {
      problems.push({ field, message: `was not requested (targets: ${job.targets.join(", ")})` });
    }
    if (format.job_id !== job.id) problems.push({ field: `${field}.job_id`, message: `must be ${job.id}` });
  }
  if (problems.length > 0) {
    const named = problems.map((p) => `${p.field}: ${p.message}`).join("; ");
    throw new ModelgateError("validation_failed", `The report does not match job ${job.id}: ${named}`, problems);
  }
}

/** The job's short summary of what the registry now holds in full. */
export function summarizeConversion(report: CompleteConversionRequest): ConversionJobResult {
  const formats: ConversionJobResult["formats"] = {};
  for (const format of Object.values(report.formats)) {
    if (!format) continue;
    formats[format.target] = {
      gates_ok: format.gates_ok,
      must_pass_failed: format.must_pass_failed,
      uri: format.artifact.uri,
      bytes: format.artifact.bytes,
      size_ratio: format.metrics.size_ratio,
      top1_agreement: format.metrics.top1_agreement,
    };
  }
  return { source_gates_ok: report.source_verification.gates_ok, formats };
}
