import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { basename, resolve } from "node:path";
import { ArtifactFormatSchema, type CompletedPart, type UploadPart, type UploadResponse } from "@modelgate/shared";
import { type Command, Option } from "commander";
import { UsageError } from "../cli-errors.js";
import { EdgeProblemError } from "../edge-client.js";
import { formatBytes, formatFields } from "../output.js";
import type { CliSession } from "../session.js";
import { createProgress, type ProgressReporter } from "./upload-progress.js";

/** Parts in flight at once: enough to fill a link, few enough to keep memory and sockets modest. */
const PARALLEL_PARTS = 4;

interface UploadOptions {
  format: string;
  json?: boolean;
}

async function statFile(path: string, given: string): Promise<number> {
  try {
    const info = await stat(path);
    if (!info.isFile())
      throw new UsageError(`${given} is not a file.`, "pass the path of the model artifact to upload");
    if (info.size === 0)
      throw new UsageError(`${given} is empty.`, "pass the model artifact itself, not an empty file");
    return info.size;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const reason = error instanceof Error && "code" in error ? String(error.code) : String(error);
    throw new UsageError(`Cannot read ${given} (${reason}).`, "pass the path of the model artifact to upload");
  }
}

/** sha256 of the file, streamed (never loaded whole). */
async function hashFile(path: string, progress: ProgressReporter): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    hash.update(chunk as Buffer);
    progress.advance((chunk as Buffer).byteLength);
  }
  return hash.digest("hex");
}

/** The problem shown when S3 itself refuses or cannot be reached; the detail says what to do. */
function storageProblem(detail: string): EdgeProblemError {
  return new EdgeProblemError({
    type: "https://modelgate.dev/problems/upload-failed",
    title: "Upload to object storage failed",
    status: 502,
    code: "upload_failed",
    detail,
  });
}

/**
 * PUTs one byte range of the file to a presigned URL with an exact Content-Length (S3 refuses
 * chunked uploads), counting bytes as they are written. node:http rather than fetch, because
 * fetch cannot stream a body of known length.
 */
function putPart(path: string, part: UploadPart, progress: ProgressReporter): Promise<string> {
  const url = new URL(part.url);
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolvePut, reject) => {
    const request = send(
      url,
      { method: part.method, headers: { ...part.headers, "content-length": String(part.bytes) } },
      (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => {
          const status = response.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            resolvePut(String(response.headers.etag ?? ""));
            return;
          }
          const body = Buffer.concat(chunks).toString("utf8");
          const code = /<Code>([^<]*)<\/Code>/.exec(body)?.[1] ?? "";
          const expired = code === "AccessDenied" || code === "ExpiredToken" || /expired/i.test(body);
          reject(
            storageProblem(
              `S3 answered ${status}${code ? ` ${code}` : ""} to part ${part.part_number}. ${
                expired
                  ? "The presigned URLs may have expired: run `modelgate models upload` again."
                  : "Run `modelgate models upload` again; content-addressed uploads restart cleanly."
              }`,
            ),
          );
        });
      },
    );
    request.on("error", (error: NodeJS.ErrnoException) =>
      reject(
        storageProblem(
          `Cannot reach object storage at ${url.origin} (${error.code ?? error.message}). The edge hands out URLs on ` +
            "MODELGATE_S3_PUBLIC_ENDPOINT (else MODELGATE_S3_ENDPOINT): it must be reachable from this machine.",
        ),
      ),
    );
    const body = createReadStream(path, { start: part.offset, end: part.offset + part.bytes - 1 });
    body.on("data", (chunk) => progress.advance(chunk.length));
    body.on("error", (error) => request.destroy(error));
    body.pipe(request);
  });
}

/** Every part, at most PARALLEL_PARTS at a time; the first failure stops new parts from starting. */
async function putAllParts(path: string, parts: UploadPart[], progress: ProgressReporter): Promise<CompletedPart[]> {
  const completed: CompletedPart[] = [];
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && next < parts.length) {
      const part = parts[next++];
      if (!part) break;
      try {
        completed.push({ part_number: part.part_number, etag: await putPart(path, part, progress) });
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_PARTS, parts.length) }, lane));
  return completed.sort((a, b) => a.part_number - b.part_number);
}

function formatUploaded(upload: UploadResponse, format: string): string {
  return formatFields([
    ["uri", upload.artifact.uri],
    ["sha256", upload.artifact.sha256],
    ["bytes", `${upload.artifact.bytes} (${formatBytes(upload.artifact.bytes)})`],
    ["format", upload.format ?? format],
  ]);
}

/**
 * Hashes a local file (progress on stderr), uploads it with presigned PUTs (parallel parts) and
 * has the edge check it: the upload a registration or an evaluation references. A file already
 * uploaded and verified is not sent again.
 */
export async function uploadLocalFile(
  session: CliSession,
  command: Command,
  file: string,
  format?: (typeof ArtifactFormatSchema.options)[number],
): Promise<UploadResponse> {
  const path = resolve(session.io.cwd, file);
  // An unreadable file is a usage error before any connection is resolved.
  const bytes = await statFile(path, file);
  const client = await session.client(command);
  const quiet = session.json;
  const progress = (label: string) =>
    createProgress({
      label,
      total: bytes,
      tty: session.io.stderrIsTTY === true,
      write: quiet ? () => {} : session.io.stderr,
    });
  const hashing = progress(`hashing ${basename(path)}`);
  const sha256 = await hashFile(path, hashing);
  hashing.finish(`sha256 ${sha256}`);
  const upload = await client.createUpload({
    sha256,
    bytes,
    filename: basename(path),
    ...(format === undefined ? {} : { format }),
  });
  if (upload.status === "complete") {
    session.note("already uploaded and verified: nothing to send");
    return upload;
  }
  const sending = progress(`uploading ${basename(path)}`);
  const parts = await putAllParts(path, upload.parts, sending);
  sending.finish(`uploaded ${upload.parts.length} part${upload.parts.length === 1 ? "" : "s"}`);
  return client.completeUpload(upload.id, upload.method === "multipart" ? { parts } : {});
}

/** `modelgate models upload <file>`: hash, presigned PUTs (parallel parts), completion checked by the edge. */
export function registerUploadCommand(models: Command, session: CliSession): void {
  models
    .command("upload")
    .description("upload a model artifact to object storage; prints the artifact a registration references")
    .argument("<file>", "the artifact file, e.g. model.onnx")
    .addOption(new Option("--format <format>", "artifact format").choices(ArtifactFormatSchema.options).default("onnx"))
    .option("--json", "print the edge's completion response as JSON")
    .action(async (file: string, options: UploadOptions, command: Command) => {
      const result = await uploadLocalFile(session, command, file, ArtifactFormatSchema.parse(options.format));
      session.emit(result, (done) => formatUploaded(done, options.format));
      session.note(
        "register it: put this uri, sha256, bytes and format under `artifact` in a registration file, then `modelgate models register <name> --file <registration.json>`",
      );
    });
}
