/**
 * Verifies a converted format against the fp32 original (seed 001's verification step): both run
 * on the same seeded inputs (compare-outputs.ts), the converted model's own shapes are enumerated
 * and its contract read, and the result is judged by the format's gates (verification-gates.ts)
 * into a `VerificationReport`.
 */
import {
  type ConversionTarget,
  err,
  type FormatThresholdOverrides,
  type GateSummary,
  type ModelContract,
  type ModelVersion,
  ok,
  type Result,
  thresholdsFor,
  type VerificationMetrics,
  type VerificationReport,
  VerificationReportSchema,
} from "@modelgate/shared";
import type * as ort from "onnxruntime-node";
import { compareSessions } from "./compare-outputs.js";
import { extractModelContract } from "./model-contract.js";
import { enumerateSessionShapes, loadModelSession, type SessionOptions } from "./shape-enumeration.js";
import { formatGates, sha256Hex } from "./verification-gates.js";

// Callers may take the whole verification step from here.
export { type Comparison, type ComparisonOptions, compareSessions, DEFAULT_VERIFY_SEED } from "./compare-outputs.js";
export { formatGates, sourceGates } from "./verification-gates.js";

export interface VerifyFormatInput {
  source: ModelVersion;
  target: ConversionTarget;
  original: Uint8Array;
  /**
   * The original already loaded (the pipeline loads it once for every target; a multi-gigabyte
   * model should not be loaded per format). Owned by the caller: not released here.
   */
  originalSession?: ort.InferenceSession;
  converted: Uint8Array;
  /** The original's contract: its output names, halt head and shape runs are what the format must keep. */
  sourceContract: ModelContract;
  shapes: readonly number[];
  primary: number;
  thresholds?: FormatThresholdOverrides;
  seed?: number;
  samples?: number;
  latencyRuns?: number;
  sessionOptions?: SessionOptions;
  tokenizerJson?: string;
  now?: Date;
}

export interface VerifiedFormat {
  report: VerificationReport;
  /** The converted format's own contract; undefined when its graph lost declared io (a failed gate). */
  contract: ModelContract | undefined;
  warnings: string[];
}

/** Why no report could be made (nothing measurable), with the gates as far as they got. */
export interface FailedVerification {
  message: string;
  gates: GateSummary;
}

/**
 * The converted format's full verification. A report is made whenever the models ran side by
 * side (its gates may still fail); when the converted model does not load or run, the failure
 * carries the gates so the job can say which must-pass gate stopped it.
 */
export async function verifyConvertedFormat(
  input: VerifyFormatInput,
): Promise<Result<VerifiedFormat, FailedVerification>> {
  const thresholds = thresholdsFor(input.target, input.thresholds);
  const base = { target: input.target, thresholds, sourceContract: input.sourceContract, primary: input.primary };
  const conversion = { completed: true as const, bytes: input.converted.byteLength };
  const original: Result<ort.InferenceSession, string> = input.originalSession
    ? ok(input.originalSession)
    : await loadModelSession(input.original, input.sessionOptions);
  if (!original.ok) {
    const message = `the fp32 original does not load: ${original.error}`;
    return err({ message, gates: formatGates({ ...base, conversion, load: { loaded: false, error: message } }) });
  }
  const converted = await loadModelSession(input.converted, input.sessionOptions);
  try {
    if (!converted.ok) {
      const message = `the ${input.target} model does not load: ${converted.error}`;
      return err({
        message,
        gates: formatGates({ ...base, conversion, load: { loaded: false, error: converted.error } }),
      });
    }
    const kind = input.source.kind;
    const vocabSize = input.sourceContract.model_arch.vocab_size;
    const feedOptions = typeof vocabSize === "number" ? { vocabSize } : {};
    const comparison = await compareSessions(original.value, converted.value, {
      kind,
      primary: input.primary,
      ...feedOptions,
      ...(input.seed === undefined ? {} : { seed: input.seed }),
      ...(input.samples === undefined ? {} : { samples: input.samples }),
      ...(input.latencyRuns === undefined ? {} : { latencyRuns: input.latencyRuns }),
    });
    const maxSize = kind === "tensor" ? undefined : input.source.max_context_tokens;
    const shapes = await enumerateSessionShapes(converted.value, kind, input.shapes, {
      ...feedOptions,
      ...(maxSize === undefined ? {} : { maxSize }),
    });
    const extraction = extractModelContract(input.converted, input.source, input.target, shapes, input.primary, {
      ...(input.tokenizerJson === undefined ? {} : { tokenizerJson: input.tokenizerJson }),
      ...(input.now === undefined ? {} : { now: input.now }),
    });
    const convertedOutputs = extraction.ok
      ? { ok: true as const, outputs: extraction.value.contract.outputs }
      : { ok: false as const, error: extraction.error.message };
    const common = { ...base, conversion, load: { loaded: true as const }, convertedOutputs, convertedShapes: shapes };
    if (!comparison.ok) {
      return err({ message: comparison.error, gates: formatGates(common) });
    }
    const metrics: VerificationMetrics = {
      ...comparison.value.metrics,
      size_ratio: input.converted.byteLength / input.original.byteLength,
    };
    const gates = formatGates({ ...common, metrics });
    const report = VerificationReportSchema.parse({
      schema: "modelgate.verification/v1",
      model: input.source.name,
      version: input.source.version,
      target: input.target,
      source_sha256: sha256Hex(input.original),
      converted_sha256: sha256Hex(input.converted),
      inputs: comparison.value.inputs,
      metrics,
      thresholds,
      shape_validation: shapes,
      ...gates,
      generated_at: (input.now ?? new Date()).toISOString(),
    } satisfies VerificationReport);
    return ok({
      report,
      contract: extraction.ok ? extraction.value.contract : undefined,
      warnings: extraction.ok ? extraction.value.warnings : [extraction.error.message],
    });
  } finally {
    if (input.originalSession === undefined) await original.value.release();
    if (converted.ok) await converted.value.release();
  }
}
