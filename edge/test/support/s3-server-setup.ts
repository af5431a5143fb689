/// <reference path="../../../types/s3rver.d.ts" />
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AwsClient } from "aws4fetch";
import S3rver from "s3rver";
import type { TestProject } from "vitest/node";
import {
  contentAddressedKey,
  FIXTURE_ARTIFACT_CONTENT,
  type FixtureArtifactName,
  S3_PORT_VARIABLE,
  type StoredTestArtifact,
  TEST_S3,
} from "./test-artifacts.js";

declare module "vitest" {
  export interface ProvidedContext {
    s3Endpoint: string;
    fixtureArtifacts: Record<FixtureArtifactName, StoredTestArtifact>;
  }
}

/**
 * A real S3 for the edge tests: s3rver in a fresh temporary directory, with the fixture
 * artifacts that requests.ts registrations point at already stored under their sha256 keys.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const port = Number(process.env[S3_PORT_VARIABLE]);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`${S3_PORT_VARIABLE} was not set by edge/vitest.config.ts`);
  const directory = await mkdtemp(join(tmpdir(), "modelgate-edge-s3-"));
  const server = new S3rver({
    address: "127.0.0.1",
    port,
    directory,
    silent: true,
    configureBuckets: [{ name: TEST_S3.bucket }],
  });
  await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const aws = new AwsClient({ ...TEST_S3, service: "s3" });
  const fixtures = {} as Record<FixtureArtifactName, StoredTestArtifact>;
  for (const [name, content] of Object.entries(FIXTURE_ARTIFACT_CONTENT) as Array<[FixtureArtifactName, string]>) {
    const body = new TextEncoder().encode(content);
    const sha256 = createHash("sha256").update(body).digest("hex");
    const key = contentAddressedKey(sha256);
    const response = await aws.fetch(`${endpoint}/${TEST_S3.bucket}/${key}`, { method: "PUT", body });
    if (!response.ok) throw new Error(`could not store fixture ${name}: ${response.status} ${await response.text()}`);
    fixtures[name] = { uri: `s3://${TEST_S3.bucket}/${key}`, sha256, bytes: body.byteLength };
  }
  project.provide("s3Endpoint", endpoint);
  project.provide("fixtureArtifacts", fixtures);
  return async () => {
    await server.close();
    await rm(directory, { recursive: true, force: true });
  };
}
