import { z } from "zod";
import {
  V2ErrorSchema,
  V2InferRequestSchema,
  V2InferResponseSchema,
  V2ModelConfigSchema,
  V2ModelMetadataSchema,
  V2ModelReadySchema,
  V2ServerLiveSchema,
  V2ServerMetadataSchema,
  V2ServerReadySchema,
} from "../kserve/v2-schemas.js";
import { component, type ResponseSpec, type RouteSpec } from "./route-spec.js";

const TAG = "KServe V2 (Open Inference Protocol)";

const V2Error = component("V2Error", V2ErrorSchema);

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: "The request does not fit the model's io contract (the input and, for a shape, the dimension are named), its binary data does not add up, it names an unknown output, the model refused the values (e.g. an index out of range), or the model is not a tensor model.",
  401: "No API key, or the key is unknown, expired or revoked.",
  403: "The key is valid but lacks the `infer` scope.",
  404: "No such model, or it has no version matching the path.",
  405: "The path exists under another method (`Allow` says which).",
  413: "The body, or its tensors once decoded, are larger than the edge accepts (`MODELGATE_MAX_TENSOR_BODY_BYTES`).",
  415: "The body is neither `application/json` nor the binary extension (an `Inference-Header-Content-Length` header).",
  429: "The key's requests-per-minute limit was reached; see `Retry-After`.",
  502: "The GPU worker failed.",
  503: "No live worker can serve the model.",
  504: "The GPU worker did not answer in time.",
};

/**
 * The protocol's error object for each status. Unlike every other route family these are not
 * problem+json: V2 clients read `{"error": "<message>"}` from any non-200 answer.
 */
function v2Errors(statuses: readonly number[]): Record<number, ResponseSpec> {
  return Object.fromEntries(
    statuses.map((status) => [status, { description: ERROR_DESCRIPTIONS[status] ?? "An error.", schema: V2Error }]),
  );
}

const SCOPED_ERRORS = [401, 403, 429] as const;

const ModelParams = z.strictObject({
  model: z
    .string()
    .describe("A tensor model's name (its Production version), or any modelgate reference such as `spirals@champion`.")
    .meta({ examples: ["spirals"] }),
});
const VersionedParams = z.strictObject({
  model: z
    .string()
    .describe("A tensor model's name.")
    .meta({ examples: ["spirals"] }),
  version: z
    .string()
    .describe("A version number, `production`, `staging`, `latest` or an alias.")
    .meta({ examples: ["1"] }),
});

const ACCESS =
  'Errors on every `/v2` route are the protocol\'s `{"error": "<message>"}` (`application/json`), not problem+json.';

const metadata = (path: string, pathParams: z.ZodObject): RouteSpec => ({
  method: "GET",
  path,
  scope: "infer",
  tag: TAG,
  summary: path.includes("{version}") ? "Model version metadata" : "Model metadata",
  description:
    "The io contract (read out of the ONNX file at registration) as `$metadata_model_response`: inputs and outputs " +
    "with their datatypes (dynamic axes are -1); a classifier (one input, an output named `probabilities` or " +
    "`logits`) also lists the derived INT64 `predictions` (each row's class). `platform` `onnxruntime_onnx`, and " +
    `every tensor version as a string. ${ACCESS}`,
  pathParams,
  responses: {
    200: { description: "The model's metadata.", schema: component("V2ModelMetadata", V2ModelMetadataSchema) },
    ...v2Errors([400, ...SCOPED_ERRORS, 404]),
  },
});

const V2ModelReady = component("V2ModelReady", V2ModelReadySchema);

const ready = (path: string, pathParams: z.ZodObject): RouteSpec => ({
  method: "GET",
  path,
  scope: "infer",
  tag: TAG,
  summary: path.includes("{version}") ? "Model version readiness" : "Model readiness",
  description: `Ready when a live worker can take the version now (enough free GPU memory, or it is loaded). ${ACCESS}`,
  pathParams,
  responses: {
    200: { description: "Ready.", schema: V2ModelReady },
    400: {
      description:
        "Not ready (`ready: false`), per the protocol's 4xx-means-false rule; or a model that is not a tensor model (`error`).",
      schema: z.union([V2ModelReady, V2Error]),
    },
    ...v2Errors([...SCOPED_ERRORS, 404]),
  },
});

const infer = (path: string, pathParams: z.ZodObject): RouteSpec => ({
  method: "POST",
  path,
  scope: "infer",
  tag: TAG,
  summary: path.includes("{version}") ? "Infer with a model version" : "Infer",
  description:
    "Every input of the io contract, any datatype and rank, `data` flat or nested row-major, or raw bytes with the " +
    "binary tensor data extension (`Inference-Header-Content-Length` bytes of JSON header, then each input's " +
    "`parameters.binary_data_size` bytes). Checked against the contract (names, datatypes, fixed dimensions, " +
    "named dimensions agreeing across inputs) before anything is forwarded; the worker runs the typed tensors, " +
    "dynamically batched. `outputs` selects outputs (default: all); `parameters.binary_data` on an output, or " +
    "`binary_data_output` on the request, answers it as bytes after the JSON header (then `application/octet-stream` " +
    "with `Inference-Header-Content-Length`). The answer's `parameters` carry `inference_time_ms`, " +
    "`queue_time_ms` and `batch_size`. The classification extension is refused; causal LMs are refused with a " +
    `pointer to \`/v1/generate\`. ${ACCESS}`,
  pathParams,
  body: component("V2InferRequest", V2InferRequestSchema),
  responses: {
    200: { description: "The requested outputs.", schema: component("V2InferResponse", V2InferResponseSchema) },
    ...v2Errors([400, ...SCOPED_ERRORS, 404, 413, 415, 502, 503, 504]),
  },
});

const config = (path: string, pathParams: z.ZodObject): RouteSpec => ({
  method: "GET",
  path,
  scope: "infer",
  tag: TAG,
  summary: path.includes("{version}") ? "Model version configuration" : "Model configuration",
  description:
    "The model configuration extension: the io contract and the version's registry `serving` config as Triton's " +
    "config.pbtxt in JSON (`max_batch_size`, `input`/`output` with `data_type` and `dims` without the batch " +
    `dimension when batching, \`dynamic_batching\`). \`max_batch_size\` 0: not batched, full shapes. ${ACCESS}`,
  pathParams,
  responses: {
    200: { description: "The model's configuration.", schema: component("V2ModelConfig", V2ModelConfigSchema) },
    ...v2Errors([400, ...SCOPED_ERRORS, 404]),
  },
});

export const kserveRouteSpecs: readonly RouteSpec[] = [
  {
    method: "GET",
    path: "/v2",
    scope: "public",
    tag: TAG,
    summary: "Server metadata",
    description: `\`$metadata_server_response\`: the extensions offered are \`binary_tensor_data\`, \`parameters\` and \`model_configuration\`. Any path under \`/v2\` that nothing serves answers 404 (405 for another method) as \`{"error"}\`. ${ACCESS}`,
    responses: {
      200: { description: "The server.", schema: component("V2ServerMetadata", V2ServerMetadataSchema) },
    },
  },
  {
    method: "GET",
    path: "/v2/health/live",
    scope: "public",
    tag: TAG,
    summary: "Server liveness",
    description: "For Kubernetes liveness probes: the edge answers and its configuration is valid.",
    responses: { 200: { description: "Live.", schema: component("V2ServerLive", V2ServerLiveSchema) } },
  },
  {
    method: "GET",
    path: "/v2/health/ready",
    scope: "public",
    tag: TAG,
    summary: "Server readiness",
    description: "For Kubernetes readiness probes: ready while at least one GPU worker's heartbeat is fresh.",
    responses: {
      200: { description: "A live worker exists.", schema: component("V2ServerReady", V2ServerReadySchema) },
      400: { description: "No live worker (the protocol's 4xx-means-false rule).", schema: V2ServerReadySchema },
    },
  },
  metadata("/v2/models/{model}", ModelParams),
  metadata("/v2/models/{model}/versions/{version}", VersionedParams),
  config("/v2/models/{model}/config", ModelParams),
  config("/v2/models/{model}/versions/{version}/config", VersionedParams),
  ready("/v2/models/{model}/ready", ModelParams),
  ready("/v2/models/{model}/versions/{version}/ready", VersionedParams),
  infer("/v2/models/{model}/infer", ModelParams),
  infer("/v2/models/{model}/versions/{version}/infer", VersionedParams),
];
