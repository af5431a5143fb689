/**
 * KServe V2 / Open Inference Protocol (HTTP/REST) for tensor models, with the binary tensor data
 * and model configuration extensions. Shapes are the protocol's (edge/src/kserve/v2-schemas.ts);
 * inference is the worker's tensor route, reached with a tensor frame (kserve/v2-infer.ts,
 * kserve/tensor-forwarding.ts). Errors on every route here, authentication included, and on any
 * other path under `/v2`, are the protocol's `{"error": "<message>"}` rather than problem+json:
 * see kserve/v2-errors.ts.
 *
 * Access: server metadata and the two server health probes are public, like `/health`, because
 * Kubernetes probes and load balancers carry no key and learn nothing but that a worker is up.
 * Everything that names a model (metadata, model ready, infer) needs the `infer` scope: that is
 * the key a V2 client already holds, and registry contents are not public.
 */
import { concatBytes, isWorkerLive, ModelgateError, selectWorkerForModel } from "@modelgate/shared";
import { type Context, Hono } from "hono";
import type { AppEnv } from "../env.js";
import { v2ErrorFromWorker, v2ErrorResponse } from "../kserve/v2-errors.js";
import { inferenceAnswer, planInference } from "../kserve/v2-infer.js";
import { v2ModelConfig } from "../kserve/v2-model-config.js";
import { v2ModelMetadata } from "../kserve/v2-model-metadata.js";
import { HEADER_LENGTH_HEADER, readInferRequest } from "../kserve/v2-request-body.js";
import { requireScope } from "../middleware/authenticate.js";
import { API_VERSION } from "../openapi/openapi-document.js";
import { workerPoolStub } from "../pool/worker-pool-object.js";
import { readLiveModel } from "../registry/registry-access.js";
import { resolveTargetVersion } from "../routing/resolve-target.js";
import { forwardTensors } from "../tensors/tensor-forwarding.js";

/** The protocol extensions served here (`GET /v2`). */
export const V2_EXTENSIONS = ["binary_tensor_data", "parameters", "model_configuration"];

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

async function modelConfig(c: Context<AppEnv>): Promise<Response> {
  const version = await resolvePathTarget(c);
  const record = await readLiveModel(c.env, version.name);
  return c.json(v2ModelConfig(record ?? { versions: [version] }, version));
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
  const { request, binary } = await readInferRequest(c);
  const version = await resolvePathTarget(c);
  const plan = planInference(version, request, binary, c.get("config").MODELGATE_MAX_TENSOR_BODY_BYTES);
  const forwarded = await forwardTensors(c, version, plan.inputs, plan.workerOutputs);
  if (!forwarded.ok) return v2ErrorFromWorker(c, forwarded.response);
  const answer = inferenceAnswer(version, request, plan, forwarded.result);
  const { headers } = forwarded;
  const json = JSON.stringify(answer.body);
  if (answer.binary.length === 0) {
    headers.set("content-type", "application/json");
    return new Response(json, { status: 200, headers });
  }
  // The binary extension's answer: the JSON header, then each binary output's bytes in order.
  const header = new TextEncoder().encode(json);
  headers.set("content-type", "application/octet-stream");
  headers.set(HEADER_LENGTH_HEADER, String(header.byteLength));
  return new Response(concatBytes([header, ...answer.binary]), { status: 200, headers });
}

export const kserveV2Routes = new Hono<AppEnv>()
  .get("/v2", (c) => c.json({ name: "modelgate", version: API_VERSION, extensions: V2_EXTENSIONS }))
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
  .get("/v2/models/:model/config", requireScope("infer"), modelConfig)
  .get("/v2/models/:model/versions/:version/config", requireScope("infer"), modelConfig)
  .get("/v2/models/:model/ready", requireScope("infer"), modelReady)
  .get("/v2/models/:model/versions/:version/ready", requireScope("infer"), modelReady)
  .post("/v2/models/:model/infer", requireScope("infer"), infer)
  .post("/v2/models/:model/versions/:version/infer", requireScope("infer"), infer)
  .onError((error, c) => v2ErrorResponse(c, error));
