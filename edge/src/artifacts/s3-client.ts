import { type CompletedPart, err, ModelgateError, ok, type Result } from "@modelgate/shared";
import { AwsClient } from "aws4fetch";
import { logEvent } from "../logging/edge-log.js";

export interface S3Settings {
  /** Where the edge reaches S3 (path-style: `<endpoint>/<bucket>/<key>`). */
  endpoint: string;
  /** Where clients reach S3; presigned URLs are signed for this host. */
  publicEndpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface ObjectHead {
  bytes: number;
  etag: string | undefined;
}

const HEAD_TIMEOUT_MS = 10_000;
const RANGE_TIMEOUT_MS = 30_000;

function unavailable(what: string, cause: unknown): ModelgateError {
  // The cause (host, S3 error body) goes to the operator's log, never to the client.
  logEvent("error", `S3 ${what} failed`, { error: cause });
  return new ModelgateError("storage_unavailable", `Object storage could not ${what}; try again shortly.`);
}

const encodeKey = (key: string) => key.split("/").map(encodeURIComponent).join("/");

/** Reads one element's text from an S3 XML answer (they are flat enough that a regex suffices). */
function xmlElement(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
}

const escapeXml = (value: string) =>
  value.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");

/**
 * The handful of S3 operations the edge needs, signed with SigV4 by aws4fetch (works in
 * workerd, no SDK). Every network or 5xx failure is a `storage_unavailable` value.
 */
export class S3Client {
  readonly settings: S3Settings;
  private readonly aws: AwsClient;

  constructor(settings: S3Settings) {
    this.settings = settings;
    this.aws = new AwsClient({
      accessKeyId: settings.accessKeyId,
      secretAccessKey: settings.secretAccessKey,
      service: "s3",
      region: settings.region,
      retries: 2,
    });
  }

  uri(key: string): string {
    return `s3://${this.settings.bucket}/${key}`;
  }

  private objectUrl(key: string, endpoint = this.settings.endpoint): URL {
    return new URL(`${endpoint.replace(/\/+$/, "")}/${this.settings.bucket}/${encodeKey(key)}`);
  }

  private async send(what: string, url: URL, init: RequestInit & { timeoutMs?: number }): Promise<Result<Response>> {
    try {
      const { timeoutMs, ...rest } = init;
      const response = await this.aws.fetch(url.toString(), {
        ...rest,
        ...(timeoutMs === undefined ? {} : { signal: AbortSignal.timeout(timeoutMs) }),
      });
      if (response.status >= 500 || response.status === 403 || response.status === 401) {
        const body = await response.text().catch(() => "");
        return err(unavailable(what, `${response.status} ${body.slice(0, 500)}`));
      }
      return ok(response);
    } catch (error) {
      return err(unavailable(what, error));
    }
  }

  /** The object's size, or `undefined` when there is no such object. */
  async head(key: string): Promise<Result<ObjectHead | undefined>> {
    const sent = await this.send("read the artifact", this.objectUrl(key), {
      method: "HEAD",
      timeoutMs: HEAD_TIMEOUT_MS,
    });
    if (!sent.ok) return sent;
    const response = sent.value;
    if (response.status === 404) return ok(undefined);
    if (!response.ok) return err(unavailable("read the artifact", `HEAD answered ${response.status}`));
    const bytes = Number(response.headers.get("content-length"));
    if (!Number.isSafeInteger(bytes)) return err(unavailable("read the artifact", "HEAD without content-length"));
    return ok({ bytes, etag: response.headers.get("etag") ?? undefined });
  }

  /** The object's body as a stream (never buffered), or `undefined` when it is gone. */
  async getStream(key: string): Promise<Result<ReadableStream<Uint8Array> | undefined>> {
    const sent = await this.send("read the artifact", this.objectUrl(key), { method: "GET" });
    if (!sent.ok) return sent;
    const response = sent.value;
    if (response.status === 404) return ok(undefined);
    if (!response.ok || !response.body) {
      return err(unavailable("read the artifact", `GET answered ${response.status}`));
    }
    return ok(response.body);
  }

  /** Bytes [offset, offset + length) of the object (fewer at its end), read with an HTTP range request. */
  async getRange(key: string, offset: number, length: number): Promise<Result<Uint8Array>> {
    const sent = await this.send("read the artifact", this.objectUrl(key), {
      method: "GET",
      headers: { range: `bytes=${offset}-${offset + length - 1}` },
      timeoutMs: RANGE_TIMEOUT_MS,
    });
    if (!sent.ok) return sent;
    const response = sent.value;
    if (response.status !== 206 && response.status !== 200) {
      await response.body?.cancel();
      return err(unavailable("read the artifact", `a range GET answered ${response.status}`));
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    // A server that ignores Range sends the whole object: keep only the part asked for.
    return ok(response.status === 200 ? bytes.subarray(offset, offset + length) : bytes);
  }

  /** Idempotent: deleting a missing object is fine. */
  async delete(key: string): Promise<Result<void>> {
    const sent = await this.send("delete the artifact", this.objectUrl(key), { method: "DELETE" });
    if (!sent.ok) return sent;
    await sent.value.body?.cancel();
    if (!sent.value.ok && sent.value.status !== 404) {
      return err(unavailable("delete the artifact", `DELETE answered ${sent.value.status}`));
    }
    return ok(undefined);
  }

  /** A URL anyone may PUT to until it expires; `headers` are signed and must be sent as given. */
  async presignPut(
    key: string,
    options: { ttlSeconds: number; query?: Record<string, string>; headers?: Record<string, string> },
  ): Promise<string> {
    const url = this.objectUrl(key, this.settings.publicEndpoint);
    for (const [name, value] of Object.entries(options.query ?? {})) url.searchParams.set(name, value);
    url.searchParams.set("X-Amz-Expires", String(options.ttlSeconds));
    const signed = await this.aws.sign(url.toString(), {
      method: "PUT",
      headers: options.headers ?? {},
      aws: { signQuery: true },
    });
    return signed.url;
  }

  async createMultipartUpload(key: string): Promise<Result<string>> {
    const url = this.objectUrl(key);
    url.searchParams.set("uploads", "");
    const sent = await this.send("start a multipart upload", url, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
    });
    if (!sent.ok) return sent;
    const text = await sent.value.text();
    const uploadId = sent.value.ok ? xmlElement(text, "UploadId") : undefined;
    if (!uploadId) return err(unavailable("start a multipart upload", `${sent.value.status} ${text.slice(0, 500)}`));
    return ok(uploadId);
  }

  /**
   * Joins the parts. S3 can answer 200 and still fail (an `<Error>` body), so the body is read.
   * A part S3 does not know is the client's mistake: a validation error naming `parts`.
   */
  async completeMultipartUpload(key: string, uploadId: string, parts: CompletedPart[]): Promise<Result<void>> {
    const url = this.objectUrl(key);
    url.searchParams.set("uploadId", uploadId);
    const sorted = [...parts].sort((a, b) => a.part_number - b.part_number);
    const body = `<CompleteMultipartUpload>${sorted
      .map(
        (part) =>
          `<Part><PartNumber>${part.part_number}</PartNumber><ETag>"${escapeXml(part.etag.replaceAll('"', ""))}"</ETag></Part>`,
      )
      .join("")}</CompleteMultipartUpload>`;
    const sent = await this.send("complete the multipart upload", url, {
      method: "POST",
      headers: { "content-type": "application/xml" },
      body,
    });
    if (!sent.ok) return sent;
    const text = await sent.value.text();
    const errorCode = xmlElement(text, "Code");
    if (sent.value.ok && !text.includes("<Error>")) return ok(undefined);
    if (errorCode === "NoSuchUpload") {
      return err(
        new ModelgateError("conflict", "S3 no longer knows this multipart upload; start a new upload.", [
          { field: "parts", message: "the multipart upload was aborted or already completed" },
        ]),
      );
    }
    if (sent.value.status === 400) {
      return err(
        new ModelgateError("validation_failed", `S3 refused the parts (${errorCode ?? "400"}).`, [
          { field: "parts", message: `S3 refused them: ${errorCode ?? "bad request"}; send every part's ETag` },
        ]),
      );
    }
    return err(unavailable("complete the multipart upload", `${sent.value.status} ${text.slice(0, 500)}`));
  }

  /**
   * Whether S3 dropped the upload's parts: it answered 2xx, or 404 (NoSuchUpload: already gone).
   * False when it could not be asked or refused (s3rver, for one, does not implement the call);
   * callers go on regardless, and a bucket lifecycle rule is the backstop (docs/api.md, Artifact uploads).
   */
  async abortMultipartUpload(key: string, uploadId: string): Promise<boolean> {
    const url = this.objectUrl(key);
    url.searchParams.set("uploadId", uploadId);
    const sent = await this.send("abort the multipart upload", url, { method: "DELETE" });
    if (!sent.ok) return false;
    await sent.value.body?.cancel();
    return sent.value.ok || sent.value.status === 404;
  }
}
