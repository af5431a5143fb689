import { ModelgateError, PROBLEM_CONTENT_TYPE } from "@modelgate/shared";
import type { Context } from "hono";
import type { AppEnv } from "../env.js";
import { logEvent } from "../logging/edge-log.js";
import { rolloutHeaderEntries } from "../rollouts/rollout-split.js";

/** Renders any thrown value as RFC 9457 problem+json; internals never reach the client. */
export function problemResponse(c: Context<AppEnv>, error: unknown): Response {
  const known =
    error instanceof ModelgateError ? error : new ModelgateError("internal", "The edge failed to handle this request.");
  if (!(error instanceof ModelgateError))
    logEvent("error", "unhandled edge error", { request_id: c.get("requestId"), error });
  const headers: Record<string, string> = { "content-type": PROBLEM_CONTENT_TYPE };
  const requestId = c.get("requestId");
  if (requestId) headers["x-request-id"] = requestId;
  // A canary's failures say which arm they came from, like its answers.
  Object.assign(headers, rolloutHeaderEntries(c));
  if (known.code === "unauthorized") headers["www-authenticate"] = 'Bearer realm="modelgate"';
  if (known.retryAfterSeconds !== undefined) headers["retry-after"] = String(known.retryAfterSeconds);
  return new Response(JSON.stringify(known.toProblem(c.req.path)), { status: known.status, headers });
}
