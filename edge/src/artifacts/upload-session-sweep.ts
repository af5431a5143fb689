import type { UploadSession } from "@modelgate/shared";
import type { EdgeBindings } from "../env.js";
import { logEvent } from "../logging/edge-log.js";
import { artifactStoreFromBindings } from "./s3-artifact-store.js";
import { UploadSessionStore } from "./upload-sessions.js";

export interface UploadSweepResult {
  /** Session documents deleted: pending past `expires_at`, or already marked expired. */
  swept: number;
  /** Of those, multipart uploads S3 confirmed it aborted (their parts cost storage until then). */
  aborted: number;
  /** Multipart uploads S3 did not confirm aborting (unreachable, or refused the call). */
  abortsUnconfirmed: number;
  /** Sessions left alone: still pending within their time, complete or failed. */
  kept: number;
}

/** A session nobody can finish any more: its presigned URLs are dead and `complete` answers 409. */
export function isAbandoned(session: UploadSession, now: number): boolean {
  if (session.status === "expired") return true;
  return session.status === "pending" && session.expires_at !== undefined && Date.parse(session.expires_at) <= now;
}

const PAGE_SIZE = 500;

/**
 * Deletes abandoned upload sessions (runs on the edge's cron trigger, `[triggers]` in
 * wrangler.toml), asking S3 first to abort their multipart uploads so it drops the parts. Complete and
 * failed sessions stay: a retried `complete` answers them again. An object a client PUT but
 * never completed is not deleted: the key is content-addressed, so another session may be
 * about to complete the very same bytes; unverified objects are never served anyway.
 */
export async function sweepAbandonedUploads(env: EdgeBindings, now: number): Promise<UploadSweepResult> {
  const sessions = new UploadSessionStore(env.REGISTRY);
  const result: UploadSweepResult = { swept: 0, aborted: 0, abortsUnconfirmed: 0, kept: 0 };
  let cursor: string | undefined;
  do {
    const page = await sessions.listIds(cursor, PAGE_SIZE);
    cursor = page.cursor;
    for (const id of page.ids) {
      const session = await sessions.get(id);
      if (!session || !isAbandoned(session, now)) {
        result.kept += 1;
        continue;
      }
      if (session.s3_upload_id !== undefined) {
        const store = artifactStoreFromBindings(env);
        const key = store.keyForSha256(session.artifact.sha256);
        if (await store.s3.abortMultipartUpload(key, session.s3_upload_id)) result.aborted += 1;
        else {
          // The session goes anyway: keeping it would not make S3 answer, and the bucket's
          // lifecycle rule (AbortIncompleteMultipartUpload) drops the parts in the end.
          result.abortsUnconfirmed += 1;
          logEvent("warn", "S3 did not confirm aborting an abandoned multipart upload", { upload: id, key });
        }
      }
      await sessions.delete(id);
      result.swept += 1;
    }
  } while (cursor);
  if (result.swept > 0) logEvent("info", "abandoned uploads swept", { ...result });
  return result;
}
