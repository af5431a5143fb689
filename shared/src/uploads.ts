import { z } from "zod";
import { freeText } from "./free-text.js";
import { ArtifactFormatSchema, ArtifactSchema, IoContractSchema, Sha256HexSchema } from "./model-version.js";

/** Upload sessions are named `upl_` + 24 lower-case hex characters; anything else is refused before any lookup. */
export const UploadIdSchema = z.string().regex(/^upl_[0-9a-f]{24}$/, "must be an upload id like upl_0123…");

export const MAX_ARTIFACT_BYTES = 64 * 1024 ** 3;

/** `POST /v1/uploads`: what the client is about to upload. Content-addressed: the sha256 names the object. */
export const CreateUploadRequestSchema = z.strictObject({
  sha256: Sha256HexSchema,
  bytes: z.int().min(1).max(MAX_ARTIFACT_BYTES),
  /** Kept for people reading the session; never part of the object key. */
  filename: freeText({ max: 255, min: 1 })
    .regex(/^[^/\\]+$/, "must be a file name without slashes")
    .optional(),
  format: ArtifactFormatSchema.optional(),
});
export type CreateUploadRequest = z.infer<typeof CreateUploadRequestSchema>;

export const CompletedPartSchema = z.strictObject({
  part_number: z.int().min(1).max(10_000),
  /** The `ETag` header S3 answered the part's PUT with (quotes optional). */
  etag: freeText({ min: 1, max: 256 }),
});
export type CompletedPart = z.infer<typeof CompletedPartSchema>;

/** `POST /v1/uploads/:id/complete`: `parts` is required for multipart uploads, ignored otherwise. */
export const CompleteUploadRequestSchema = z.strictObject({
  parts: z.array(CompletedPartSchema).min(1).max(10_000).optional(),
});
export type CompleteUploadRequest = z.infer<typeof CompleteUploadRequestSchema>;

/** Where an upload's bytes will live; add `format` to get an `Artifact` a registration accepts. */
export const UploadArtifactSchema = ArtifactSchema.pick({ uri: true, sha256: true, bytes: true });
export type UploadArtifact = z.infer<typeof UploadArtifactSchema>;

export const UploadStatusSchema = z.enum(["pending", "complete", "failed", "expired"]);
export type UploadStatus = z.infer<typeof UploadStatusSchema>;

export const UploadMethodSchema = z.enum(["single", "multipart"]);

/** One presigned PUT: send exactly these headers; for multipart, keep the answer's `ETag` for completion. */
export const UploadPartSchema = z.strictObject({
  part_number: z.int().min(1).max(10_000),
  url: z.url(),
  method: z.literal("PUT"),
  headers: z.record(z.string(), z.string()).optional(),
  /** Byte range of the file this part carries: [offset, offset + bytes). */
  offset: z.int().min(0),
  bytes: z.int().min(0),
});
export type UploadPart = z.infer<typeof UploadPartSchema>;

const UploadFailureSchema = z.strictObject({ code: z.string(), detail: z.string() });

/** An upload session as the edge stores it (R2 `registry/uploads/<id>.json`). */
export const UploadSessionSchema = z.strictObject({
  id: UploadIdSchema,
  status: UploadStatusSchema,
  method: UploadMethodSchema.optional(),
  artifact: UploadArtifactSchema,
  filename: z.string().optional(),
  format: ArtifactFormatSchema.optional(),
  /** S3's UploadId of a multipart upload. */
  s3_upload_id: z.string().optional(),
  part_size: z.int().min(1).optional(),
  part_count: z.int().min(1).optional(),
  created_at: z.iso.datetime(),
  created_by: z.string(),
  expires_at: z.iso.datetime().optional(),
  completed_at: z.iso.datetime().optional(),
  failure: UploadFailureSchema.optional(),
});
export type UploadSession = z.infer<typeof UploadSessionSchema>;

/** Every `/v1/uploads` answer. `parts` is non-empty only while the session is pending. */
export const UploadResponseSchema = z.strictObject({
  id: UploadIdSchema,
  status: UploadStatusSchema,
  method: UploadMethodSchema.optional(),
  artifact: UploadArtifactSchema,
  filename: z.string().optional(),
  format: ArtifactFormatSchema.optional(),
  part_size: z.int().min(1).optional(),
  parts: z.array(UploadPartSchema),
  expires_at: z.iso.datetime().optional(),
  completed_at: z.iso.datetime().optional(),
  failure: UploadFailureSchema.optional(),
});
export type UploadResponse = z.infer<typeof UploadResponseSchema>;

/** Written once an object's size and sha256 were checked (R2 `registry/artifacts/<sha256>.json`). */
/**
 * What the object's ONNX graph takes and returns, read while it was hashed (registration reads
 * a version's io contract from it), or why it could not be read (not ONNX, an unsupported type).
 */
export const RecordedOnnxIoSchema = z.union([
  z.strictObject({ io: IoContractSchema, ir_version: z.int().min(1) }),
  z.strictObject({ unreadable: z.string().max(2000) }),
]);
export type RecordedOnnxIo = z.infer<typeof RecordedOnnxIoSchema>;

export const VerifiedArtifactRecordSchema = z.strictObject({
  uri: z.string(),
  sha256: Sha256HexSchema,
  bytes: z.int().min(1),
  verified_at: z.iso.datetime(),
  /** Absent in records written before the io was read; registration then reads it with range requests. */
  onnx_io: RecordedOnnxIoSchema.optional(),
});
export type VerifiedArtifactRecord = z.infer<typeof VerifiedArtifactRecordSchema>;

/** `bytes` split into parts of `partSize` (the last one shorter); S3 allows at most 10 000 parts. */
export function planUploadParts(
  bytes: number,
  partSize: number,
): Array<{ part_number: number; offset: number; bytes: number }> {
  const count = Math.max(1, Math.ceil(bytes / partSize));
  return Array.from({ length: count }, (_, index) => {
    const offset = index * partSize;
    return { part_number: index + 1, offset, bytes: Math.min(partSize, bytes - offset) };
  });
}
