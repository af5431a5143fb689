import { z } from "zod";
import type { ArtifactFormatSchema } from "../artifact.js";

/**
 * What a version can be converted to (seed 003's quantization levels, on ONNX): fp16 weights and
 * compute, int8 weight-only (per-channel DequantizeLinear), int4 block-wise (MatMulNBits, block 32).
 */
export const ConversionTargetSchema = z.enum(["fp16", "int8", "int4"]);
export type ConversionTarget = z.infer<typeof ConversionTargetSchema>;
export const CONVERSION_TARGETS: readonly ConversionTarget[] = ConversionTargetSchema.options;

/** The artifact format a converted file is registered with. */
export const ARTIFACT_FORMAT_BY_TARGET: Readonly<Record<ConversionTarget, z.infer<typeof ArtifactFormatSchema>>> = {
  fp16: "onnx-fp16",
  int8: "onnx-int8",
  int4: "onnx-int4",
};

/**
 * How a request names a format after the version: `name@3:int8`. `fp32` is the registered
 * original; `best` is the most preferred format whose must-pass gates passed.
 */
export const FormatSelectorSchema = z.enum(["fp32", "fp16", "int8", "int4", "best"]);
export type FormatSelector = z.infer<typeof FormatSelectorSchema>;

/**
 * `best` prefers fp16 (GPU-native, closest to the original), then int8, then int4, then the
 * original: smaller formats only when the closer ones were not converted or failed.
 */
export const BEST_FORMAT_PREFERENCE: readonly ConversionTarget[] = ["fp16", "int8", "int4"];

/** Sequence lengths are named `T<n>` in contracts, as in seed 001 (`T1024`). */
export function shapeKey(sequenceLength: number): string {
  return `T${sequenceLength}`;
}
