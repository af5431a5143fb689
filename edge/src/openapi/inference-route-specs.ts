import {
  GenerateRequestSchema,
  GenerateResponseSchema,
  PredictRequestSchema,
  PredictResponseSchema,
} from "@modelgate/shared";
import { component, problemResponses, type RouteSpec } from "./route-spec.js";

const INFERENCE_PROBLEMS = problemResponses([404, 422, 502, 503, 504], {
  404: "No such model, or it has no version matching the reference, or the version has no such converted format.",
  422: "`gate_failed`: the requested converted format failed its must-pass gates and is not served.",
});

const MODEL_REFERENCE_HELP =
  "`model` is `name` (its Production version), `name@<version>`, `name@production`, `name@staging`, " +
  "`name@latest` or `name@<alias>`, optionally followed by `:<format>` (`fp32` the registered original, " +
  "`fp16`, `int8`, `int4` a converted format that passed its gates, `best` the preferred one that did); " +
  "without it the version's `serving_format` is served.";

export const inferenceRouteSpecs: readonly RouteSpec[] = [
  {
    method: "POST",
    path: "/v1/generate",
    scope: "infer",
    tag: "Inference",
    summary: "Generate text with a causal LM",
    description:
      `${MODEL_REFERENCE_HELP} The edge picks a live worker, forwards the request signed, and answers with ` +
      "`x-modelgate-worker`, `x-modelgate-model` and `x-modelgate-route-reason` headers. A key's maximum CAWS " +
      "tier caps the runtime configuration. Give `prompt` (raw text) or `messages` (rendered with the model's " +
      "chat template). With a `judge` (json_schema, regex, or a registered scorer model) the answer is refined " +
      "until the judge passes, the halt head says stop, or the loop budget runs out; each loop is in `loops`. " +
      'With `"stream": true` the answer is `text/event-stream`: `token` events `{loop, text}`, a `loop` event ' +
      "per refinement loop, then one `done` event carrying this response body, or one `error` event carrying " +
      "a problem object.",
    body: component("GenerateRequest", GenerateRequestSchema),
    responses: {
      200: {
        description: "The generation with its efficiency metrics.",
        schema: component("GenerateResponse", GenerateResponseSchema),
      },
      ...INFERENCE_PROBLEMS,
    },
  },
  {
    method: "POST",
    path: "/v1/predict",
    scope: "infer",
    tag: "Inference",
    summary: "Predict with a tensor model",
    description: `${MODEL_REFERENCE_HELP} Rows of features in; a class and probabilities per row out.`,
    body: component("PredictRequest", PredictRequestSchema),
    responses: {
      200: { description: "One prediction per row.", schema: component("PredictResponse", PredictResponseSchema) },
      ...INFERENCE_PROBLEMS,
    },
  },
];
