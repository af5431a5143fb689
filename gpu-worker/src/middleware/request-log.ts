/**
 * Every request gets an id — the edge's `x-request-id` when it sent a well-formed one, so one id
 * follows a request edge → worker — returned in `x-request-id` and carried by one JSON log line
 * (method, path, status, duration). Scrapes and health checks log at debug: they arrive every
 * few seconds and say nothing about traffic.
 */
import { randomUUID } from "node:crypto";
import { createMiddleware } from "hono/factory";
import type { WorkerAppEnv } from "../http/app-env.js";

const REQUEST_ID = /^[A-Za-z0-9._-]{8,128}$/;
const QUIET_PATHS = new Set(["/health", "/metrics"]);

export const requestLog = createMiddleware<WorkerAppEnv>(async function requestLog(c, next) {
  const started = performance.now();
  const incoming = c.req.header("x-request-id");
  const requestId = incoming !== undefined && REQUEST_ID.test(incoming) ? incoming : randomUUID();
  c.set("requestId", requestId);
  await next();
  c.header("x-request-id", requestId);
  const status = c.res.status;
  const fields = {
    request_id: requestId,
    method: c.req.method,
    path: c.req.path,
    status,
    duration_ms: Math.round((performance.now() - started) * 10) / 10,
  };
  const logger = c.get("logger");
  if (status >= 500) logger.error("request", fields);
  else if (QUIET_PATHS.has(c.req.path)) logger.debug("request", fields);
  else logger.info("request", fields);
});
