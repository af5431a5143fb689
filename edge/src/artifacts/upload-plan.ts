import {
  type CompletedPart,
  ModelgateError,
  planUploadParts,
  type UploadPart,
  type UploadSession,
} from "@modelgate/shared";
import type { S3ArtifactStore } from "./s3-artifact-store.js";

/** S3 allows at most 10 000 parts, so a huge file gets bigger parts than configured. */
const MAX_PARTS = 10_000;

export function partSizeFor(bytes: number, configuredPartBytes: number): number {
  return Math.max(configuredPartBytes, Math.ceil(bytes / MAX_PARTS));
}

const base64OfHex = (hex: string) =>
  btoa(String.fromCharCode(...(hex.match(/../g) ?? []).map((h) => Number.parseInt(h, 16))));

/**
 * Presigned PUTs for a pending session, valid for `ttlSeconds`. A single PUT carries a signed
 * `x-amz-checksum-sha256`, so S3 itself refuses content with another digest; multipart parts
 * cannot (their digests are unknown in advance) and rely on the check at completion.
 */
export async function presignSessionParts(
  store: S3ArtifactStore,
  session: UploadSession,
  ttlSeconds: number,
): Promise<UploadPart[]> {
  const key = store.keyForSha256(session.artifact.sha256);
  const { bytes, sha256 } = session.artifact;
  if (session.method !== "multipart") {
    const headers = { "x-amz-checksum-sha256": base64OfHex(sha256) };
    const url = await store.s3.presignPut(key, { ttlSeconds, headers });
    return [{ part_number: 1, url, method: "PUT", headers, offset: 0, bytes }];
  }
  const uploadId = session.s3_upload_id ?? "";
  const partSize = session.part_size ?? bytes;
  return Promise.all(
    planUploadParts(bytes, partSize).map(async (part) => ({
      ...part,
      method: "PUT" as const,
      url: await store.s3.presignPut(key, {
        ttlSeconds,
        query: { partNumber: String(part.part_number), uploadId },
      }),
    })),
  );
}

/** Every part exactly once, numbered 1…count: checked here because not every S3 checks it. */
export function checkCompletedParts(parts: CompletedPart[] | undefined, partCount: number): CompletedPart[] {
  if (parts === undefined) {
    throw new ModelgateError("validation_failed", "A multipart upload is completed with the ETag of every part.", [
      { field: "parts", message: `required: ${partCount} parts as [{ part_number, etag }]` },
    ]);
  }
  const numbers = new Set(parts.map((part) => part.part_number));
  const complete =
    numbers.size === parts.length && parts.length === partCount && [...numbers].every((n) => n <= partCount);
  if (!complete) {
    throw new ModelgateError("validation_failed", `Send each of the ${partCount} parts exactly once.`, [
      { field: "parts", message: `must list part_number 1 to ${partCount}, each once` },
    ]);
  }
  return parts;
}
