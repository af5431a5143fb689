/**
 * KServe V2 / Open Inference Protocol (HTTP/REST) for tensor models. Shapes are the protocol's
 * (edge/src/kserve/v2-schemas.ts); inference is the worker's `/v1/predict`, translated both ways
 * (edge/src/kserve/v2-infer.ts). Errors on every route here, authentication included, are the
 * protocol's `{"error": "<message>"}` rather than problem+json: see kserve/v2-errors.ts.
 *
 * Access: server metadata and the two server health probes are public, like `/health`, because
 * Kubernetes probes and load balancers carry no key and learn nothing but that a worker is up.
 * Everything that names a model (metadata, model ready, infer) needs the `infer` scope: that is
 * the key a V2 client already holds, and registry contents are not public.
 */
import { isWorkerLive, ModelgateError, PredictResponseSchema, selectWorkerForModel } from "@modelgate/shared";
import { type Context, Hono } from "hono";
import type { AppEnv } from "../env.js";
import { readJsonBody } from "../http/json-body.js";
import { v2ErrorFromWorker, v2ErrorResponse } from "../kserve/v2-errors.js";
import { inferResponseFrom, planPrediction } from "../kserve/v2-infer.js";
import { v2ModelMetadata } from "../kserve/v2-model-metadata.js";
import { V2InferRequestSchema } from "../kserve/v2-schemas.js";
import { requireScope } from "../middleware/authenticate.js";
import { API_VERSION } from "../openapi/openapi-document.js";
import { workerPoolStub } from "../pool/worker-pool-object.js";
import { readLiveModel } from "../registry/registry-access.js";
import { resolveTargetVersion } from "../routing/resolve-target.js";
import { routeToWorker } from "../routing/route-request.js";

/**
 * The model named by the path: `{model}` alone (its Production version, or any `name@ref`), or
 * `{model}@{version}`, always in the version's serving format: KServe model names cannot carry a
 * `:format` suffix, so a `:` in the path is refused rather than read as one.
 */
function resolvePathTarget(c: Context<AppEnv>) {
  const model = c.req.param("model") ?? "";
  const version = c.req.param("version");
  if (`${model}${version ?? ""}`.includes(":")) {
    throw new ModelgateError("validation_failed", `"${model}" is not a KServe model name.`, [
      { field: "model", message: "KServe names carry no `:format`; the version's serving format is served" },
    ]);
  }
  return resolveTargetVersion(c, version === undefined ? model : `${model}@${version}`, "tensor");
}

async function modelMetadata(c: Context<AppEnv>): Promise<Response> {
  const version = await resolvePathTarget(c);
  const record = await readLiveModel(c.env, version.name);
  return c.json(v2ModelMetadata(record ?? { versions: [version] }, version));
}

/** Ready means what routing would do now: some live worker can take this version. */
async function modelReady(c: Context<AppEnv>): Promise<Response> {
  const version = await resolvePathTarget(c);
  const workers = await workerPoolStub(c.env.WORKER_POOL).listWorkers();
  const ready = selectWorkerForModel(workers, version, Date.now()).ok;
  // The protocol: 200 means ready, a 4xx means not ready.
  return c.json({ name: version.name, ready }, ready ? 200 : 400);
}

async function infer(c: Context<AppEnv>): Promise<Response> {
  const request = await readJsonBody(c, V2InferRequestSchema, "inference request");
  const version = await resolvePathTarget(c);
  const plan = planPrediction(version, request);
  const routed = await routeToWorker(c, version, {
    model: `${version.name}@${version.version}`,
    data: plan.rows,
    target: version,
  });
  if (routed.status !== 200) return v2ErrorFromWorker(c, routed);
  const prediction = PredictResponseSchema.safeParse(await routed.json().catch(() => undefined));
  if (!prediction.success) {
    throw new ModelgateError("upstream_failed", `The worker's answer for ${version.name} was not a prediction.`);
  }
  const headers = new Headers(routed.headers);
  headers.set("content-type", "application/json");
  headers.delete("content-length");
  const body = inferResponseFrom(version, request, plan, prediction.data);
  return new Response(JSON.stringify(body), { status: 200, headers });
}

export const kserveV2Routes = new Hono<AppEnv>()
  .get("/v2", (c) => c.json({ name: "modelgate", version: API_VERSION, extensions: [] }))
  // Live: this edge answers (with its configuration valid, or the request context would have refused).
  .get("/v2/health/live", (c) => c.json({ live: true }))
  .get("/v2/health/ready", async (c) => {
    const workers = await workerPoolStub(c.env.WORKER_POOL).listWorkers();
    const now = Date.now();
    const ready = workers.some((worker) => isWorkerLive(worker, now));
    return c.json({ ready }, ready ? 200 : 400);
  })
  .get("/v2/models/:model", requireScope("infer"), modelMetadata)
  .get("/v2/models/:model/versions/:version", requireScope("infer"), modelMetadata)
  .get("/v2/models/:model/ready", requireScope("infer"), modelReady)
  .get("/v2/models/:model/versions/:version/ready", requireScope("infer"), modelReady)
  .post("/v2/models/:model/infer", requireScope("infer"), infer)
  .post("/v2/models/:model/versions/:version/infer", requireScope("infer"), infer)
  .onError((error, c) => v2ErrorResponse(c, error));
