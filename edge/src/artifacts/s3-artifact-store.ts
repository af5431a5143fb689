import {
  type Artifact,
  err,
  ModelgateError,
  type OnnxIoReading,
  OnnxIoScanner,
  ok,
  onnxIoFromRecord,
  type Result,
  readOnnxIoByRanges,
} from "@modelgate/shared";
import { z } from "zod";
import type { EdgeBindings } from "../env.js";
import { logEvent } from "../logging/edge-log.js";
import type { ArtifactPurger, ArtifactVerifier } from "./artifact-verifier.js";
import { S3Client, type S3Settings } from "./s3-client.js";
import { VerifiedArtifactStore } from "./upload-sessions.js";

type CheckedArtifact = Pick<Artifact, "uri" | "sha256" | "bytes">;

/** Which request fields a failed check names: `artifact.*` for registrations, bare for uploads. */
export interface ArtifactFieldNames {
  uri: string;
  bytes: string;
  sha256: string;
  /** How to put the object there, for the "missing" message. */
  missingHint: string;
}

const REGISTRATION_FIELDS: ArtifactFieldNames = {
  uri: "artifact.uri",
  bytes: "artifact.bytes",
  sha256: "artifact.sha256",
  missingHint:
    "upload it with `modelgate models upload <file>` (or POST /v1/uploads) and register the artifact it returns",
};

const toHex = (buffer: ArrayBuffer) =>
  Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");

/**
 * Streams an object through workerd's native SHA-256, counting bytes on the way and reading its
 * ONNX graph's inputs and outputs from the same chunks (the scanner keeps only those small
 * messages and skips the weights); nothing is buffered.
 */
async function hashStream(
  body: ReadableStream<Uint8Array>,
): Promise<{ sha256: string; bytes: number; onnxIo: OnnxIoReading }> {
  const digest = new crypto.DigestStream("SHA-256");
  const scanner = new OnnxIoScanner();
  let bytes = 0;
  const counter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      bytes += chunk.byteLength;
      if (!scanner.done) scanner.push(chunk);
      controller.enqueue(chunk);
    },
  });
  await body.pipeThrough(counter).pipeTo(digest);
  return { sha256: toHex(await digest.digest), bytes, onnxIo: scanner.finish() };
}

/**
 * Model artifacts in S3, content-addressed under `artifacts/sha256/<sha256>`. Verification
 * checks size (HEAD) then sha256 (streamed), and remembers success in R2 so that registering
 * another version of the same artifact costs one small read.
 */
export class S3ArtifactStore implements ArtifactVerifier, ArtifactPurger {
  readonly s3: S3Client;
  readonly verified: VerifiedArtifactStore;

  constructor(settings: S3Settings, registry: R2Bucket) {
    this.s3 = new S3Client(settings);
    this.verified = new VerifiedArtifactStore(registry);
  }

  get bucket(): string {
    return this.s3.settings.bucket;
  }

  keyForSha256(sha256: string): string {
    return `artifacts/sha256/${sha256}`;
  }

  uriForSha256(sha256: string): string {
    return this.s3.uri(this.keyForSha256(sha256));
  }

  /** The object key of an `s3://<configured bucket>/<key>` URI; another bucket is refused. */
  keyFromUri(uri: string, field = REGISTRATION_FIELDS.uri): Result<string> {
    const prefix = `s3://${this.bucket}/`;
    const key = uri.startsWith(prefix) ? uri.slice(prefix.length) : "";
    if (!key || key.split("/").some((segment) => segment === "" || segment === "." || segment === "..")) {
      return err(
        new ModelgateError("artifact_mismatch", `Artifacts must live in the bucket this edge uses (${prefix}…).`, [
          { field, message: `must be an object in ${prefix}` },
        ]),
      );
    }
    return ok(key);
  }

  async verify(artifact: CheckedArtifact): Promise<Result<void>> {
    const checked = await this.#verify(artifact, { needIo: false });
    return checked.ok ? ok(undefined) : checked;
  }

  /**
   * Verifies the artifact (as `verify`) and says what its ONNX graph takes and returns: read while
   * it was hashed, or, for an artifact verified before the io was recorded, with range requests
   * that hop over its weights (and then recorded).
   */
  async verifyAndReadIo(artifact: CheckedArtifact): Promise<Result<OnnxIoReading>> {
    const checked = await this.#verify(artifact, { needIo: true });
    if (!checked.ok) return checked;
    return checked.value ? ok(checked.value) : err(new ModelgateError("internal", "The artifact's io was not read."));
  }

  /** The check itself; an already verified file's io is only fetched when `needIo` (the model, not its tokenizer). */
  async #verify(artifact: CheckedArtifact, options: { needIo: boolean }): Promise<Result<OnnxIoReading | undefined>> {
    const key = this.keyFromUri(artifact.uri);
    if (!key.ok) return key;
    try {
      const record = await this.verified.find(artifact);
      if (record?.onnx_io) return ok(onnxIoFromRecord(record.onnx_io));
      if (record && !options.needIo) return ok(undefined);
      if (record) {
        const reading = await this.readIoByRanges(key.value, artifact.bytes);
        if (!reading.ok) return reading;
        await this.verified.put(artifact, reading.value);
        return reading;
      }
      const checked = await this.checkObject(key.value, artifact, REGISTRATION_FIELDS);
      if (!checked.ok) return checked;
      await this.verified.put(artifact, checked.value);
      return checked;
    } catch (error) {
      logEvent("error", "artifact verification failed", { error });
      return err(new ModelgateError("storage_unavailable", "The artifact could not be verified; try again shortly."));
    }
  }

  async readIoByRanges(key: string, bytes: number): Promise<Result<OnnxIoReading>> {
    let failure: ModelgateError | undefined;
    const reading = await readOnnxIoByRanges(async (offset, length) => {
      const range = await this.s3.getRange(key, offset, length);
      if (!range.ok) failure = range.error;
      return range.ok ? range.value : new Uint8Array(0);
    }, bytes);
    if (failure) return err(failure);
    logEvent("info", "read an artifact's io with range requests", {
      key,
      bytes,
      bytes_fetched: reading.bytesFetched,
      requests: reading.requests,
    });
    return ok(reading);
  }

  /**
   * HEAD for the size, then the object's body streamed through SHA-256 (and the ONNX io
   * scanner). Returns `artifact_missing` or `artifact_mismatch` naming the field at fault.
   */
  async checkObject(
    key: string,
    expected: CheckedArtifact,
    fields: ArtifactFieldNames,
  ): Promise<Result<OnnxIoReading>> {
    const head = await this.s3.head(key);
    if (!head.ok) return head;
    if (head.value === undefined) return err(missing(expected.uri, fields));
    if (head.value.bytes !== expected.bytes) return err(sizeMismatch(expected, head.value.bytes, fields));
    const stream = await this.s3.getStream(key);
    if (!stream.ok) return stream;
    if (stream.value === undefined) return err(missing(expected.uri, fields));
    let actual: { sha256: string; bytes: number; onnxIo: OnnxIoReading };
    try {
      actual = await hashStream(stream.value);
    } catch (error) {
      logEvent("error", "reading the artifact from S3 failed", { error });
      return err(new ModelgateError("storage_unavailable", "Object storage failed while the artifact was read."));
    }
    // The object may have been replaced between HEAD and GET: the bytes hashed are what count.
    if (actual.bytes !== expected.bytes) return err(sizeMismatch(expected, actual.bytes, fields));
    if (actual.sha256 !== expected.sha256) {
      return err(
        new ModelgateError(
          "artifact_mismatch",
          `The object at ${expected.uri} has sha256 ${actual.sha256}, not the declared ${expected.sha256}.`,
          [{ field: fields.sha256, message: `the stored object's sha256 is ${actual.sha256}` }],
        ),
      );
    }
    return ok(actual.onnxIo);
  }

  /** Deletes the object and its verified record; an object that is already gone is fine. */
  async purge(artifact: Pick<Artifact, "uri" | "sha256">): Promise<Result<void>> {
    const key = this.keyFromUri(artifact.uri);
    if (!key.ok) return key;
    const deleted = await this.s3.delete(key.value);
    if (!deleted.ok) return deleted;
    try {
      const record = await this.verified.get(artifact.sha256);
      if (record?.uri === artifact.uri) await this.verified.delete(artifact.sha256);
    } catch (error) {
      logEvent("error", "deleting the verified-artifact record failed", { error });
      return err(new ModelgateError("storage_unavailable", "The artifact's record could not be deleted; try again."));
    }
    return ok(undefined);
  }
}

function missing(uri: string, fields: ArtifactFieldNames): ModelgateError {
  return new ModelgateError("artifact_missing", `There is no object at ${uri}: ${fields.missingHint}.`, [
    { field: fields.uri, message: "no such object in object storage" },
  ]);
}

function sizeMismatch(expected: CheckedArtifact, actualBytes: number, fields: ArtifactFieldNames): ModelgateError {
  return new ModelgateError(
    "artifact_mismatch",
    `The object at ${expected.uri} has ${actualBytes} bytes, not the declared ${expected.bytes}.`,
    [{ field: fields.bytes, message: `the stored object has ${actualBytes} bytes` }],
  );
}

const setting = (name: string, check: z.ZodType<string, string>) =>
  z
    .string({ error: `${name} is not set` })
    .min(1, `${name} is empty`)
    .pipe(check);

/** The S3 bindings a store needs; the messages name the variable so an operator knows what to set. */
const S3BindingsSchema = z.object({
  MODELGATE_S3_ENDPOINT: setting("MODELGATE_S3_ENDPOINT", z.url({ error: "MODELGATE_S3_ENDPOINT must be a URL" })),
  MODELGATE_S3_PUBLIC_ENDPOINT: z.url({ error: "MODELGATE_S3_PUBLIC_ENDPOINT must be a URL" }).optional(),
  MODELGATE_S3_BUCKET: setting(
    "MODELGATE_S3_BUCKET",
    z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "MODELGATE_S3_BUCKET must be a 3–63 character bucket name"),
  ),
  MODELGATE_S3_REGION: z.string().min(1).default("us-east-1"),
  MODELGATE_S3_ACCESS_KEY_ID: setting("MODELGATE_S3_ACCESS_KEY_ID", z.string()),
  MODELGATE_S3_SECRET_ACCESS_KEY: setting("MODELGATE_S3_SECRET_ACCESS_KEY", z.string()),
});

const storesByEnv = new WeakMap<EdgeBindings, S3ArtifactStore>();

/**
 * The artifact store for these bindings (one per isolate). Misconfiguration is a 503
 * `storage_unavailable` naming the variable, not a crash: the rest of the edge keeps working.
 */
export function artifactStoreFromBindings(env: EdgeBindings): S3ArtifactStore {
  const cached = storesByEnv.get(env);
  if (cached) return cached;
  const parsed = S3BindingsSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => issue.message).join("; ");
    logEvent("error", "object storage is misconfigured", { problems });
    throw new ModelgateError(
      "storage_unavailable",
      `Object storage is not configured on this edge (${problems}); set it with wrangler secret put --env <environment> or [vars].`,
    );
  }
  const s3 = parsed.data;
  const store = new S3ArtifactStore(
    {
      endpoint: s3.MODELGATE_S3_ENDPOINT,
      publicEndpoint: s3.MODELGATE_S3_PUBLIC_ENDPOINT ?? s3.MODELGATE_S3_ENDPOINT,
      bucket: s3.MODELGATE_S3_BUCKET,
      region: s3.MODELGATE_S3_REGION,
      accessKeyId: s3.MODELGATE_S3_ACCESS_KEY_ID,
      secretAccessKey: s3.MODELGATE_S3_SECRET_ACCESS_KEY,
    },
    env.REGISTRY,
  );
  storesByEnv.set(env, store);
  return store;
}
