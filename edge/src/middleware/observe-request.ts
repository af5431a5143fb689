/**
 * After every request: the edge's request metrics (recorded in memory, flushed after the
 * response) and one JSON log line. Both name the route as registered (`/v1/models/:name`), so a
 * model name or a junk path never becomes a new series; unmatched paths are `unmatched`.
 */
import { EDGE_METRICS } from "@modelgate/shared";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { routePath } from "hono/route";
import type { AppEnv } from "../env.js";
import { logEnabled, logEvent } from "../logging/edge-log.js";
import { isolateMetrics, scheduleMetricsFlush } from "../metrics/isolate-metrics.js";

/** The route pattern that answered; catch-all middleware patterns mean no route matched. */
export function registeredRoute(c: Context<AppEnv>): string {
  const pattern = routePath(c, -1);
  return pattern === "" || pattern === "*" || pattern.endsWith("/*") ? "unmatched" : pattern;
}

export function statusClass(status: number): string {
  return `${Math.floor(status / 100)}xx`;
}

export const observeRequest = createMiddleware<AppEnv>(async function observeRequest(c, next) {
  await next();
  const status = c.res.status;
  const route = registeredRoute(c);
  const durationMs = Math.max(0, Date.now() - c.get("startedAt"));
  const routed = c.get("routed");
  if (c.get("config").MODELGATE_METRICS) {
    isolateMetrics.count(EDGE_METRICS.requests, {
      route,
      method: c.req.method,
      status_class: statusClass(status),
      model: routed?.model ?? "",
      version: routed ? String(routed.version) : "",
      format: routed?.format ?? "",
      worker_id: routed?.workerId ?? "",
    });
    isolateMetrics.observe(
      EDGE_METRICS.requestDuration,
      { route, status_class: statusClass(status) },
      durationMs / 1000,
    );
    scheduleMetricsFlush(c);
  }
  const level = status >= 500 ? "error" : "info";
  if (!logEnabled(level)) return;
  // The path, never the query string (presigned URLs and filters can carry more than we want kept).
  logEvent(level, "request", {
    request_id: c.get("requestId"),
    method: c.req.method,
    route,
    path: c.req.path,
    status,
    duration_ms: durationMs,
    principal: (c.get("principal") as { id: string } | undefined)?.id,
    model: routed
      ? `${routed.model}@${routed.version}${routed.format === "fp32" ? "" : `:${routed.format}`}`
      : undefined,
    worker_id: routed?.workerId,
    overhead_ms: numberOrUndefined(c.res.headers.get("x-modelgate-overhead-ms")),
  });
});

function numberOrUndefined(text: string | null): number | undefined {
  if (text === null) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}
