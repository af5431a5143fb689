import {
  type OnnxIoReading,
  recordedOnnxIo,
  type UploadSession,
  UploadSessionSchema,
  type VerifiedArtifactRecord,
  VerifiedArtifactRecordSchema,
} from "@modelgate/shared";
import type { z } from "zod";
import { logEvent } from "../logging/edge-log.js";

/**
 * R2 documents beside the registry: upload sessions (`registry/uploads/<id>.json`) and the
 * record that an object's size and sha256 were checked (`registry/artifacts/<sha256>.json`).
 * Keys are built only from validated ids and hex digests, never from raw client input.
 */
const SESSION_PREFIX = "registry/uploads/";
const sessionKey = (id: string) => `${SESSION_PREFIX}${id}.json`;
const verifiedKey = (sha256: string) => `registry/artifacts/${sha256}.json`;

async function readDocument<S extends z.ZodType>(
  bucket: R2Bucket,
  key: string,
  schema: S,
): Promise<z.output<S> | undefined> {
  const object = await bucket.get(key);
  if (!object) return undefined;
  const parsed = schema.safeParse(await object.json());
  if (!parsed.success) {
    // A document this code cannot read is treated as absent (re-verified / re-uploaded), and logged.
    logEvent("error", "unreadable R2 document", { key, problem: parsed.error.message });
    return undefined;
  }
  return parsed.data;
}

const writeDocument = (bucket: R2Bucket, key: string, value: unknown) =>
  bucket.put(key, JSON.stringify(value), { httpMetadata: { contentType: "application/json" } });

export function newUploadId(): string {
  const raw = crypto.getRandomValues(new Uint8Array(12));
  return `upl_${Array.from(raw, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export class UploadSessionStore {
  constructor(private readonly bucket: R2Bucket) {}

  get(id: string): Promise<UploadSession | undefined> {
    return readDocument(this.bucket, sessionKey(id), UploadSessionSchema);
  }

  async put(session: UploadSession): Promise<void> {
    await writeDocument(this.bucket, sessionKey(session.id), UploadSessionSchema.parse(session));
  }

  async delete(id: string): Promise<void> {
    await this.bucket.delete(sessionKey(id));
  }

  /** The ids of stored sessions, a page of at most `limit` at a time (`cursor` from the last page). */
  async listIds(cursor: string | undefined, limit: number): Promise<{ ids: string[]; cursor: string | undefined }> {
    const page = await this.bucket.list({ prefix: SESSION_PREFIX, cursor, limit });
    const ids = page.objects.map((object) => object.key.slice(SESSION_PREFIX.length, -".json".length));
    return { ids, cursor: page.truncated ? page.cursor : undefined };
  }
}

export class VerifiedArtifactStore {
  constructor(private readonly bucket: R2Bucket) {}

  get(sha256: string): Promise<VerifiedArtifactRecord | undefined> {
    return readDocument(this.bucket, verifiedKey(sha256), VerifiedArtifactRecordSchema);
  }

  /** The record when it vouches for exactly this object; anything else means "check S3". */
  async find(artifact: { uri: string; sha256: string; bytes: number }): Promise<VerifiedArtifactRecord | undefined> {
    const record = await this.get(artifact.sha256);
    return record && record.uri === artifact.uri && record.bytes === artifact.bytes ? record : undefined;
  }

  async put(
    artifact: { uri: string; sha256: string; bytes: number },
    onnxIo?: OnnxIoReading,
  ): Promise<VerifiedArtifactRecord> {
    const record: VerifiedArtifactRecord = {
      uri: artifact.uri,
      sha256: artifact.sha256,
      bytes: artifact.bytes,
      verified_at: new Date().toISOString(),
      ...(onnxIo === undefined ? {} : { onnx_io: recordedOnnxIo(onnxIo) }),
    };
    await writeDocument(this.bucket, verifiedKey(artifact.sha256), record);
    return record;
  }

  async delete(sha256: string): Promise<void> {
    await this.bucket.delete(verifiedKey(sha256));
  }
}
