import {
  ReloadModelQuerySchema,
  ReloadModelResponseSchema,
  Seed004PredictRequestSchema,
  Seed004PredictResponseSchema,
  ServableModelsSchema,
} from "../routes/seed-004-api.js";
import { component, problemResponses, type RouteSpec } from "./route-spec.js";

const TAG = "Seed 004 inference API";

const DEFAULT_MODEL =
  "Without `model`, the default model is the one tensor model that has a Production version; with none or " +
  "several, name one (404 / 400 naming `model`).";

export const seed004RouteSpecs: readonly RouteSpec[] = [
  {
    method: "GET",
    path: "/models",
    scope: "models:read",
    tag: TAG,
    summary: "Servable models and their versions",
    description:
      "Every tensor model (what `POST /predict` serves) with each version's stage, aliases and metrics, the live " +
      "workers that have it loaded, whether a live worker can take the Production version now (`ready`), and the " +
      "default model.",
    responses: {
      200: { description: "The servable models.", schema: component("ServableModels", ServableModelsSchema) },
    },
  },
  {
    method: "POST",
    path: "/predict",
    scope: "infer",
    tag: TAG,
    summary: "Predict (seed 004's shape)",
    description:
      `Seed 004's \`{"data": [[...]], "model_version"?: "3"}\`; \`model\` is optional. ${DEFAULT_MODEL} \`data\` is ` +
      "the model's one input as nested arrays (rows of features, `[N][3][H][W]` images), its shape read from the " +
      "nesting and checked against the io contract (400 naming `data`). A classifier (an output named " +
      "`probabilities` or `logits`) answers seed 004's `{predictions, probabilities, model_version, " +
      "inference_time_ms}` with the model's name added; any other model answers `outputs` (V2-style tensors, flat " +
      "`data`) instead of predictions and probabilities. Models with several inputs: use `/v2/models/{model}/infer`.",
    body: component("Seed004PredictRequest", Seed004PredictRequestSchema),
    responses: {
      200: {
        description: "One prediction per row (a classifier), or the model's outputs.",
        schema: component("Seed004PredictResponse", Seed004PredictResponseSchema),
      },
      ...problemResponses([400, 404, 413, 502, 503, 504], {
        400: "`data` does not fit the model's input (named), or the model takes several inputs.",
        404: "No such model or version, or no default model.",
      }),
    },
  },
  {
    method: "POST",
    path: "/reload-model",
    scope: "admin",
    tag: TAG,
    summary: "Reload the production model",
    description:
      "The edge keeps no copy of a model (each request reads the registry's current Production version), so " +
      "nothing needs clearing: this re-resolves the Production version now and warms it by running all-zeros " +
      "inputs (one row) on the worker routing chooses, which loads the artifact there. `warm_up` is null when an " +
      `input has a dynamic dimension past the first. ${DEFAULT_MODEL}`,
    query: ReloadModelQuerySchema,
    responses: {
      200: {
        description: "The version now served, and the warm-up.",
        schema: component("ReloadModelResponse", ReloadModelResponseSchema),
      },
      ...problemResponses([400, 404, 502, 503, 504], {
        404: "No such model or version, or no default model.",
        502: "The worker failed the warm-up prediction.",
      }),
    },
  },
];
