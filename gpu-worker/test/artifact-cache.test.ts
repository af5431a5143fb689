import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import type { Artifact } from "@modelgate/shared";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ArtifactCache } from "../src/artifacts/artifact-cache.js";
import type { ObjectStore } from "../src/artifacts/object-store.js";
import { createS3Client, S3ObjectStore } from "../src/artifacts/s3-object-store.js";
import { buildDemoLm } from "../src/reference-models/index.js";
import { type LocalS3, startLocalS3 } from "./support/local-s3.js";

let s3: LocalS3;
let store: S3ObjectStore;
const cacheDirs: string[] = [];
const model = buildDemoLm();

beforeAll(async () => {
  s3 = await startLocalS3();
  store = storeFor(s3);
});
afterAll(async () => {
  await s3?.close();
});
afterEach(async () => {
  for (const dir of cacheDirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

function storeFor(local: LocalS3): S3ObjectStore {
  return new S3ObjectStore(
    createS3Client({
      endpoint: local.endpoint,
      bucket: local.bucket,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    }),
  );
}

async function newCacheDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "modelgate-artifacts-"));
  cacheDirs.push(dir);
  return dir;
}

/** Counts reads, so tests can tell a cache hit from a download. */
function countingStore(inner: ObjectStore): ObjectStore & { gets: number } {
  const counting = {
    gets: 0,
    getObject(uri: string): Promise<Readable> {
      counting.gets++;
      return inner.getObject(uri);
    },
    putObject: inner.putObject.bind(inner),
  };
  return counting;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe("ArtifactCache.ensureArtifact", () => {
  it("downloads to <cacheDir>/sha256/<hex> and verifies the bytes", async () => {
    const artifact = await s3.upload(model.name, model.onnx);
    const cacheDir = await newCacheDir();
    const result = await new ArtifactCache({ cacheDir, store }).ensureArtifact(artifact);
    expect(result).toEqual({ ok: true, value: join(cacheDir, "sha256", artifact.sha256) });
    const bytes = await readFile(join(cacheDir, "sha256", artifact.sha256));
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(artifact.sha256);
    expect(await filesUnder(join(cacheDir, "tmp"))).toEqual([]);
  });

  it("reuses the cache without touching object storage, also after a restart", async () => {
    const local = await startLocalS3();
    const artifact = await local.upload(model.name, model.onnx);
    const cacheDir = await newCacheDir();
    const counting = countingStore(storeFor(local));
    const cache = new ArtifactCache({ cacheDir, store: counting });
    expect((await cache.ensureArtifact(artifact)).ok).toBe(true);
    expect(counting.gets).toBe(1);

    await local.close();
    expect((await cache.ensureArtifact(artifact)).ok).toBe(true);
    // A new process (a fresh cache object on the same directory) re-hashes the file and uses it.
    const restarted = countingStore(storeFor(local));
    const afterRestart = await new ArtifactCache({ cacheDir, store: restarted }).ensureArtifact(artifact);
    expect(afterRestart.ok).toBe(true);
    expect(counting.gets + restarted.gets).toBe(1);
  });

  it("shares one download between concurrent requests for the same artifact", async () => {
    const artifact = await s3.upload(model.name, model.onnx);
    const counting = countingStore(store);
    const cache = new ArtifactCache({ cacheDir: await newCacheDir(), store: counting });
    const results = await Promise.all(Array.from({ length: 5 }, () => cache.ensureArtifact(artifact)));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(counting.gets).toBe(1);
  });

  it("refuses a sha256 mismatch, naming expected and actual, and keeps nothing", async () => {
    const artifact = await s3.upload(model.name, model.onnx);
    const wrong: Artifact = { ...artifact, sha256: "f".repeat(64) };
    const cacheDir = await newCacheDir();
    const result = await new ArtifactCache({ cacheDir, store }).ensureArtifact(wrong);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe("artifact_integrity_failed");
    expect(result.error.message).toContain(`expected sha256 ${"f".repeat(64)}`);
    expect(result.error.message).toContain(`got sha256 ${artifact.sha256}`);
    expect(await filesUnder(cacheDir)).toEqual([]);
  });

  it("refuses an object longer than the registered size without reading all of it", async () => {
    const artifact = await s3.upload(model.name, model.onnx);
    const cacheDir = await newCacheDir();
    const result = await new ArtifactCache({ cacheDir, store }).ensureArtifact({ ...artifact, bytes: 1000 });
    expect(result.ok || result.error.code).toBe("artifact_integrity_failed");
    expect(await filesUnder(cacheDir)).toEqual([]);
  });

  it("replaces a cached file whose content no longer matches its hash", async () => {
    const artifact = await s3.upload(model.name, model.onnx);
    const cacheDir = await newCacheDir();
    expect((await new ArtifactCache({ cacheDir, store }).ensureArtifact(artifact)).ok).toBe(true);
    await writeFile(join(cacheDir, "sha256", artifact.sha256), "corrupted on disk");
    const counting = countingStore(store);
    expect((await new ArtifactCache({ cacheDir, store: counting }).ensureArtifact(artifact)).ok).toBe(true);
    expect(counting.gets).toBe(1);
    expect((await readFile(join(cacheDir, "sha256", artifact.sha256))).byteLength).toBe(artifact.bytes);
  });

  it("reports a missing object as a value, not an exception", async () => {
    const artifact = await s3.upload(model.name, model.onnx);
    await s3.remove(artifact);
    const result = await new ArtifactCache({ cacheDir: await newCacheDir(), store }).ensureArtifact({
      ...artifact,
      sha256: "1".repeat(64),
    });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe("upstream_failed");
      expect(result.error.message).toContain("not in object storage");
    }
  });
});
