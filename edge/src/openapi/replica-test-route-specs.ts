import { ReplicaTestReportSchema } from "@modelgate/shared";
import { VersionSelectorParamsSchema } from "./model-route-specs.js";
import { component, problemResponses, type RouteSpec } from "./route-spec.js";

export const replicaTestRouteSpecs: readonly RouteSpec[] = [
  {
    method: "POST",
    path: "/v1/models/{name}/versions/{version}/replica-tests",
    scope: "admin",
    tag: "Model registry",
    summary: "Smoke-test a version on every replica",
    description:
      "Sends one signed smoke request (a one-token generation, or a prediction on one row of zeros) to every " +
      "live worker that takes work and matches the version's placement, all at once, and reports each: " +
      "`worker_id`, `ok`, the worker's `status`, `latency_ms`, whether it was `warm`, and the `error`. A worker " +
      "that fails is reported, not retried elsewhere. `modelgate models test name@3` calls it.",
    pathParams: VersionSelectorParamsSchema,
    responses: {
      200: { description: "One result per replica.", schema: component("ReplicaTestReport", ReplicaTestReportSchema) },
      ...problemResponses([400, 404, 503], {
        400: "The version is a scorer, or a tensor contract without one [batch, features] input.",
        404: "No live model with this name, or it has no such version.",
        503: "No live worker matches the version's placement (the detail names it).",
      }),
    },
  },
];
