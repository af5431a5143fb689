import {
  BEST_FORMAT_PREFERENCE,
  type ConversionTarget,
  type ConvertedFormat,
  err,
  estimateModelMemoryMb,
  type FormatSelector,
  ModelgateError,
  type ModelVersion,
  ok,
  type Result,
} from "@modelgate/shared";

/**
 * Which of a version's formats a request is served (`name@3:int8`), as the version document a
 * worker receives: `artifact` is the served file, `memory_mb` fits it, and `serving_format`
 * names the converted format served (absent for the registered original). The conversion
 * bookkeeping (`converted_formats`, `verification`) stays behind: a worker loads one artifact
 * and has no use for the rest, and every forwarded body would carry it.
 */
export function servedTarget(
  version: ModelVersion,
  format: FormatSelector | undefined,
  field: string,
): Result<ModelVersion> {
  const converted = version.converted_formats ?? {};
  switch (format) {
    case "fp32":
      return ok(asServed(version, undefined));
    case "best": {
      // BEST_FORMAT_PREFERENCE is ordered closest-to-original first; nothing passed → the original.
      const best = BEST_FORMAT_PREFERENCE.find((target) => converted[target]?.gates_ok === true);
      return ok(asServed(version, best));
    }
    case undefined: {
      // Promotion only sets a serving format that passed, and a failed re-run clears it; checking
      // again costs nothing and keeps a failed format unservable whatever the record says.
      const serving = version.serving_format;
      const usable = serving !== undefined && converted[serving]?.gates_ok === true;
      return ok(asServed(version, usable ? serving : undefined));
    }
    default:
      return requestedFormat(version, format, field);
  }
}

function requestedFormat(version: ModelVersion, target: ConversionTarget, field: string): Result<ModelVersion> {
  const reference = `${version.name}@${version.version}`;
  const format = version.converted_formats?.[target];
  if (format === undefined) {
    return err(
      new ModelgateError("not_found", `${reference} has no ${target} format.`, [
        { field, message: `formats of ${reference}: ${describeFormats(version)}` },
      ]),
    );
  }
  if (!format.gates_ok) {
    const gates = format.must_pass_failed.join(", ") || "(unnamed)";
    return err(
      new ModelgateError("gate_failed", `${reference}:${target} failed must-pass gates ${gates} and is not served.`, [
        { field, message: `${target} failed must-pass gates: ${gates}` },
      ]),
    );
  }
  return ok(asServed(version, target));
}

/** `fp32 (original), int8, int4 (failed gates)`: what a caller could ask for instead. */
function describeFormats(version: ModelVersion): string {
  const converted = Object.values(version.converted_formats ?? {}).filter(
    (format): format is ConvertedFormat => format !== undefined,
  );
  return ["fp32 (original)", ...converted.map((f) => (f.gates_ok ? f.target : `${f.target} (failed gates)`))].join(
    ", ",
  );
}

function asServed(version: ModelVersion, target: ConversionTarget | undefined): ModelVersion {
  const {
    converted_formats: converted,
    verification: _verification,
    serving_format: _serving,
    evaluations: _evaluations,
    ...original
  } = version;
  const format = target === undefined ? undefined : converted?.[target];
  if (target === undefined || format === undefined) return original;
  return {
    ...original,
    artifact: format.artifact,
    memory_mb: convertedMemoryMb(version, format.artifact.bytes),
    serving_format: target,
  };
}

/**
 * GPU memory for a converted artifact: the weights part follows the converted size (the same
 * estimate a registration without `memory_mb` gets), and whatever the registration declared
 * beyond the original's estimate (KV cache, activations someone measured) carries over, since
 * converting the weights does not shrink it.
 */
export function convertedMemoryMb(version: Pick<ModelVersion, "memory_mb" | "artifact">, bytes: number): number {
  const declaredExtra = Math.max(0, version.memory_mb - estimateModelMemoryMb(version.artifact.bytes));
  return estimateModelMemoryMb(bytes) + declaredExtra;
}

/** How the served version reads in `x-modelgate-model`: `name@3`, or `name@3:int8` for a converted format. */
export function servedModelName(version: Pick<ModelVersion, "name" | "version" | "serving_format">): string {
  const format = version.serving_format === undefined ? "" : `:${version.serving_format}`;
  return `${version.name}@${version.version}${format}`;
}
