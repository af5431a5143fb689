import {
  ClaimedEvaluationSchema,
  CompleteEvaluationRequestSchema,
  EvaluationJobIdSchema,
  EvaluationJobSchema,
  EvaluationProgressRequestSchema,
  EvaluationReportSchema,
  EvaluationRequestSchema,
  FailEvaluationRequestSchema,
} from "@modelgate/shared";
import { z } from "zod";
import { EvaluationListQuerySchema } from "../routes/evaluations.js";
import { leasedJobRouteParts } from "./leased-job-route-specs.js";
import { ClaimJobRequestComponent, component, problemResponses, type RouteSpec } from "./route-spec.js";

const TAG = "Evaluations";

/** A job with its targets, progress (results recorded of the total), parts, errors and, when done, per-target figures. */
const EvaluationJobComponent = component("EvaluationJob", EvaluationJobSchema);

const EvaluationListSchema = component(
  "EvaluationList",
  z.strictObject({ jobs: z.array(EvaluationJobComponent).describe("Newest first.") }),
);

const {
  jobIdParams: JobIdParamsSchema,
  noJob,
  notHolder,
  workerRoute,
} = leasedJobRouteParts({
  tag: TAG,
  noun: "evaluation job",
  idSchema: EvaluationJobIdSchema,
  idExample: "ej_00000000-0000-4000-8000-000000000000",
  jobComponent: EvaluationJobComponent,
});
const notFinished = { 409: "The job has not succeeded (yet): the detail says where it stands." };

export const evaluationRouteSpecs: readonly RouteSpec[] = [
  {
    method: "POST",
    path: "/v1/evaluations",
    scope: "models:write",
    tag: TAG,
    summary: "Evaluate targets over a dataset",
    description:
      "Queues an evaluation for a GPU worker: every line of an uploaded JSONL dataset (`{prompt | messages, " +
      "expected?, judge?, constraint?}` per line) runs on each target (`name@3`, `name@3:int8`, `auto:code`) " +
      "through the worker's engine, lines in flight together. The dataset is read and checked now (a bad line " +
      "is a 400 naming `dataset.lines.<n>.<field>`), targets and model judges are resolved now (an `auto:` " +
      "target is pinned to its category's best-scored Production version). Follow it at the `Location` answered.",
    body: component("EvaluationRequest", EvaluationRequestSchema),
    responses: {
      202: { description: "Queued.", schema: EvaluationJobComponent },
      ...problemResponses([404, 422, 503], {
        404: "A target or judge model does not exist (the field names which).",
        422: "The dataset object is missing or differs from its declared size or sha256; or a format failed its gates.",
        503: "Object storage is unreachable or not configured.",
      }),
    },
  },
  {
    method: "GET",
    path: "/v1/evaluations",
    scope: "models:read",
    tag: TAG,
    summary: "List evaluation jobs",
    description: "Newest first, optionally only one status's.",
    query: EvaluationListQuerySchema,
    responses: { 200: { description: "The jobs.", schema: EvaluationListSchema } },
  },
  {
    method: "GET",
    path: "/v1/evaluations/{id}",
    scope: "models:read",
    tag: TAG,
    summary: "Show an evaluation job",
    description:
      "Status, results recorded of the total (`completed`/`total`, `progress` 0–1), the parts recorded, every " +
      "error (including leases that expired because a worker stopped renewing) and, once it succeeded, the " +
      "per-target figures and where the report and results are.",
    pathParams: JobIdParamsSchema,
    responses: {
      200: { description: "The job.", schema: EvaluationJobComponent },
      ...problemResponses([404], noJob),
    },
  },
  {
    method: "GET",
    path: "/v1/evaluations/{id}/report",
    scope: "models:read",
    tag: TAG,
    summary: "Read an evaluation's report",
    description:
      "Seed 000's figures per target (pass rate, mean judge score, exact-match / regex / schema rates, " +
      "refinement loops, latent spans, halt probability and halt rate, CES tokens, latency p50/p95, tokens/s) " +
      "and how the run went; computed from the results file, which the edge checked row for row.",
    pathParams: JobIdParamsSchema,
    responses: {
      200: { description: "The report.", schema: component("EvaluationReport", EvaluationReportSchema) },
      ...problemResponses([404, 409], { ...noJob, ...notFinished }),
    },
  },
  {
    method: "GET",
    path: "/v1/evaluations/{id}/results",
    scope: "models:read",
    tag: TAG,
    summary: "Read an evaluation's results",
    description: "One JSON row per dataset line and target (JSONL), sorted by line then target.",
    pathParams: JobIdParamsSchema,
    responses: {
      200: { description: "The results file.", contentType: "application/x-ndjson" },
      ...problemResponses([404, 409], { ...noJob, ...notFinished }),
    },
  },
  {
    method: "POST",
    path: "/v1/evaluations/{id}/cancel",
    scope: "models:write",
    tag: TAG,
    summary: "Cancel an evaluation job",
    description: "A queued or running job is cancelled at once; a running job's worker learns it from its next report.",
    pathParams: JobIdParamsSchema,
    responses: {
      200: { description: "The cancelled job.", schema: EvaluationJobComponent },
      ...problemResponses([404, 409], { ...noJob, 409: "The job already ended." }),
    },
  },
  {
    method: "POST",
    path: "/internal/evaluations/claim",
    scope: "worker",
    tag: TAG,
    summary: "Claim the oldest queued evaluation job",
    description:
      "For GPU workers. The job is leased to `worker_id` for `lease_ms` (MODELGATE_EVALUATION_LEASE_MS); each " +
      "report renews it. A job whose lease runs out goes back to the queue with its recorded parts, and fails " +
      "after `max_attempts` claims.",
    body: ClaimJobRequestComponent,
    responses: {
      200: {
        description: "The job, each target's version document as served, model judges' scorers and the lease length.",
        schema: component("ClaimedEvaluation", ClaimedEvaluationSchema),
      },
      204: { description: "Nothing is queued." },
    },
  },
  {
    ...workerRoute(
      "/internal/evaluations/{id}/progress",
      "Report an evaluation job's progress",
      "Renews the lease; with `chunk`, records a finished results part once by its index. The answer's " +
        "`status` is `cancelled` when the job was cancelled meanwhile: stop then.",
      component("EvaluationProgressRequest", EvaluationProgressRequestSchema),
    ),
    responses: {
      200: { description: "The job as now stored.", schema: EvaluationJobComponent },
      ...problemResponses([400, 404, 409], {
        400: "The part is outside the job (`chunk.index`) or short of its rows (`chunk.results`).",
        ...noJob,
        ...notHolder,
      }),
    },
  },
  {
    ...workerRoute(
      "/internal/evaluations/{id}/complete",
      "Complete an evaluation job",
      "Every part must be recorded. The results and report must be in object storage as declared; the " +
        "results must hold one row per line and target and the report exactly their figures. Then each " +
        "target's version links the evaluation, and the job succeeds.",
      component("CompleteEvaluationRequest", CompleteEvaluationRequestSchema),
    ),
    responses: {
      200: { description: "The succeeded job.", schema: EvaluationJobComponent },
      ...problemResponses([404, 409, 422, 503], {
        ...noJob,
        409: "This worker does not hold the lease, or parts are still missing.",
        422: "A file is missing or differs, or the results and report disagree (the field says which); the job keeps running.",
        503: "Object storage is unreachable or not configured.",
      }),
    },
  },
  workerRoute(
    "/internal/evaluations/{id}/fail",
    "Fail an evaluation job",
    "Ends the job with the error.",
    component("FailEvaluationRequest", FailEvaluationRequestSchema),
  ),
];
