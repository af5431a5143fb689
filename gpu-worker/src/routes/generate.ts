/** `POST /v1/generate`: one causal-LM generation for a version the edge already resolved. */
import { GenerateResponseSchema, WorkerGenerateRequestSchema } from "@modelgate/shared";
import { Hono } from "hono";
import type { WorkerAppEnv } from "../http/app-env.js";
import { readVerifiedJson } from "../http/json-body.js";
import type { InferenceEngine } from "../inference/inference-service.js";

export function generateRoutes(inference: InferenceEngine) {
  return new Hono<WorkerAppEnv>().post("/v1/generate", async (c) => {
    const request = readVerifiedJson(c, WorkerGenerateRequestSchema, "request body");
    const result = await inference.generate(request);
    if (!result.ok) throw result.error;
    // Parsing the way out too keeps the worker honest about the shared response contract.
    return c.json(GenerateResponseSchema.parse(result.value));
  });
}
