import {
  CompleteUploadRequestSchema,
  CreateUploadRequestSchema,
  ERROR_CODES,
  type ErrorCode,
  ModelgateError,
  type Result,
  UploadIdSchema,
  type UploadPart,
  type UploadResponse,
  type UploadSession,
  validationError,
} from "@modelgate/shared";
import { type Context, Hono } from "hono";
import { type ArtifactFieldNames, artifactStoreFromBindings } from "../artifacts/s3-artifact-store.js";
import { checkCompletedParts, partSizeFor, presignSessionParts } from "../artifacts/upload-plan.js";
import { newUploadId, UploadSessionStore } from "../artifacts/upload-sessions.js";
import type { AppEnv } from "../env.js";
import { readJsonBody } from "../http/json-body.js";
import { requireScope } from "../middleware/authenticate.js";

/** A failed check at completion names the fields of the upload request, not of a registration. */
const UPLOAD_FIELDS: ArtifactFieldNames = {
  uri: "artifact.uri",
  bytes: "bytes",
  sha256: "sha256",
  missingHint: "PUT the file to the presigned URL(s) from POST /v1/uploads first, then complete",
};

function uploadIdParam(c: Context<AppEnv>): string {
  const parsed = UploadIdSchema.safeParse(c.req.param("id"));
  if (!parsed.success) throw validationError(parsed.error, "upload id", "id");
  return parsed.data;
}

function unwrap<T>(result: Result<T>): T {
  if (!result.ok) throw result.error;
  return result.value;
}

const isExpired = (session: UploadSession, now: number) =>
  session.status === "pending" && session.expires_at !== undefined && Date.parse(session.expires_at) <= now;

function uploadView(session: UploadSession, parts: UploadPart[] = []): UploadResponse {
  const {
    s3_upload_id: _s3UploadId,
    part_count: _partCount,
    created_by: _createdBy,
    created_at: _at,
    ...view
  } = session;
  return { ...view, parts };
}

async function loadSession(c: Context<AppEnv>, sessions: UploadSessionStore): Promise<UploadSession> {
  const id = uploadIdParam(c);
  const session = await sessions.get(id);
  if (!session) throw new ModelgateError("not_found", `No upload with id ${id}.`);
  return session;
}

/** A failed session answers its original error again, so a retried `complete` reads the same. */
function failureOf(session: UploadSession): ModelgateError {
  const failure = session.failure;
  const code: ErrorCode = failure && failure.code in ERROR_CODES ? (failure.code as ErrorCode) : "artifact_mismatch";
  return new ModelgateError(code, `${failure?.detail ?? "This upload failed."} Start a new upload.`);
}

const expiredError = (session: UploadSession) =>
  new ModelgateError(
    "conflict",
    `Upload ${session.id} expired at ${session.expires_at}; start a new one with POST /v1/uploads.`,
  );

/**
 * Artifact uploads, content-addressed by sha256: the client PUTs straight to S3 with presigned
 * URLs (the bytes never pass through the edge), then `complete` checks size and sha256 before
 * any version may reference the object.
 */
export const uploadRoutes = new Hono<AppEnv>()
  .post("/v1/uploads", requireScope("models:write"), async (c) => {
    const request = await readJsonBody(c, CreateUploadRequestSchema, "upload request");
    const store = artifactStoreFromBindings(c.env);
    const config = c.get("config");
    const now = Date.now();
    const artifact = { uri: store.uriForSha256(request.sha256), sha256: request.sha256, bytes: request.bytes };
    const base = {
      id: newUploadId(),
      artifact,
      created_at: new Date(now).toISOString(),
      created_by: c.get("principal").id,
      ...(request.filename === undefined ? {} : { filename: request.filename }),
      ...(request.format === undefined ? {} : { format: request.format }),
    };
    const sessions = new UploadSessionStore(c.env.REGISTRY);
    const verified = await store.verified.get(request.sha256);
    if (verified && verified.bytes !== request.bytes) {
      throw new ModelgateError(
        "artifact_mismatch",
        `An artifact with sha256 ${request.sha256} is stored with ${verified.bytes} bytes, not ${request.bytes}.`,
        [{ field: "bytes", message: `the artifact with this sha256 has ${verified.bytes} bytes` }],
      );
    }
    if (verified?.uri === artifact.uri) {
      // Already here and checked: nothing to upload, and no URL that could overwrite it is handed out.
      const session: UploadSession = { ...base, status: "complete", completed_at: base.created_at };
      await sessions.put(session);
      return c.json(uploadView(session), 200);
    }
    const expiresAt = new Date(now + config.MODELGATE_UPLOAD_URL_TTL_SECONDS * 1000).toISOString();
    let session: UploadSession;
    if (request.bytes > config.MODELGATE_UPLOAD_MULTIPART_THRESHOLD_BYTES) {
      const partSize = partSizeFor(request.bytes, config.MODELGATE_UPLOAD_PART_BYTES);
      const s3UploadId = unwrap(await store.s3.createMultipartUpload(store.keyForSha256(request.sha256)));
      session = {
        ...base,
        status: "pending",
        method: "multipart",
        s3_upload_id: s3UploadId,
        part_size: partSize,
        part_count: Math.ceil(request.bytes / partSize),
        expires_at: expiresAt,
      };
    } else {
      session = { ...base, status: "pending", method: "single", expires_at: expiresAt };
    }
    const parts = await presignSessionParts(store, session, config.MODELGATE_UPLOAD_URL_TTL_SECONDS);
    await sessions.put(session);
    c.header("location", `/v1/uploads/${session.id}`);
    return c.json(uploadView(session, parts), 201);
  })
  .get("/v1/uploads/:id", requireScope("models:write"), async (c) => {
    const sessions = new UploadSessionStore(c.env.REGISTRY);
    const session = await loadSession(c, sessions);
    const now = Date.now();
    if (isExpired(session, now)) return c.json(uploadView({ ...session, status: "expired" }));
    if (session.status !== "pending" || session.expires_at === undefined) return c.json(uploadView(session));
    // Fresh URLs for the rest of the session's life, so an interrupted upload can resume.
    const store = artifactStoreFromBindings(c.env);
    const ttl = Math.max(1, Math.floor((Date.parse(session.expires_at) - now) / 1000));
    return c.json(uploadView(session, await presignSessionParts(store, session, ttl)));
  })
  .post("/v1/uploads/:id/complete", requireScope("models:write"), async (c) => {
    // The body is optional for single uploads: an empty POST completes them. Read (and refused)
    // before the session is looked up, so a bad body is a 400 naming its field whatever the id.
    const request = c.req.raw.body === null ? {} : await readJsonBody(c, CompleteUploadRequestSchema, "completion");
    const sessions = new UploadSessionStore(c.env.REGISTRY);
    const session = await loadSession(c, sessions);
    if (session.status === "complete") return c.json(uploadView(session));
    if (session.status === "failed") throw failureOf(session);
    const store = artifactStoreFromBindings(c.env);
    const key = store.keyForSha256(session.artifact.sha256);
    if (session.status === "expired" || isExpired(session, Date.now())) {
      if (session.s3_upload_id !== undefined) await store.s3.abortMultipartUpload(key, session.s3_upload_id);
      await sessions.put({ ...session, status: "expired" });
      throw expiredError(session);
    }
    if (session.method === "multipart") {
      const parts = checkCompletedParts(request.parts, session.part_count ?? 1);
      const joined = await store.s3.completeMultipartUpload(key, session.s3_upload_id ?? "", parts);
      // NoSuchUpload after an earlier completion whose answer was lost: the object itself decides.
      if (!joined.ok && joined.error.code !== "conflict") throw joined.error;
    }
    const checked = await store.checkObject(key, session.artifact, UPLOAD_FIELDS);
    if (!checked.ok) {
      const { error } = checked;
      // Missing or unreachable: the client may still PUT or retry, so the session stays pending.
      if (error.code !== "artifact_mismatch") throw error;
      // What is under the content-addressed key is not that content: it must not stay there,
      // nor any record vouching for it.
      unwrap(await store.purge(session.artifact));
      await sessions.put({ ...session, status: "failed", failure: { code: error.code, detail: error.message } });
      throw error;
    }
    await store.verified.put(session.artifact, checked.value);
    const completed: UploadSession = { ...session, status: "complete", completed_at: new Date().toISOString() };
    await sessions.put(completed);
    return c.json(uploadView(completed));
  });
