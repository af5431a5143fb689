import { ModelgateError } from "@modelgate/shared";
import type { Context } from "hono";
import type { AppEnv } from "../env.js";
import { logEvent } from "../logging/edge-log.js";
import { rolloutHeaderEntries } from "../rollouts/rollout-split.js";

/**
 * Every failure on a `/v2` route, authentication included, as the Open Inference Protocol's
 * error object `{"error": "<message>"}` with the matching HTTP status. This is the one place
 * where modelgate departs from its problem+json error model (edge/src/http/problem.ts): V2
 * clients (KServe's, Triton's tritonclient) read the `error` member of any non-200 answer and
 * break on any other shape, so for these routes the protocol's shape wins. The message is the
 * same public detail a problem would carry; internals still never reach the client.
 */
export function v2ErrorResponse(c: Context<AppEnv>, error: unknown): Response {
  const known =
    error instanceof ModelgateError ? error : new ModelgateError("internal", "The edge failed to handle this request.");
  if (!(error instanceof ModelgateError))
    logEvent("error", "unhandled edge error", { request_id: c.get("requestId"), error });
  const headers: Record<string, string> = { "content-type": "application/json" };
  const requestId = c.get("requestId");
  if (requestId) headers["x-request-id"] = requestId;
  if (known.code === "unauthorized") headers["www-authenticate"] = 'Bearer realm="modelgate"';
  if (known.retryAfterSeconds !== undefined) headers["retry-after"] = String(known.retryAfterSeconds);
  Object.assign(headers, rolloutHeaderEntries(c));
  return new Response(JSON.stringify({ error: known.message }), { status: known.status, headers });
}

/**
 * A worker's 4xx answer (a problem) in the protocol's shape: its `detail` is the message the
 * caller needs (e.g. which row had the wrong number of values).
 */
export async function v2ErrorFromWorker(c: Context<AppEnv>, response: Response): Promise<Response> {
  const text = await response.text();
  let message = `The worker refused the request (${response.status}).`;
  try {
    const problem: unknown = JSON.parse(text);
    if (typeof problem === "object" && problem !== null && "detail" in problem && typeof problem.detail === "string") {
      message = problem.detail;
    }
  } catch {
    // Not JSON: keep the generic message rather than echo whatever the worker sent.
  }
  const headers = new Headers(response.headers);
  headers.set("content-type", "application/json");
  headers.delete("content-length");
  const requestId = c.get("requestId");
  if (requestId) headers.set("x-request-id", requestId);
  return new Response(JSON.stringify({ error: message }), { status: response.status, headers });
}

/** A path in the protocol's namespace: everything under it answers in the protocol's error shape. */
export function isV2Path(path: string): boolean {
  return path === "/v2" || path.startsWith("/v2/");
}

const MODEL = "/v2/models/[^/]+(?:/versions/[^/]+)?";
/** The protocol's routes served here, with their methods (HEAD answers wherever GET does). */
const V2_ROUTES: ReadonlyArray<{ pattern: RegExp; methods: readonly string[] }> = [
  { pattern: /^\/v2$/, methods: ["GET"] },
  { pattern: /^\/v2\/health\/(?:live|ready)$/, methods: ["GET"] },
  { pattern: new RegExp(`^${MODEL}(?:/ready|/config)?$`), methods: ["GET"] },
  { pattern: new RegExp(`^${MODEL}/infer$`), methods: ["POST"] },
];

/**
 * Any other request under `/v2`: 405 with `Allow` for a known path asked with another method,
 * else 404 — both as `{"error": …}`, as V2 clients expect of every answer on these paths.
 */
export function v2NoRoute(c: Context<AppEnv>): Response {
  const path = c.req.path;
  const route = V2_ROUTES.find((candidate) => candidate.pattern.test(path));
  if (route && !route.methods.includes(c.req.method)) {
    const allow = [...route.methods, ...(route.methods.includes("GET") ? ["HEAD"] : [])].join(", ");
    const headers: Record<string, string> = { "content-type": "application/json", allow };
    const requestId = c.get("requestId");
    if (requestId) headers["x-request-id"] = requestId;
    return new Response(JSON.stringify({ error: `${c.req.method} is not allowed on ${path}; use ${allow}.` }), {
      status: 405,
      headers,
    });
  }
  return v2ErrorResponse(c, new ModelgateError("not_found", `No route for ${c.req.method} ${path} in the V2 API.`));
}
