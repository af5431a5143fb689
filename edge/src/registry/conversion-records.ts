import {
  ARTIFACT_FORMAT_BY_TARGET,
  CONVERSION_TARGETS,
  type ConversionTarget,
  type ConvertedFormat,
  type ConvertedFormats,
  err,
  type FieldProblem,
  ModelgateError,
  type ModelRecord,
  type ModelVersion,
  ok,
  type Result,
  type SourceVerification,
  type VersionMetadata,
  versionMetadataOf,
} from "@modelgate/shared";
import { liveVersion, type NewEvent, type WriteContext, withEvents } from "./registry-mutations.js";

/** A finished conversion job's outcome for one version, as the job queue hands it over. */
export interface ConversionOutcome {
  job_id: string;
  source_verification: SourceVerification;
  formats: ConvertedFormats;
}

/** A job that only checked the registered original (contract, load, shapes). */
export interface SourceVerificationOutcome {
  job_id: string;
  source_verification: SourceVerification;
}

export interface ConversionRecord {
  record: ModelRecord;
  version: ModelVersion;
  /** Set when the `formats` labels changed: the new metadata revision to store beside the record. */
  metadata?: VersionMetadata | undefined;
}

/** The formats a conversion names, in the fixed target order (so events read the same every time). */
export function recordedFormats(formats: ConvertedFormats): [ConversionTarget, ConvertedFormat][] {
  return CONVERSION_TARGETS.flatMap((target) => {
    const format = formats[target];
    return format === undefined ? [] : [[target, format] as [ConversionTarget, ConvertedFormat]];
  });
}

/** A format filed under another target, or with another artifact format, would be served as something it is not. */
function checkFormats(formats: ConvertedFormats): Result<void> {
  const problems: FieldProblem[] = [];
  for (const [target, format] of recordedFormats(formats)) {
    if (format.target !== target) {
      problems.push({ field: `formats.${target}.target`, message: `must be ${target}, the key it is filed under` });
    }
    if (format.artifact.format !== ARTIFACT_FORMAT_BY_TARGET[target]) {
      problems.push({
        field: `formats.${target}.artifact.format`,
        message: `must be ${ARTIFACT_FORMAT_BY_TARGET[target]}`,
      });
    }
  }
  if (problems.length === 0) return ok(undefined);
  return err(new ModelgateError("validation_failed", "The converted formats do not match their targets.", problems));
}

function verificationEvent(version: number, jobId: string, verification: SourceVerification): NewEvent {
  const failed = verification.must_pass_failed;
  return {
    action: "verification_recorded",
    version,
    job_id: jobId,
    reason: verification.gates_ok
      ? `must-pass gates passed at ${verification.primary_shape}`
      : `must-pass gates failed: ${failed.join(", ")}`,
    ...(verification.gates_ok ? {} : { gates_failed: failed }),
  };
}

/** Label lists hold at most 16 entries; a full list keeps its labels rather than failing the whole record. */
const MAX_FORMAT_LABELS = 16;

/**
 * The version's `formats` labels after a conversion: the artifact format of each converted
 * format whose must-pass gates passed is added (`onnx-int8`), and a re-run that failed removes
 * its label, so the labels always say what the registry can serve.
 */
function nextFormatLabels(labels: readonly string[], formats: [ConversionTarget, ConvertedFormat][]): string[] {
  let next = [...labels];
  for (const [target, format] of formats) {
    const label = ARTIFACT_FORMAT_BY_TARGET[target];
    if (!format.gates_ok) next = next.filter((existing) => existing !== label);
    else if (!next.includes(label) && next.length < MAX_FORMAT_LABELS) next.push(label);
  }
  return next;
}

/** Already recorded: a job queue that delivers twice (a lost acknowledgement) must not double the history. */
function alreadyRecorded(target: ModelVersion, outcome: ConversionOutcome): boolean {
  if (target.verification?.job_id !== outcome.job_id) return false;
  return recordedFormats(outcome.formats).every(([key, f]) => target.converted_formats?.[key]?.job_id === f.job_id);
}

/**
 * Records a finished conversion on a version: the original's verification, the converted
 * formats (a re-run of a target replaces the earlier one, failed or not), the format labels,
 * and one history event per format plus one for the verification. When the format served by
 * default is replaced by one that failed its gates, the version falls back to serving its
 * original: a failed format is never served.
 */
export function recordConversion(
  current: ModelRecord | undefined,
  name: string,
  number: number,
  outcome: ConversionOutcome,
  context: WriteContext,
): Result<ConversionRecord> {
  const found = liveVersion(current, name, number);
  if (!found.ok) return found;
  const { record, target } = found.value;
  const checked = checkFormats(outcome.formats);
  if (!checked.ok) return checked;
  if (alreadyRecorded(target, outcome)) return ok({ record, version: target });
  const formats = recordedFormats(outcome.formats);
  const labels = nextFormatLabels(target.formats, formats);
  const labelsChanged = labels.join("\n") !== target.formats.join("\n");
  const metadataRevision = labelsChanged ? target.metadata_revision + 1 : target.metadata_revision;
  const servingFailed = formats.some(([key, f]) => key === target.serving_format && !f.gates_ok);
  const { serving_format: servingFormat, ...rest } = target;
  const version: ModelVersion = {
    ...rest,
    ...(servingFailed || servingFormat === undefined ? {} : { serving_format: servingFormat }),
    verification: outcome.source_verification,
    converted_formats: { ...target.converted_formats, ...outcome.formats },
    formats: labels,
    metadata_revision: metadataRevision,
    updated_at: context.at,
  };
  const events: NewEvent[] = [verificationEvent(number, outcome.job_id, outcome.source_verification)];
  for (const [key, format] of formats) {
    const failed = format.must_pass_failed;
    const fallback = key === target.serving_format && !format.gates_ok ? "; no longer the serving format" : "";
    events.push({
      action: "conversion_recorded",
      version: number,
      format: key,
      job_id: format.job_id,
      reason: format.gates_ok
        ? `${key} passed its must-pass gates (${format.artifact.bytes} bytes)`
        : `${key} failed must-pass gates: ${failed.join(", ")}${fallback}`,
      ...(format.gates_ok ? {} : { gates_failed: failed }),
      ...(labelsChanged ? { metadata_revision: metadataRevision } : {}),
    });
  }
  const versions = record.versions.map((v) => (v.version === number ? version : v));
  return ok({
    record: withEvents({ ...record, versions }, context, events),
    version,
    metadata: labelsChanged ? versionMetadataOf(version) : undefined,
  });
}

/** Records the original's own verification alone (a job that converted nothing). */
export function recordSourceVerification(
  current: ModelRecord | undefined,
  name: string,
  number: number,
  outcome: SourceVerificationOutcome,
  context: WriteContext,
): Result<ModelRecord> {
  const found = liveVersion(current, name, number);
  if (!found.ok) return found;
  const { record, target } = found.value;
  if (target.verification?.job_id === outcome.job_id) return ok(record);
  const version: ModelVersion = { ...target, verification: outcome.source_verification, updated_at: context.at };
  const versions = record.versions.map((v) => (v.version === number ? version : v));
  return ok(
    withEvents({ ...record, versions }, context, [
      verificationEvent(number, outcome.job_id, outcome.source_verification),
    ]),
  );
}
