/** A real S3 API on 127.0.0.1 (s3rver) in a temp dir, plus helpers to upload reference models. */
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DeleteObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { Artifact } from "@modelgate/shared";
import S3rver from "s3rver";

export const TEST_BUCKET = "modelgate-test";

export interface LocalS3 {
  endpoint: string;
  bucket: string;
  client: S3Client;
  /** Uploads bytes under a content-addressed key and returns the registry artifact for them. */
  upload(name: string, bytes: Uint8Array): Promise<Artifact>;
  remove(artifact: Artifact): Promise<void>;
  /** Stops the server (the S3 API becomes unreachable); idempotent. */
  stop(): Promise<void>;
  close(): Promise<void>;
}

export async function startLocalS3(): Promise<LocalS3> {
  const directory = await mkdtemp(join(tmpdir(), "modelgate-s3rver-"));
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: TEST_BUCKET }],
  });
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  const client = new S3Client({
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // Keep-alive sockets from S3 clients would hold close() open; s3rver keeps its server here.
    const httpServer: unknown = Reflect.get(server, "httpServer");
    if (httpServer instanceof Server) httpServer.closeAllConnections();
    await server.close();
  };
  return {
    endpoint,
    bucket: TEST_BUCKET,
    client,
    async upload(name, bytes) {
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      const key = `models/${name}/${sha256}.onnx`;
      await client.send(new PutObjectCommand({ Bucket: TEST_BUCKET, Key: key, Body: bytes }));
      return { uri: `s3://${TEST_BUCKET}/${key}`, sha256, bytes: bytes.byteLength, format: "onnx" };
    },
    async remove(artifact) {
      const key = artifact.uri.replace(`s3://${TEST_BUCKET}/`, "");
      await client.send(new DeleteObjectCommand({ Bucket: TEST_BUCKET, Key: key }));
    },
    stop,
    async close() {
      client.destroy();
      await stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
