/**
 * Only the edge may call `/v1/*`: each request carries an HMAC over method, path, timestamp,
 * nonce and body hash (shared `signRequest`). This middleware reads the body once (bounded),
 * verifies it, refuses replays, and hands the verified bytes to the route.
 */
import {
  ModelgateError,
  type NonceGuard,
  readBoundedBody,
  type SignatureFailure,
  verifySignedRequest,
} from "@modelgate/shared";
import { createMiddleware } from "hono/factory";
import type { WorkerAppEnv } from "../http/app-env.js";

export interface VerifyEdgeSignatureOptions {
  secret: string;
  /** This worker's id: the edge signs each request for the one worker it routed to. */
  workerId: string;
  nonceGuard: NonceGuard;
  maxBodyBytes: number;
  now: () => number;
}

const FAILURE_DETAIL: Record<SignatureFailure, string> = {
  missing_headers: "The request is not signed by the edge.",
  malformed: "The request's signature headers are malformed.",
  expired: "The request's signature timestamp is outside the accepted window.",
  bad_signature: "The request's signature does not match.",
  replayed: "The request was already received (replayed nonce).",
  wrong_worker: "The request was signed for another worker.",
};

export function verifyEdgeSignature(options: VerifyEdgeSignatureOptions) {
  return createMiddleware<WorkerAppEnv>(async function verifyEdgeSignatureMiddleware(c, next) {
    const body = await readBoundedBody(c.req.raw, options.maxBodyBytes);
    const url = new URL(c.req.url);
    const verdict = await verifySignedRequest({
      secret: options.secret,
      headers: c.req.raw.headers,
      request: { method: c.req.method, pathWithQuery: url.pathname + url.search, body },
      nonceGuard: options.nonceGuard,
      expectedWorkerId: options.workerId,
      now: options.now(),
    });
    if (!verdict.ok) {
      c.get("logger").warn("refused an unsigned or invalid edge request", {
        path: url.pathname,
        reason: verdict.reason,
      });
      throw new ModelgateError("unauthorized", FAILURE_DETAIL[verdict.reason]);
    }
    c.set("verifiedBody", body);
    await next();
  });
}
