import {
  ModelNameSchema,
  RolloutControlRequestSchema,
  RolloutRequestSchema,
  RolloutViewSchema,
} from "@modelgate/shared";
import { z } from "zod";
import { component, problemResponses, type RouteSpec } from "./route-spec.js";

const TAG = "Canary rollouts";

const RolloutComponent = component("Rollout", RolloutViewSchema);
const ControlBody = component("RolloutControlRequest", RolloutControlRequestSchema);
const ModelNameParamsSchema = z.strictObject({ name: ModelNameSchema.meta({ examples: ["spirals"] }) });

const controlSpec = (action: "pause" | "resume" | "abort", summary: string, description: string): RouteSpec => ({
  method: "POST",
  path: `/v1/models/{name}/rollouts/current/${action}`,
  scope: "models:write",
  tag: TAG,
  summary,
  description: `${description} Recorded in the model's history with \`reason\` (send \`{}\` for none).`,
  pathParams: ModelNameParamsSchema,
  body: ControlBody,
  responses: {
    200: { description: "The rollout after the change.", schema: RolloutComponent },
    ...problemResponses([404, 409], {
      404: "No live model with this name.",
      409: "The model has no rollout in progress (none yet, or the last one has finished).",
    }),
  },
});

export const rolloutRouteSpecs: readonly RouteSpec[] = [
  {
    method: "POST",
    path: "/v1/models/{name}/rollouts",
    scope: "models:write",
    tag: TAG,
    summary: "Start a canary rollout",
    description:
      "Splits the traffic that names the model's Production version (`name`, `name@production`) between " +
      "Production and `candidate`: `percent` (default the first of `steps`) of the callers, by a deterministic " +
      "hash of their API key (`sticky: key`, the default) or of the request id (`sticky: request`). Every " +
      "`guard.window` seconds the guard reads the candidate's requests of the last window from the selection " +
      "analytics: a failure rate above `max_error_rate`, a p95 above `max_p95_ms` or a mean judge score below " +
      "`min_judge_score` rolls it back at once; a step that lasted a window with at least `min_requests` " +
      "candidate requests advances to the next, and after the last the candidate is promoted to Production " +
      "(the old one archived). Each step is in the model's history with its reason. Responses of split " +
      "requests carry `x-modelgate-rollout` (the rollout id) and `x-modelgate-rollout-arm` " +
      "(`candidate` or `production`).",
    pathParams: ModelNameParamsSchema,
    body: component("RolloutRequest", RolloutRequestSchema),
    responses: {
      201: { description: "The rollout, active.", schema: RolloutComponent },
      ...problemResponses([400, 404, 409, 422, 503], {
        400: "Invalid steps, percent or guard; the candidate is the Production version or of another kind; the model has no Production version (`errors[].field` names which).",
        404: "No live model with this name, or no such `candidate` version.",
        409: "The model already has a rollout in progress, or another write raced this one.",
        422: "`gate_failed`: the candidate failed its must-pass gates, so it could never be promoted.",
        503: "`analytics_unavailable`: the guard needs the ANALYTICS D1 binding.",
      }),
    },
  },
  {
    method: "GET",
    path: "/v1/models/{name}/rollouts/current",
    scope: "models:read",
    tag: TAG,
    summary: "The model's rollout",
    description:
      "The rollout in progress, or the last one with its outcome (`completed`, `rolled_back`, `aborted`) and " +
      "`reason`; `last_evaluation` holds the guard's figures of its last window.",
    pathParams: ModelNameParamsSchema,
    responses: {
      200: { description: "The rollout.", schema: RolloutComponent },
      ...problemResponses([404], { 404: "No live model with this name, or it has never had a rollout." }),
    },
  },
  controlSpec(
    "pause",
    "Pause a rollout",
    "Keeps the split where it is and stops the guard from advancing it (or rolling it back).",
  ),
  controlSpec("resume", "Resume a paused rollout", "The guard runs again; the current step's window starts over."),
  controlSpec("abort", "Abort a rollout", "Sends all traffic back to Production; the candidate keeps its stage."),
];
