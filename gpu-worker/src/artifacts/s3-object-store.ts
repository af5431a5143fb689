/** ObjectStore on @aws-sdk/client-s3; path-style addressing by default so MinIO/s3rver/R2 work. */
import { Readable } from "node:stream";
import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client, S3ServiceException } from "@aws-sdk/client-s3";
import type { S3Config } from "../config.js";
import { type ObjectStore, ObjectStoreError, type PutObjectOptions, parseObjectUri } from "./object-store.js";

export function createS3Client(config: S3Config): S3Client {
  return new S3Client({
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
    ...(config.credentials === undefined ? {} : { credentials: config.credentials }),
  });
}

function locate(uri: string) {
  const location = parseObjectUri(uri);
  if (!location) throw new ObjectStoreError("invalid_uri", uri, "not an s3://bucket/key URI");
  return location;
}

function isNotFound(error: unknown): boolean {
  if (error instanceof NoSuchKey) return true;
  return error instanceof S3ServiceException && (error.name === "NotFound" || error.$metadata.httpStatusCode === 404);
}

export class S3ObjectStore implements ObjectStore {
  readonly #client: S3Client;

  constructor(client: S3Client) {
    this.#client = client;
  }

  async getObject(uri: string): Promise<Readable> {
    const { bucket, key } = locate(uri);
    try {
      const response = await this.#client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      // In Node the SDK's body is an http.IncomingMessage, which is a Readable.
      if (!(response.Body instanceof Readable)) {
        throw new ObjectStoreError("unavailable", uri, "object storage returned no readable body");
      }
      return response.Body;
    } catch (error) {
      if (error instanceof ObjectStoreError) throw error;
      if (isNotFound(error)) throw new ObjectStoreError("not_found", uri, "object does not exist", { cause: error });
      const detail = error instanceof Error ? error.message : String(error);
      throw new ObjectStoreError("unavailable", uri, `object storage request failed: ${detail}`, { cause: error });
    }
  }

  async putObject(uri: string, body: Uint8Array | Readable, options: PutObjectOptions = {}): Promise<void> {
    const { bucket, key } = locate(uri);
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentType: options.contentType ?? "application/octet-stream",
          ...(options.contentLength === undefined ? {} : { ContentLength: options.contentLength }),
        }),
      );
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new ObjectStoreError("unavailable", uri, `upload failed: ${detail}`, { cause: error });
    }
  }
}
