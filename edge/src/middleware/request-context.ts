import { ModelgateError, validationError } from "@modelgate/shared";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.js";
import { type EdgeConfig, EdgeConfigSchema } from "../env.js";
import { logEvent, setEdgeLogLevel } from "../logging/edge-log.js";

let cachedConfig: { source: unknown; config: EdgeConfig } | undefined;

/** Gives every request an id (echoed in `x-request-id`) and the validated edge configuration. */
export const requestContext = createMiddleware<AppEnv>(async function requestContext(c, next) {
  c.set("startedAt", Date.now());
  const incoming = c.req.header("x-request-id");
  const requestId = incoming && /^[A-Za-z0-9._-]{8,128}$/.test(incoming) ? incoming : crypto.randomUUID();
  c.set("requestId", requestId);
  c.header("x-request-id", requestId);
  // Bindings are fixed for an isolate's life; validate them once, not per request.
  if (cachedConfig?.source !== c.env) {
    const parsed = EdgeConfigSchema.safeParse(c.env);
    if (!parsed.success) {
      const problem = validationError(parsed.error, "edge configuration");
      logEvent("error", "the edge is misconfigured", { problem: problem.message, fields: problem.fieldErrors });
      throw new ModelgateError("internal", "The edge is misconfigured; its operator has been told which setting.");
    }
    cachedConfig = { source: c.env, config: parsed.data };
    setEdgeLogLevel(parsed.data.MODELGATE_LOG_LEVEL);
  }
  c.set("config", cachedConfig.config);
  await next();
});
