import {
  describeModelReference,
  GenerateRequestSchema,
  ModelgateError,
  type ModelKind,
  type ModelVersion,
  PredictRequestSchema,
  parseModelReference,
  resolveModelReference,
  selectWorkerForModel,
} from "@modelgate/shared";
import { type Context, Hono } from "hono";
import type { AppEnv } from "../env.js";
import { forwardToWorker } from "../forwarding/forward-to-worker.js";
import { readJsonBody } from "../http/json-body.js";
import { requireScope } from "../middleware/authenticate.js";
import { workerPoolStub } from "../pool/worker-pool-object.js";
import { readLiveModel } from "../registry/registry-access.js";

const ENDPOINT_FOR_KIND: Record<ModelKind, string> = { "causal-lm": "/v1/generate", tensor: "/v1/predict" };

/** `name` → its Production version, `name@N` → version N. */
async function resolveTargetVersion(c: Context<AppEnv>, reference: string, kind: ModelKind): Promise<ModelVersion> {
  const parsed = parseModelReference(reference);
  if (!parsed) {
    throw new ModelgateError("validation_failed", `"${reference}" is not a model reference.`, [
      {
        field: "model",
        message:
          "expected `name`, `name@<version>`, `name@production`, `name@staging`, `name@latest` or `name@<alias>`",
      },
    ]);
  }
  const record = await readLiveModel(c.env, parsed.name);
  if (!record) throw new ModelgateError("not_found", `No model named ${parsed.name}.`);
  const version = resolveModelReference(record, parsed);
  if (!version) {
    throw new ModelgateError("not_found", `${describeModelReference(parsed)} does not exist.`);
  }
  if (version.kind !== kind) {
    throw new ModelgateError(
      "bad_request",
      `${version.name}@${version.version} is a ${version.kind} model; call ${ENDPOINT_FOR_KIND[version.kind]} instead.`,
      [{ field: "model", message: `expected a ${kind} model` }],
    );
  }
  return version;
}

/** Picks a worker, forwards the signed request, and returns the worker's answer with routing headers. */
async function routeToWorker(c: Context<AppEnv>, target: ModelVersion, forwardedBody: object): Promise<Response> {
  const config = c.get("config");
  const workers = await workerPoolStub(c.env.WORKER_POOL).listWorkers();
  const selected = selectWorkerForModel(workers, target, Date.now());
  if (!selected.ok) {
    throw new ModelgateError(
      "no_worker_available",
      `Cannot serve ${target.name}@${target.version}: ${selected.failure.reason}.`,
    );
  }
  const { choice, fallbacks, reason } = selected.selection;
  const outcome = await forwardToWorker({
    workers: [choice, ...fallbacks],
    path: ENDPOINT_FOR_KIND[target.kind],
    body: JSON.stringify(forwardedBody),
    signingSecret: config.MODELGATE_SIGNING_SECRET,
    timeoutMs: config.MODELGATE_FORWARD_TIMEOUT_MS,
    requestId: c.get("requestId"),
  });
  const headers = new Headers({
    "content-type": outcome.response.headers.get("content-type") ?? "application/json",
    "x-modelgate-worker": outcome.worker.workerId,
    "x-modelgate-model": `${target.name}@${target.version}`,
    "x-modelgate-route-reason":
      outcome.attempts > 1 ? `${reason}; after ${outcome.attempts - 1} failed attempt(s)` : reason,
    "x-request-id": c.get("requestId"),
  });
  return new Response(outcome.response.body, { status: outcome.response.status, headers });
}

/** Inference: resolve the model, pick a worker, forward signed. */
export const inferenceRoutes = new Hono<AppEnv>()
  .post("/v1/generate", requireScope("infer"), async (c) => {
    const request = await readJsonBody(c, GenerateRequestSchema, "generate request");
    const target = await resolveTargetVersion(c, request.model, "causal-lm");
    // The key's maximum tier travels signed, so the worker applies it after every other layer.
    const cap = c.get("principal").maxTier;
    return routeToWorker(c, target, { ...request, target, ...(cap === undefined ? {} : { caws_tier_cap: cap }) });
  })
  .post("/v1/predict", requireScope("infer"), async (c) => {
    const request = await readJsonBody(c, PredictRequestSchema, "predict request");
    const target = await resolveTargetVersion(c, request.model, "tensor");
    return routeToWorker(c, target, { ...request, target });
  });
