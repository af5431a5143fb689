import { z } from "zod";
import type { RouteSpec } from "./route-spec.js";

export const metricsRouteSpecs: readonly RouteSpec[] = [
  {
    method: "GET",
    path: "/metrics",
    scope: "admin",
    tag: "Operations",
    summary: "The edge's metrics for Prometheus",
    description:
      "Prometheus text format 0.0.4: `modelgate_edge_*` counters and histograms added up over every isolate " +
      "(each isolate flushes once per `MODELGATE_METRICS_FLUSH_MS`), and gauges read live from the worker pool, " +
      "the registry and the conversion queue. Open to the `admin` scope, or to the bearer token set as " +
      "`MODELGATE_METRICS_TOKEN` (which opens this route only). docs/operations.md lists every series.",
    responses: {
      200: {
        description: "Every edge metric family, HELP and TYPE included.",
        schema: z.string(),
        contentType: "text/plain; version=0.0.4",
      },
    },
  },
];
