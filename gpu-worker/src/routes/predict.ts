/** `POST /v1/predict`: rows of features through a tensor model (seed 004's predict shape). */
import { PredictResponseSchema, WorkerPredictRequestSchema } from "@modelgate/shared";
import { Hono } from "hono";
import type { WorkerAppEnv } from "../http/app-env.js";
import { readVerifiedJson } from "../http/json-body.js";
import type { InferenceEngine } from "../inference/inference-service.js";

export function predictRoutes(inference: InferenceEngine) {
  return new Hono<WorkerAppEnv>().post("/v1/predict", async (c) => {
    const request = readVerifiedJson(c, WorkerPredictRequestSchema, "request body");
    const result = await inference.predict(request);
    if (!result.ok) throw result.error;
    return c.json(PredictResponseSchema.parse(result.value));
  });
}
