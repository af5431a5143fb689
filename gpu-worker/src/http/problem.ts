/** Every error leaves the worker as RFC 9457 problem+json; internals stay in the log. */
import { ModelgateError, PROBLEM_CONTENT_TYPE } from "@modelgate/shared";
import type { Context } from "hono";
import type { Logger } from "../logger.js";

export function problemResponse(error: ModelgateError, instance: string): Response {
  return new Response(JSON.stringify(error.toProblem(instance)), {
    status: error.status,
    headers: { "content-type": PROBLEM_CONTENT_TYPE },
  });
}

/** The app's one onError handler. */
export function handleError(logger: Logger) {
  return function renderProblem(error: unknown, c: Context): Response {
    if (error instanceof ModelgateError) return problemResponse(error, c.req.path);
    logger.error("unhandled error", { path: c.req.path, error });
    return problemResponse(new ModelgateError("internal", "The worker failed to handle this request."), c.req.path);
  };
}

export function notFound(c: Context): Response {
  return problemResponse(new ModelgateError("not_found", `No route for ${c.req.method} ${c.req.path}.`), c.req.path);
}
