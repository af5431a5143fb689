import { WorkerHeartbeatSchema, WorkerListEntrySchema, WorkerStateSchema } from "@modelgate/shared";
import { z } from "zod";
import { component, type RouteSpec } from "./route-spec.js";

export const HeartbeatAcceptedSchema = component(
  "HeartbeatAccepted",
  z.strictObject({
    worker_id: WorkerHeartbeatSchema.shape.worker_id,
    received_at: WorkerStateSchema.shape.received_at,
  }),
);

export const WorkerListSchema = component(
  "WorkerList",
  z.strictObject({ workers: z.array(component("WorkerListEntry", WorkerListEntrySchema)) }),
);

export const workerRouteSpecs: readonly RouteSpec[] = [
  {
    method: "POST",
    path: "/internal/workers/heartbeat",
    scope: "worker",
    tag: "Workers",
    summary: "Report a GPU worker's state",
    description:
      "Sent by each GPU worker every `interval_ms` with its GPU snapshot, loaded models and queue depth. " +
      "Workers older than three intervals are not routed to.",
    body: component("WorkerHeartbeat", WorkerHeartbeatSchema),
    responses: { 202: { description: "Recorded.", schema: HeartbeatAcceptedSchema } },
  },
  {
    method: "GET",
    path: "/v1/workers",
    scope: "admin",
    tag: "Workers",
    summary: "List the worker fleet",
    description: "Each worker's last heartbeat, its age, and whether it is `live` (younger than three intervals).",
    responses: { 200: { description: "The fleet.", schema: WorkerListSchema } },
  },
];
