import { GenerateRequestSchema, PredictRequestSchema } from "@modelgate/shared";
import { Hono } from "hono";
import type { AppEnv } from "../env.js";
import { readJsonBody } from "../http/json-body.js";
import { requireScope } from "../middleware/authenticate.js";
import { resolveTargetVersion } from "../routing/resolve-target.js";
import { forwardGenerate, routeToWorker } from "../routing/route-request.js";

/** Inference: resolve the model, pick a worker, forward signed. */
export const inferenceRoutes = new Hono<AppEnv>()
  .post("/v1/generate", requireScope("infer"), async (c) => {
    const request = await readJsonBody(c, GenerateRequestSchema, "generate request");
    // Awaited here: forwardGenerate may reject before its first await (a malformed auto: category),
    // and workerd reports a promise rejected before any handler is attached as unhandled.
    return await forwardGenerate(c, request);
  })
  .post("/v1/predict", requireScope("infer"), async (c) => {
    const request = await readJsonBody(c, PredictRequestSchema, "predict request");
    const target = await resolveTargetVersion(c, request.model, "tensor");
    return routeToWorker(c, target, { ...request, target });
  });
