/**
 * One conversion job, start to finish, as pure work on bytes (no network): verify the original
 * (contract, shape enumeration, seed 001's version gates), then for each target convert,
 * verify against fp32 and write its files. Runs in the conversion thread; the runner stores
 * what it returns. A failure anywhere fails the whole job and nothing is registered as
 * converted: a partial set of formats would look like a choice rather than an accident.
 */
import {
  type ConversionJob,
  type ConversionStep,
  type ConversionTarget,
  type ModelVersion,
  type PipelineFiles,
  type SourceVerificationReport,
  shapeKey,
  type VerificationReport,
} from "@modelgate/shared";
import type { PipelineProgress } from "./conversion-thread-protocol.js";
import { convertModel } from "./convert-model.js";
import { buildDeploymentFiles } from "./deployment-files.js";
import { loadModelSession } from "./shape-enumeration.js";
import { sha256Hex, verifySourceModel } from "./verification-gates.js";
import { verifyConvertedFormat } from "./verify-conversion.js";

/** The four JSON files of a checked model, as bytes. */
export type PipelineFileBytes = Record<keyof PipelineFiles, Uint8Array>;

export interface PipelineInput {
  job: ConversionJob;
  source: ModelVersion;
  sourceBytes: Uint8Array;
  /** The model's tokenizer.json, when it has one: the contract reads `<bot>`/`<eot>` (latent mode) from it. */
  tokenizerJson?: string;
  /** Where files will be stored, so the manifest can name them: `s3://<bucket>/artifacts/sha256/<sha>`. */
  uriFor: (sha256: string) => string;
}

export interface PipelineOutput {
  source: {
    report: SourceVerificationReport;
    primaryShape: string;
    files: Partial<PipelineFileBytes>;
  };
  formats: Partial<
    Record<ConversionTarget, { model: Uint8Array; report: VerificationReport; files: PipelineFileBytes }>
  >;
  /** Set when the job must fail; formats is then empty. */
  failure?: { step: ConversionStep; target?: ConversionTarget; message: string };
}

/** Progress weights: the source check is one share, each target three (convert, verify, files). */
function progressScale(targets: number) {
  const total = 1 + targets * 3;
  return (done: number) => 0.05 + 0.85 * (done / total);
}

export async function runConversionPipeline(
  input: PipelineInput,
  onProgress: (progress: PipelineProgress) => void,
): Promise<PipelineOutput> {
  const { job, source, sourceBytes } = input;
  const at = progressScale(job.targets.length);
  const primaryShape = shapeKey(job.primary);

  onProgress({ step: "contract", progress: at(0), message: `checking the original at ${job.shapes.length} shapes` });
  const tokenizer = input.tokenizerJson === undefined ? {} : { tokenizerJson: input.tokenizerJson };
  const checked = await verifySourceModel({
    source,
    bytes: sourceBytes,
    shapes: job.shapes,
    primary: job.primary,
    ...tokenizer,
  });
  const sourceFiles: Partial<PipelineFileBytes> = {};
  if (checked.contract) {
    const files = buildDeploymentFiles({
      source,
      contract: checked.contract,
      onnx: { uri: source.artifact.uri, sha256: source.artifact.sha256, bytes: source.artifact.bytes },
      verificationReport: checked.report,
      gatesOk: checked.report.gates_ok,
      uriFor: input.uriFor,
    });
    Object.assign(sourceFiles, files);
    delete (sourceFiles as Record<string, unknown>).manifest;
    delete (sourceFiles as Record<string, unknown>).runtimeConfig;
  } else {
    sourceFiles.verification_report = new TextEncoder().encode(`${JSON.stringify(checked.report, null, 2)}\n`);
  }
  const sourceOutput = { report: checked.report, primaryShape, files: sourceFiles };
  if (!checked.report.gates_ok || checked.contract === undefined) {
    const failed = checked.report.gates.filter((gate) => gate.level === "must_pass" && !gate.passed);
    return {
      source: sourceOutput,
      formats: {},
      failure: {
        step: "contract",
        message: `the original failed must-pass gates: ${failed.map((gate) => `${gate.name} (${gate.detail})`).join("; ")}`,
      },
    };
  }
  const shapeSummary = Object.entries(checked.report.shape_validation)
    .map(([key, shape]) => `${key} ${shape.status}`)
    .join(", ");
  onProgress({ step: "shapes", progress: at(1), message: shapeSummary });

  const formats: PipelineOutput["formats"] = {};
  let done = 1;
  // Loaded once for every target: the source gates passed, so it loads.
  const originalSession = await loadModelSession(sourceBytes);
  if (!originalSession.ok) {
    return { source: sourceOutput, formats: {}, failure: { step: "verify", message: originalSession.error } };
  }
  try {
    for (const target of job.targets) {
      onProgress({ step: "convert", step_detail: target, progress: at(done), message: `converting to ${target}` });
      const converted = convertModel(sourceBytes, target);
      done++;
      if (!converted.ok) {
        return { source: sourceOutput, formats: {}, failure: { step: "convert", target, message: converted.reason } };
      }
      const ratio = converted.stats.sizeRatio.toFixed(3);
      onProgress({
        step: "verify",
        step_detail: target,
        progress: at(done),
        message: `${target} is ${ratio}× the original; comparing with fp32`,
      });
      const verified = await verifyConvertedFormat({
        ...tokenizer,
        source,
        target,
        original: sourceBytes,
        originalSession: originalSession.value,
        converted: converted.bytes,
        sourceContract: checked.contract,
        shapes: job.shapes,
        primary: job.primary,
        ...(job.thresholds === undefined ? {} : { thresholds: job.thresholds }),
      });
      done++;
      if (!verified.ok) {
        return {
          source: sourceOutput,
          formats: {},
          failure: { step: "verify", target, message: verified.error.message },
        };
      }
      const sha256 = sha256Hex(converted.bytes);
      const files = buildDeploymentFiles({
        source,
        // A format whose graph lost declared outputs has no contract of its own; its gates say so.
        contract: verified.value.contract ?? checked.contract,
        onnx: { uri: input.uriFor(sha256), sha256, bytes: converted.bytes.byteLength },
        verificationReport: verified.value.report,
        gatesOk: verified.value.report.gates_ok,
        uriFor: input.uriFor,
      });
      if (files.verification_report === undefined) throw new Error("a format's files always include its report");
      formats[target] = {
        model: converted.bytes,
        report: verified.value.report,
        files: {
          contract: files.contract,
          verification_report: files.verification_report,
          runtime_config: files.runtime_config,
          deployment_manifest: files.deployment_manifest,
        },
      };
      done++;
      const top1 = (verified.value.report.metrics.top1_agreement * 100).toFixed(2);
      onProgress({
        step: "verify",
        step_detail: target,
        progress: at(done),
        message: `${target}: top-1 ${top1}%, gates ${verified.value.report.gates_ok ? "ok" : "failed"}`,
      });
    }
  } finally {
    await originalSession.value.release();
  }
  return { source: sourceOutput, formats };
}
