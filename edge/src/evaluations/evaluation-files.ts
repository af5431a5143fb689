import { err, type ModelFile, ModelgateError, ok, type Result } from "@modelgate/shared";
import type { S3ArtifactStore } from "../artifacts/s3-artifact-store.js";
import { logEvent } from "../logging/edge-log.js";

const toHex = (buffer: ArrayBuffer) =>
  Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");

/**
 * An evaluation's files in S3 (the dataset, the results, the report), read whole and checked
 * against their declared size and sha256 — a file that changed after upload is refused, never
 * read as if it were the one named. `field` is the request field a problem names.
 */
export async function readCheckedFile(
  store: S3ArtifactStore,
  file: ModelFile,
  field: string,
): Promise<Result<Uint8Array<ArrayBuffer>>> {
  const key = store.keyFromUri(file.uri, `${field}.uri`);
  if (!key.ok) return key;
  const stream = await store.s3.getStream(key.value);
  if (!stream.ok) return stream;
  if (stream.value === undefined) {
    return err(
      new ModelgateError("artifact_missing", `There is no object at ${file.uri}.`, [
        { field: `${field}.uri`, message: "no such object in object storage; upload it with POST /v1/uploads first" },
      ]),
    );
  }
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = new Uint8Array(await new Response(stream.value).arrayBuffer());
  } catch (error) {
    logEvent("error", "reading an evaluation file from S3 failed", { error });
    return err(new ModelgateError("storage_unavailable", "Object storage failed while the file was read."));
  }
  if (bytes.byteLength !== file.bytes) {
    return err(
      new ModelgateError(
        "artifact_mismatch",
        `The object at ${file.uri} has ${bytes.byteLength} bytes, not ${file.bytes}.`,
        [{ field: `${field}.bytes`, message: `the stored object has ${bytes.byteLength} bytes` }],
      ),
    );
  }
  const sha256 = toHex(await crypto.subtle.digest("SHA-256", bytes));
  if (sha256 !== file.sha256) {
    return err(
      new ModelgateError("artifact_mismatch", `The object at ${file.uri} has sha256 ${sha256}, not ${file.sha256}.`, [
        { field: `${field}.sha256`, message: `the stored object's sha256 is ${sha256}` },
      ]),
    );
  }
  return ok(bytes);
}

/** The same check, answering the object's text (UTF-8). */
export async function readCheckedText(store: S3ArtifactStore, file: ModelFile, field: string): Promise<Result<string>> {
  const bytes = await readCheckedFile(store, file, field);
  if (!bytes.ok) return bytes;
  try {
    return ok(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes.value));
  } catch {
    return err(
      new ModelgateError("validation_failed", `${file.uri} is not UTF-8 text.`, [
        { field, message: "must be UTF-8 text (JSON lines)" },
      ]),
    );
  }
}
