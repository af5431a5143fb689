/**
 * One entry point for model format conversions: ONNX bytes in, converted ONNX bytes (or the reason
 * there are none) out. Expected failures (not an ONNX model, no graph, an unknown target, a model
 * a pass cannot handle) are values, per the project's error rule; callers decide what to surface.
 *
 * Conversion is deterministic: it reads nothing but its input, walks the graph in file order and
 * protobufjs encodes fields in declaration order, so the same input gives the same bytes.
 */
import { type OnnxTypes, onnx, parseModel, serializeModel } from "../onnx/onnx-graph-builder.js";
import { convertToFp16, type PassStats } from "./convert-to-fp16.js";
import { findGraphProblem } from "./graph-analysis.js";
import { quantizeInt4 } from "./quantize-int4.js";
import { quantizeInt8 } from "./quantize-int8.js";

export const CONVERSION_TARGETS = ["fp16", "int8", "int4"] as const;
export type ConversionTarget = (typeof CONVERSION_TARGETS)[number];

export interface ConversionStats extends PassStats {
  target: ConversionTarget;
  inputBytes: number;
  outputBytes: number;
  /** outputBytes / inputBytes */
  sizeRatio: number;
  durationMs: number;
}

export type ConversionOutcome = { ok: true; bytes: Uint8Array; stats: ConversionStats } | { ok: false; reason: string };

/** Written into metadata_props so that a converted file says what it is. */
export const CONVERSION_METADATA_KEY = "modelgate_conversion";

const fail = (reason: string): ConversionOutcome => ({ ok: false, reason });

function isTarget(target: string): target is ConversionTarget {
  return (CONVERSION_TARGETS as readonly string[]).includes(target);
}

function decode(bytes: Uint8Array): OnnxTypes.ModelProto | string {
  if (bytes.byteLength === 0) return "not a valid ONNX model: the input is empty";
  let model: OnnxTypes.ModelProto;
  try {
    model = parseModel(bytes);
  } catch (error) {
    return `not a valid ONNX model: ${error instanceof Error ? error.message : String(error)}`;
  }
  // Protobuf decoding is lenient: random bytes can decode into a message with unknown fields
  // only. A real model always declares its IR version and at least one opset.
  if (!model.irVersion || (model.opsetImport ?? []).length === 0) {
    return "not a valid ONNX model: no ir_version or opset_import";
  }
  if (!model.graph) return "the ONNX model has no graph";
  const problem = findGraphProblem(model.graph);
  if (problem) return `the ONNX graph is not usable: ${problem}`;
  if ((model.graph.sparseInitializer ?? []).length > 0) return "models with sparse initializers are not supported";
  return model;
}

function runPass(model: OnnxTypes.ModelProto, target: ConversionTarget): PassStats | { reason: string } {
  switch (target) {
    case "fp16":
      return convertToFp16(model);
    case "int8":
      return quantizeInt8(model);
    case "int4":
      return quantizeInt4(model);
  }
}

export function convertModel(bytes: Uint8Array, target: ConversionTarget | string): ConversionOutcome {
  const started = performance.now();
  if (!isTarget(target)) {
    return fail(`unknown conversion target '${target}' (expected one of ${CONVERSION_TARGETS.join(", ")})`);
  }
  const model = decode(bytes);
  if (typeof model === "string") return fail(model);
  const outputNames = (model.graph?.output ?? []).map((output) => output.name ?? "");

  let stats: PassStats | { reason: string };
  try {
    stats = runPass(model, target);
  } catch (error) {
    // A tensor whose raw_data does not match its dims, an unsupported data type, ...: the file
    // parsed but is not a model these passes can rewrite.
    return fail(`cannot convert to ${target}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if ("reason" in stats) return fail(`cannot convert to ${target}: ${stats.reason}`);

  const after = (model.graph?.output ?? []).map((output) => output.name ?? "");
  if (after.join("\u0000") !== outputNames.join("\u0000")) {
    return fail(`cannot convert to ${target}: the graph outputs changed (an internal error)`);
  }
  model.metadataProps = [
    ...(model.metadataProps ?? []).filter((entry) => entry.key !== CONVERSION_METADATA_KEY),
    onnx.StringStringEntryProto.create({ key: CONVERSION_METADATA_KEY, value: target }),
  ];
  const output = serializeModel(model);
  return {
    ok: true,
    bytes: output,
    stats: {
      target,
      inputBytes: bytes.byteLength,
      outputBytes: output.byteLength,
      sizeRatio: output.byteLength / bytes.byteLength,
      convertedInitializers: stats.convertedInitializers,
      keptFp32Ops: stats.keptFp32Ops,
      durationMs: performance.now() - started,
    },
  };
}
