import { z } from "zod";
import { freeText } from "./free-text.js";

export const Sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lower-case hex characters (sha256)");

export const ArtifactFormatSchema = z.enum(["onnx", "onnx-fp16", "onnx-int8", "onnx-int4"]);

/** An immutable file in object storage; `sha256` is checked every time a worker loads it. */
export const ArtifactSchema = z.strictObject({
  uri: z.string().regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.+$/, "must be an s3://bucket/key URI"),
  sha256: Sha256HexSchema,
  bytes: z
    .int()
    .min(1)
    .max(64 * 1024 ** 3),
  format: ArtifactFormatSchema,
});
export type Artifact = z.infer<typeof ArtifactSchema>;

/** ONNX element types a contract can name (onnxruntime's tensor type names; `string` is ONNX STRING, V2 BYTES). */
export const TensorDtypeSchema = z.enum([
  "float32",
  "float16",
  "int64",
  "int32",
  "bool",
  "uint8",
  "int8",
  "float64",
  "int16",
  "uint16",
  "uint32",
  "uint64",
  "string",
]);
export type TensorDtype = z.infer<typeof TensorDtypeSchema>;

/** A dimension is a fixed size or a named dynamic axis (`batch`, `sequence`). */
export const TensorSpecSchema = z.strictObject({
  name: freeText({ min: 1, max: 256 }),
  dtype: TensorDtypeSchema,
  shape: z.array(z.union([z.int().min(1), freeText({ min: 1, max: 64 })])).max(8),
});
export type TensorSpec = z.infer<typeof TensorSpecSchema>;

/** A file that travels with a model (tokenizer.json, tokenizer_config.json), checked like the artifact. */
export const ModelFileSchema = ArtifactSchema.omit({ format: true });
export type ModelFile = z.infer<typeof ModelFileSchema>;
