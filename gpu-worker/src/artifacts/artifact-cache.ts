/**
 * Content-addressed local cache of registry artifacts: `<cacheDir>/sha256/<hex>`. A file only
 * gets that name after its bytes and sha256 matched the registry's record, so a half-written or
 * tampered download can never be loaded.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { err, type ModelFile, ModelgateError, ok, type Result } from "@modelgate/shared";
import { type Logger, silentLogger } from "../logger.js";
import { type ObjectStore, ObjectStoreError } from "./object-store.js";

export interface ArtifactCacheOptions {
  cacheDir: string;
  store: ObjectStore;
  logger?: Logger;
}

interface Digest {
  sha256: string;
  bytes: number;
}

/** Counts and hashes bytes as they pass; stops the stream as soon as it exceeds `limit`. */
function hashingCounter(limit: number, digest: { hash: ReturnType<typeof createHash>; bytes: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      digest.bytes += chunk.byteLength;
      if (digest.bytes > limit) {
        callback(new ArtifactTooLargeError(limit));
        return;
      }
      digest.hash.update(chunk);
      callback(null, chunk);
    },
  });
}

class ArtifactTooLargeError extends Error {
  constructor(limit: number) {
    super(`more than the registered ${limit} bytes`);
  }
}

function integrityFailure(artifact: ModelFile, actual: Digest | { tooLarge: true }): ModelgateError {
  const got =
    "tooLarge" in actual ? `more than ${artifact.bytes} bytes` : `sha256 ${actual.sha256} (${actual.bytes} bytes)`;
  return new ModelgateError(
    "artifact_integrity_failed",
    `Artifact ${artifact.uri} failed its integrity check: expected sha256 ${artifact.sha256} (${artifact.bytes} bytes), got ${got}.`,
  );
}

export class ArtifactCache {
  readonly #cacheDir: string;
  readonly #store: ObjectStore;
  readonly #logger: Logger;
  /** One download per artifact, however many requests ask for it at once. */
  readonly #pending = new Map<string, Promise<Result<string>>>();
  /** Files hashed by this process; a file left by an earlier run is re-hashed once. */
  readonly #verified = new Set<string>();

  constructor(options: ArtifactCacheOptions) {
    this.#cacheDir = options.cacheDir;
    this.#store = options.store;
    this.#logger = options.logger ?? silentLogger;
  }

  /** Where a verified artifact with this sha256 lives (whether or not it is there yet). */
  pathFor(sha256: string): string {
    return join(this.#cacheDir, "sha256", sha256);
  }

  /** Returns the local path of the verified artifact, downloading it first when needed. */
  ensureArtifact(artifact: ModelFile): Promise<Result<string>> {
    const existing = this.#pending.get(artifact.sha256);
    if (existing) return existing;
    const pending = this.#ensure(artifact).finally(() => this.#pending.delete(artifact.sha256));
    this.#pending.set(artifact.sha256, pending);
    return pending;
  }

  async #ensure(artifact: ModelFile): Promise<Result<string>> {
    const finalPath = this.pathFor(artifact.sha256);
    if (this.#verified.has(artifact.sha256)) return ok(finalPath);
    const cached = await this.#verifyCachedFile(artifact, finalPath);
    if (cached) return ok(finalPath);
    return this.#download(artifact, finalPath);
  }

  async #verifyCachedFile(artifact: ModelFile, path: string): Promise<boolean> {
    try {
      await stat(path);
    } catch {
      return false;
    }
    const digest = { hash: createHash("sha256"), bytes: 0 };
    try {
      for await (const chunk of createReadStream(path)) {
        digest.hash.update(chunk as Buffer);
        digest.bytes += (chunk as Buffer).byteLength;
      }
    } catch (error) {
      this.#logger.warn("cached artifact unreadable; downloading again", { path, error });
      await rm(path, { force: true });
      return false;
    }
    const sha256 = digest.hash.digest("hex");
    if (sha256 === artifact.sha256 && digest.bytes === artifact.bytes) {
      this.#verified.add(artifact.sha256);
      return true;
    }
    this.#logger.warn("cached artifact does not match its name; downloading again", { path, sha256 });
    await rm(path, { force: true });
    return false;
  }

  async #download(artifact: ModelFile, finalPath: string): Promise<Result<string>> {
    const tempDir = join(this.#cacheDir, "tmp");
    await mkdir(tempDir, { recursive: true });
    await mkdir(join(this.#cacheDir, "sha256"), { recursive: true });
    // Same filesystem as the final path, so the rename below is atomic.
    const tempPath = join(tempDir, `${artifact.sha256}.${process.pid}.${randomBytes(6).toString("hex")}.partial`);
    const digest = { hash: createHash("sha256"), bytes: 0 };
    const started = performance.now();
    try {
      const source = await this.#store.getObject(artifact.uri);
      await pipeline(source, hashingCounter(artifact.bytes, digest), createWriteStream(tempPath));
    } catch (error) {
      await rm(tempPath, { force: true });
      if (error instanceof ArtifactTooLargeError) return err(integrityFailure(artifact, { tooLarge: true }));
      return err(downloadFailure(artifact, error, this.#logger));
    }
    const actual = { sha256: digest.hash.digest("hex"), bytes: digest.bytes };
    if (actual.sha256 !== artifact.sha256 || actual.bytes !== artifact.bytes) {
      await rm(tempPath, { force: true });
      this.#logger.error("artifact integrity check failed", { uri: artifact.uri, expected: artifact.sha256, actual });
      return err(integrityFailure(artifact, actual));
    }
    await rename(tempPath, finalPath);
    this.#verified.add(artifact.sha256);
    this.#logger.info("artifact downloaded", {
      uri: artifact.uri,
      sha256: artifact.sha256,
      bytes: actual.bytes,
      ms: Math.round(performance.now() - started),
    });
    return ok(finalPath);
  }
}

function downloadFailure(artifact: ModelFile, error: unknown, logger: Logger): ModelgateError {
  logger.error("artifact download failed", { uri: artifact.uri, error });
  if (error instanceof ObjectStoreError && error.failure === "not_found") {
    return new ModelgateError("upstream_failed", `Artifact ${artifact.uri} is not in object storage.`);
  }
  return new ModelgateError("upstream_failed", `Artifact ${artifact.uri} could not be downloaded from object storage.`);
}
