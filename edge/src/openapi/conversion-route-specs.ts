import {
  ClaimedConversionSchema,
  CompleteConversionRequestSchema,
  ConversionJobSchema,
  ConversionProgressRequestSchema,
  ConversionRequestSchema,
  FailConversionRequestSchema,
  ModelNameSchema,
} from "@modelgate/shared";
import { z } from "zod";
import { ConversionListQuerySchema } from "../routes/conversions.js";
import { leasedJobRouteParts } from "./leased-job-route-specs.js";
import { ClaimJobRequestComponent, component, problemResponses, type RouteSpec } from "./route-spec.js";

const TAG = "Conversions";

/** A job with its status, pipeline step, progress, errors and (when done) a summary per format. */
export const ConversionJobComponent = component("ConversionJob", ConversionJobSchema);

const ConversionListSchema = component(
  "ConversionList",
  z.strictObject({ jobs: z.array(ConversionJobComponent).describe("Newest first.") }),
);

const VersionParamsSchema = z.strictObject({
  name: ModelNameSchema.meta({ examples: ["demo-lm"] }),
  version: z
    .string()
    .regex(/^[1-9][0-9]{0,8}$/, "writes name the version by number")
    .describe("The version number to convert.")
    .meta({ examples: ["1"] }),
});

const {
  jobIdParams: JobIdParamsSchema,
  noJob,
  notHolder,
  workerRoute,
} = leasedJobRouteParts({
  tag: TAG,
  noun: "conversion job",
  idSchema: ConversionJobSchema.shape.id,
  idExample: "cj_00000000-0000-4000-8000-000000000000",
  jobComponent: ConversionJobComponent,
});
const storage = { 503: "Object storage is unreachable or not configured (the detail names the variable)." };

export const conversionRouteSpecs: readonly RouteSpec[] = [
  {
    method: "POST",
    path: "/v1/models/{name}/versions/{version}/conversions",
    scope: "models:write",
    tag: TAG,
    summary: "Convert a version",
    description:
      "Queues a conversion of the registered original to smaller ONNX formats (fp16, int8, int4) for a GPU " +
      "worker: contract extraction, shape enumeration (`shapes`; `primary` must pass), conversion, numeric " +
      "verification against the original and seed 001's quality gates. Follow it at the `Location` answered.",
    pathParams: VersionParamsSchema,
    body: component("ConversionRequest", ConversionRequestSchema),
    responses: {
      202: { description: "Queued.", schema: ConversionJobComponent },
      ...problemResponses([404, 409], {
        404: "No live model with this name, or it has no such version.",
        409: "A queued or running job of this version already converts one of these targets (named in `detail`).",
      }),
    },
  },
  {
    method: "GET",
    path: "/v1/conversions",
    scope: "models:read",
    tag: TAG,
    summary: "List conversion jobs",
    description: "Newest first, optionally only one model's or one status's.",
    query: ConversionListQuerySchema,
    responses: { 200: { description: "The jobs.", schema: ConversionListSchema } },
  },
  {
    method: "GET",
    path: "/v1/conversions/{id}",
    scope: "models:read",
    tag: TAG,
    summary: "Show a conversion job",
    description:
      "Status, the pipeline step (`step_detail` names the target being converted or verified), progress 0–1, " +
      "every error (including leases that expired because a worker stopped renewing) and, when it succeeded, " +
      "a summary per format; the version itself holds the full record.",
    pathParams: JobIdParamsSchema,
    responses: {
      200: { description: "The job.", schema: ConversionJobComponent },
      ...problemResponses([404], noJob),
    },
  },
  {
    method: "POST",
    path: "/v1/conversions/{id}/cancel",
    scope: "models:write",
    tag: TAG,
    summary: "Cancel a conversion job",
    description:
      "A queued or running job is cancelled at once; a running job's worker learns it from the answer to its " +
      "next progress report, and its result is refused.",
    pathParams: JobIdParamsSchema,
    responses: {
      200: { description: "The cancelled job.", schema: ConversionJobComponent },
      ...problemResponses([404, 409], { ...noJob, 409: "The job already ended." }),
    },
  },
  {
    method: "POST",
    path: "/internal/conversions/claim",
    scope: "worker",
    tag: TAG,
    summary: "Claim the oldest queued conversion job",
    description:
      "For GPU workers. The job is leased to `worker_id` for `lease_ms` (MODELGATE_CONVERSION_LEASE_MS); each " +
      "progress report renews it. A job whose lease runs out goes back to the queue with an error entry, and " +
      "fails after `max_attempts` claims.",
    body: ClaimJobRequestComponent,
    responses: {
      200: {
        description: "The job, the version document to convert and the lease length.",
        schema: component("ClaimedConversion", ClaimedConversionSchema),
      },
      204: { description: "Nothing is queued." },
    },
  },
  workerRoute(
    "/internal/conversions/{id}/progress",
    "Report a conversion job's progress",
    "Renews the lease. The answer's `status` is `cancelled` when the job was cancelled meanwhile: stop then.",
    component("ConversionProgressRequest", ConversionProgressRequestSchema),
  ),
  {
    ...workerRoute(
      "/internal/conversions/{id}/complete",
      "Complete a conversion job",
      "Every artifact and file the report names must be in object storage with the declared size and sha256; " +
        "then the version records its source verification and converted formats, and the job succeeds.",
      component("CompleteConversionRequest", CompleteConversionRequestSchema),
    ),
    responses: {
      200: { description: "The succeeded job.", schema: ConversionJobComponent },
      ...problemResponses([404, 409, 422, 503], {
        ...noJob,
        ...notHolder,
        422: "A named object is missing (`artifact_missing`) or differs (`artifact_mismatch`); the job keeps running.",
        ...storage,
      }),
    },
  },
  {
    ...workerRoute(
      "/internal/conversions/{id}/fail",
      "Fail a conversion job",
      "Ends the job with the error. A `source_verification` (the original failed a must-pass gate) is recorded " +
        "on the version first, after its files are checked in object storage.",
      component("FailConversionRequest", FailConversionRequestSchema),
    ),
    responses: {
      200: { description: "The failed job.", schema: ConversionJobComponent },
      ...problemResponses([404, 409, 422, 503], {
        ...noJob,
        ...notHolder,
        422: "A file of `source_verification` is missing or differs from its declaration.",
        ...storage,
      }),
    },
  },
];
