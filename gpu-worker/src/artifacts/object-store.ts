/** The worker's view of object storage: read an artifact as a stream, write one (conversion outputs). */
import type { Readable } from "node:stream";

export interface ObjectLocation {
  bucket: string;
  key: string;
}

/** `s3://bucket/some/key` → { bucket, key }; undefined for anything else. */
export function parseObjectUri(uri: string): ObjectLocation | undefined {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/.exec(uri);
  if (!match?.[1] || !match[2]) return undefined;
  return { bucket: match[1], key: match[2] };
}

export type ObjectStoreFailure = "not_found" | "unavailable" | "invalid_uri";

/** What an adapter throws; the artifact cache turns it into a result value. */
export class ObjectStoreError extends Error {
  readonly failure: ObjectStoreFailure;
  readonly uri: string;

  constructor(failure: ObjectStoreFailure, uri: string, detail: string, options?: { cause?: unknown }) {
    super(`${uri}: ${detail}`, options);
    this.name = "ObjectStoreError";
    this.failure = failure;
    this.uri = uri;
  }
}

export interface PutObjectOptions {
  contentType?: string;
  /** Required by S3 when `body` is a stream. */
  contentLength?: number;
}

export interface ObjectStore {
  /** Opens the object for reading; throws `ObjectStoreError` when it is missing or unreachable. */
  getObject(uri: string): Promise<Readable>;
  putObject(uri: string, body: Uint8Array | Readable, options?: PutObjectOptions): Promise<void>;
}
