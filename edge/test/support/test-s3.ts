import { env } from "cloudflare:test";
import type { Artifact } from "@modelgate/shared";
import { AwsClient } from "aws4fetch";
import { contentAddressedKey } from "./test-artifacts.js";

/** Talks to the tests' s3rver directly from inside workerd, with the same settings the edge has. */
function s3(): { aws: AwsClient; base: string; bucket: string } {
  const endpoint = env.MODELGATE_S3_ENDPOINT;
  const bucket = env.MODELGATE_S3_BUCKET;
  if (!endpoint || !bucket) throw new Error("edge/vitest.config.ts did not bind MODELGATE_S3_*");
  const aws = new AwsClient({
    accessKeyId: env.MODELGATE_S3_ACCESS_KEY_ID ?? "",
    secretAccessKey: env.MODELGATE_S3_SECRET_ACCESS_KEY ?? "",
    service: "s3",
    region: env.MODELGATE_S3_REGION ?? "us-east-1",
    retries: 0,
  });
  return { aws, base: `${endpoint}/${bucket}`, bucket };
}

const toHex = (buffer: ArrayBuffer) =>
  Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");

export async function sha256Of(content: Uint8Array | string): Promise<string> {
  const body = typeof content === "string" ? new TextEncoder().encode(content) : content;
  return toHex(await crypto.subtle.digest("SHA-256", body));
}

/** Stores `content` at `key` in the test bucket, as an uploader would, bypassing the edge. */
export async function putTestObject(key: string, content: Uint8Array | string): Promise<string> {
  const { aws, base, bucket } = s3();
  const body = typeof content === "string" ? new TextEncoder().encode(content) : content;
  const response = await aws.fetch(`${base}/${key}`, { method: "PUT", body });
  if (!response.ok) throw new Error(`PUT ${key} failed: ${response.status} ${await response.text()}`);
  await response.body?.cancel();
  return `s3://${bucket}/${key}`;
}

/**
 * Puts `content` into S3 under its content-addressed key and returns the artifact a
 * registration may reference: for tests that need an artifact of their own (a new sha256).
 */
export async function putTestArtifact(content: Uint8Array | string): Promise<Artifact> {
  const body = typeof content === "string" ? new TextEncoder().encode(content) : content;
  const sha256 = await sha256Of(body);
  const uri = await putTestObject(contentAddressedKey(sha256), body);
  return { uri, sha256, bytes: body.byteLength, format: "onnx" };
}

/** The object's bytes, or `undefined` when S3 has no such object. */
export async function getTestObject(key: string): Promise<Uint8Array | undefined> {
  const { aws, base } = s3();
  const response = await aws.fetch(`${base}/${key}`, { method: "GET" });
  if (response.status === 404) {
    await response.body?.cancel();
    return undefined;
  }
  if (!response.ok) throw new Error(`GET ${key} failed: ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

export async function deleteTestObject(key: string): Promise<void> {
  const { aws, base } = s3();
  const response = await aws.fetch(`${base}/${key}`, { method: "DELETE" });
  await response.body?.cancel();
}

/** Whether S3 has an object at `key`, by HEAD: what a purge test checks without reading the bytes. */
export async function testObjectExists(key: string): Promise<boolean> {
  const { aws, base } = s3();
  const response = await aws.fetch(`${base}/${key}`, { method: "HEAD" });
  await response.body?.cancel();
  if (response.status === 404) return false;
  if (!response.ok) throw new Error(`HEAD ${key} failed: ${response.status}`);
  return true;
}
