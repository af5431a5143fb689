import { ModelgateError } from "@modelgate/shared";
import { Hono } from "hono";
import type { AppEnv } from "./env.js";
import { problemResponse } from "./http/problem.js";
import { isV2Path, v2ErrorResponse, v2NoRoute } from "./kserve/v2-errors.js";
import { forgetChangedRoutingState } from "./middleware/forget-routing-state.js";
import { observeRequest } from "./middleware/observe-request.js";
import { checkQueryParameters } from "./middleware/query-parameters.js";
import { requestContext } from "./middleware/request-context.js";
import { analyticsRoutes } from "./routes/analytics.js";
import { consoleRoutes } from "./routes/console.js";
import { conversionWorkerRoutes } from "./routes/conversion-worker.js";
import { conversionRoutes } from "./routes/conversions.js";
import { evaluationWorkerRoutes } from "./routes/evaluation-worker.js";
import { evaluationRoutes } from "./routes/evaluations.js";
import { healthRoutes } from "./routes/health.js";
import { inferenceRoutes } from "./routes/inference.js";
import { keyRoutes } from "./routes/keys.js";
import { kserveV2Routes } from "./routes/kserve-v2.js";
import { metricsRoutes } from "./routes/metrics.js";
import { modelVersionRoutes } from "./routes/model-versions.js";
import { modelRoutes } from "./routes/models.js";
import { openAiRoutes } from "./routes/openai-compatible.js";
import { openApiRoutes } from "./routes/openapi.js";
import { replicaTestRoutes } from "./routes/replica-tests.js";
import { rolloutRoutes } from "./routes/rollouts.js";
import { seed004Routes } from "./routes/seed-004-api.js";
import { selectionFlagRoutes } from "./routes/selection-flags.js";
import { uploadRoutes } from "./routes/uploads.js";
import { verificationRoutes } from "./routes/verification.js";
import { whoamiRoutes } from "./routes/whoami.js";
import { workerFleetRoutes } from "./routes/worker-fleet.js";
import { workerRoutes } from "./routes/workers.js";

export function createEdgeApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  // First, so that no route (public ones included) runs on a query it does not take.
  app.use("*", checkQueryParameters);
  app.route("/", healthRoutes);
  // Public and static: mounted before the request context so they answer even when secrets are missing.
  app.route("/", openApiRoutes);
  app.route("/", consoleRoutes);
  app.use("*", requestContext);
  app.use("*", observeRequest);
  app.use("*", forgetChangedRoutingState);
  app.route("/", metricsRoutes);
  app.route("/", modelRoutes);
  app.route("/", modelVersionRoutes);
  app.route("/", rolloutRoutes);
  app.route("/", replicaTestRoutes);
  app.route("/", workerRoutes);
  app.route("/", workerFleetRoutes);
  app.route("/", keyRoutes);
  app.route("/", whoamiRoutes);
  app.route("/", inferenceRoutes);
  app.route("/", kserveV2Routes);
  app.route("/", seed004Routes);
  app.route("/", openAiRoutes);
  app.route("/", uploadRoutes);
  app.route("/", verificationRoutes);
  app.route("/", analyticsRoutes);
  app.route("/", selectionFlagRoutes);
  app.route("/", conversionRoutes);
  app.route("/", conversionWorkerRoutes);
  app.route("/", evaluationRoutes);
  app.route("/", evaluationWorkerRoutes);
  // Under /v2 every answer, a path or method nothing serves included, is the protocol's {"error"}.
  app.notFound((c) =>
    isV2Path(c.req.path)
      ? v2NoRoute(c)
      : problemResponse(c, new ModelgateError("not_found", `No route for ${c.req.method} ${c.req.path}.`)),
  );
  app.onError((error, c) => (isV2Path(c.req.path) ? v2ErrorResponse(c, error) : problemResponse(c, error)));
  return app;
}
