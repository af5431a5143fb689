/**
 * `GET /metrics`: the worker in Prometheus' text format (prom-client). Open unless
 * `MODELGATE_METRICS_TOKEN` is set, in which case Prometheus sends it as a bearer token
 * (`authorization: { credentials: … }` in its scrape config).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { ModelgateError } from "@modelgate/shared";
import { Hono } from "hono";
import type { WorkerAppEnv } from "../http/app-env.js";
import type { WorkerMetrics } from "../metrics/worker-metrics.js";

const digest = (text: string) => createHash("sha256").update(text).digest();

export function metricsRoutes(metrics: WorkerMetrics, token: string | undefined) {
  const expected = token === undefined ? undefined : digest(token);
  return new Hono<WorkerAppEnv>().get("/metrics", async (c) => {
    if (expected !== undefined) {
      const match = /^Bearer\s+(\S{1,512})$/i.exec(c.req.header("authorization") ?? "");
      // Equal-length digests compare in constant time whatever was sent.
      if (!match?.[1] || !timingSafeEqual(digest(match[1]), expected)) {
        throw new ModelgateError("unauthorized", "Send the metrics token as `Authorization: Bearer <token>`.");
      }
    }
    return c.body(await metrics.render(), 200, { "content-type": metrics.contentType, "cache-control": "no-store" });
  });
}
