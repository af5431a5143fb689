import { z } from "zod";
import { component, type RouteSpec } from "./route-spec.js";

/** What `GET /health` answers (edge/src/routes/health.ts). */
export const HealthStatusSchema = component(
  "HealthStatus",
  z.strictObject({
    status: z.literal("ok"),
    service: z.literal("modelgate-edge"),
    time: z.iso.datetime(),
  }),
);

export const healthRouteSpecs: readonly RouteSpec[] = [
  {
    method: "GET",
    path: "/health",
    scope: "public",
    tag: "Health",
    summary: "Edge liveness",
    description: "For load balancers and readiness checks. Answers even when the edge's secrets are missing.",
    responses: { 200: { description: "The edge is up.", schema: HealthStatusSchema } },
  },
];
