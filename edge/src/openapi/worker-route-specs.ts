import {
  DrainWorkerRequestSchema,
  EnrolmentIssuedSchema,
  EnrolWorkerRequestSchema,
  ExchangeEnrolmentRequestSchema,
  HeartbeatAcceptedSchema as SharedHeartbeatAcceptedSchema,
  WorkerControlSchema,
  WorkerCredentialIssuedSchema,
  WorkerDrainStateSchema,
  WorkerHeartbeatSchema,
  WorkerIdentityViewSchema,
  WorkerIdSchema,
  WorkerListEntrySchema,
} from "@modelgate/shared";
import { z } from "zod";
import { component, problemResponses, type RouteSpec } from "./route-spec.js";

export const HeartbeatAcceptedSchema = component("HeartbeatAccepted", SharedHeartbeatAcceptedSchema);

export const WorkerListSchema = component(
  "WorkerList",
  z.strictObject({ workers: z.array(component("WorkerListEntry", WorkerListEntrySchema)) }),
);

const WorkerIdentityView = component("WorkerIdentity", WorkerIdentityViewSchema);

export const WorkerControlAnswerSchema = component(
  "WorkerControlAnswer",
  z.strictObject({
    worker_id: WorkerIdSchema,
    control: component("WorkerControl", WorkerControlSchema),
    drain_state: component("WorkerDrainState", WorkerDrainStateSchema),
  }),
);

const WorkerIdParamsSchema = z.strictObject({ id: WorkerIdSchema.meta({ examples: ["gpu-box-1"] }) });

const controlSpec = (verb: "cordon" | "uncordon", summary: string, description: string): RouteSpec => ({
  method: "POST",
  path: `/v1/workers/{id}/${verb}`,
  scope: "admin",
  tag: "Workers",
  summary,
  description,
  pathParams: WorkerIdParamsSchema,
  responses: {
    200: { description: "The worker's control state.", schema: WorkerControlAnswerSchema },
    ...problemResponses([404], { 404: "No worker with this id has sent a heartbeat or been enrolled." }),
  },
});

export const workerRouteSpecs: readonly RouteSpec[] = [
  {
    method: "POST",
    path: "/internal/workers/heartbeat",
    scope: "worker",
    tag: "Workers",
    summary: "Report a GPU worker's state",
    description:
      "Sent by each GPU worker every `interval_ms` with its GPU snapshot, loaded models and queue depth. " +
      "Workers older than three intervals are not routed to. An enrolled worker's credential is accepted " +
      "for its own `worker_id` only, and only with a `url` inside its enrolled URL pattern; the shared " +
      "worker token (legacy mode only) for ids nobody enrolled. A refused heartbeat changes nothing.",
    body: component("WorkerHeartbeat", WorkerHeartbeatSchema),
    responses: {
      202: { description: "Recorded.", schema: HeartbeatAcceptedSchema },
      ...problemResponses([403], { 403: "Another worker's credential, or a URL outside the enrolled pattern." }),
    },
  },
  {
    method: "GET",
    path: "/v1/workers",
    scope: "admin",
    tag: "Workers",
    summary: "List the worker fleet",
    description:
      "Each worker's last heartbeat, its age, whether it is `live` (younger than three intervals), its identity, " +
      "its cordon/drain control and `drain_state`.",
    responses: { 200: { description: "The fleet.", schema: WorkerListSchema } },
  },
  {
    method: "POST",
    path: "/v1/workers/{id}/enrolment",
    scope: "admin",
    tag: "Workers",
    summary: "Issue a worker's one-time enrolment token",
    description:
      "The worker exchanges the token (`MODELGATE_ENROLMENT_TOKEN`) once for its own credential, bound to this id, " +
      "the URL pattern and the labels. Enrolling an enrolled worker again rotates its credential when the new " +
      "token is exchanged.",
    pathParams: WorkerIdParamsSchema,
    body: component("EnrolWorkerRequest", EnrolWorkerRequestSchema),
    responses: {
      201: { description: "The enrolment token.", schema: component("EnrolmentIssued", EnrolmentIssuedSchema) },
    },
  },
  {
    method: "POST",
    path: "/internal/workers/enrol",
    scope: "public",
    tag: "Workers",
    summary: "Exchange an enrolment token for a worker credential",
    description:
      "Called by the GPU worker at start-up. Each token works once and until it expires; the credential is in this " +
      "answer only (the edge keeps its sha256).",
    body: component("ExchangeEnrolmentRequest", ExchangeEnrolmentRequestSchema),
    responses: {
      201: {
        description: "The worker's credential.",
        schema: component("WorkerCredentialIssued", WorkerCredentialIssuedSchema),
      },
      ...problemResponses([401, 409], {
        401: "The token is malformed, expired or not issued by this edge.",
        409: "The token was already exchanged.",
      }),
    },
  },
  {
    method: "POST",
    path: "/v1/workers/{id}/revoke",
    scope: "admin",
    tag: "Workers",
    summary: "Revoke a worker's credential",
    description: "Its heartbeats and job calls are refused from now on and it leaves routing at once. Idempotent.",
    pathParams: WorkerIdParamsSchema,
    responses: {
      200: {
        description: "The revoked identity.",
        schema: component("WorkerRevoked", z.strictObject({ worker_id: WorkerIdSchema, identity: WorkerIdentityView })),
      },
      ...problemResponses([404], { 404: "No enrolled worker with this id." }),
    },
  },
  controlSpec("cordon", "Cordon a worker", "The worker takes no new requests or conversion jobs; what runs finishes."),
  controlSpec("uncordon", "Uncordon a worker", "The worker takes new work again (a drain is cancelled)."),
  {
    method: "POST",
    path: "/v1/workers/{id}/drain",
    scope: "admin",
    tag: "Workers",
    summary: "Drain a worker",
    description:
      "Cordons the worker and follows its generations and conversion leases until none is left (`drain_state: " +
      "drained`) or `timeout_seconds` pass (`drain_timed_out`). Poll `GET /v1/workers` or this route's answer.",
    pathParams: WorkerIdParamsSchema,
    body: component("DrainWorkerRequest", DrainWorkerRequestSchema),
    responses: {
      200: { description: "The worker's control state.", schema: WorkerControlAnswerSchema },
      ...problemResponses([404], { 404: "No worker with this id has sent a heartbeat or been enrolled." }),
    },
  },
];
