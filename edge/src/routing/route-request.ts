/**
 * Resolving a request's target and sending it to a worker: shared by every inference API
 * family (modelgate's own, OpenAI-compatible, KServe), so each one only translates shapes.
 */
import {
  describeModelReference,
  type GenerateRequest,
  ModelgateError,
  type ModelKind,
  type ModelVersion,
  parseModelReference,
  resolveModelReference,
  selectWorkerForModel,
} from "@modelgate/shared";
import type { Context } from "hono";
import { recordSelectionEvent, selectionEventFor } from "../analytics/selection-events.js";
import type { AppEnv } from "../env.js";
import { forwardToWorker } from "../forwarding/forward-to-worker.js";
import { guardEventStream } from "../forwarding/guard-event-stream.js";
import { workerPoolStub } from "../pool/worker-pool-object.js";
import { readLiveModel } from "../registry/registry-access.js";

const ENDPOINT_FOR_KIND: Record<ModelKind, string> = {
  "causal-lm": "/v1/generate",
  tensor: "/v1/predict",
  scorer: "/v1/generate as a judge",
};

/** `name` → its Production version, `name@N` → version N. `field` names the reference in errors. */
export async function resolveTargetVersion(
  c: Context<AppEnv>,
  reference: string,
  kind: ModelKind,
  field = "model",
): Promise<ModelVersion> {
  const parsed = parseModelReference(reference);
  if (!parsed) {
    throw new ModelgateError("validation_failed", `"${reference}" is not a model reference.`, [
      {
        field,
        message:
          "expected `name`, `name@<version>`, `name@production`, `name@staging`, `name@latest` or `name@<alias>`",
      },
    ]);
  }
  const record = await readLiveModel(c.env, parsed.name);
  if (!record)
    throw new ModelgateError("not_found", `No model named ${parsed.name}.`, [{ field, message: "no such model" }]);
  const version = resolveModelReference(record, parsed);
  if (!version) {
    throw new ModelgateError("not_found", `${describeModelReference(parsed)} does not exist.`, [
      { field, message: "no such version" },
    ]);
  }
  if (version.kind !== kind) {
    throw new ModelgateError(
      "bad_request",
      `${version.name}@${version.version} is a ${version.kind} model; use it with ${ENDPOINT_FOR_KIND[version.kind]} instead.`,
      [{ field, message: `expected a ${kind} model` }],
    );
  }
  return version;
}

/**
 * Refuses, before forwarding, a generation whose new tokens alone would fill the model's
 * context (the worker checks the prompt's share once it has tokenized it).
 */
export function checkContextRoom(request: GenerateRequest, target: ModelVersion): void {
  const limit = target.max_context_tokens;
  const asked = request.max_new_tokens ?? request.runtime_config?.max_new_tokens;
  if (limit === undefined || asked === undefined || asked < limit) return;
  const field = request.max_new_tokens !== undefined ? "max_new_tokens" : "runtime_config.max_new_tokens";
  throw new ModelgateError(
    "validation_failed",
    `${target.name}@${target.version} has a ${limit}-token context; max_new_tokens ${asked} leaves no room for the prompt.`,
    [{ field, message: `must be less than the model's context length (${limit})` }],
  );
}

/** Picks a worker, forwards the signed request, and returns the worker's answer with routing headers. */
export async function routeToWorker(
  c: Context<AppEnv>,
  target: ModelVersion,
  forwardedBody: object,
): Promise<Response> {
  const config = c.get("config");
  const pool = workerPoolStub(c.env.WORKER_POOL);
  const { workers, circuits } = await pool.routingView();
  // Open circuits stay out of the decision; half-open ones may carry one probe.
  const routable = workers.filter((w) => circuits[w.heartbeat.worker_id]?.position !== "open");
  const selectionStarted = performance.now();
  const selected = selectWorkerForModel(routable, target, Date.now());
  // Selection analytics (recorded after the response; see analytics/selection-events.ts).
  const selection = {
    selected_model: `${target.name}@${target.version}`,
    selection_duration_ms: performance.now() - selectionStarted,
  };
  if (!selected.ok) {
    const error = new ModelgateError(
      "no_worker_available",
      `Cannot serve ${target.name}@${target.version}: ${selected.failure.reason}.`,
    );
    recordSelectionEvent(
      c,
      selectionEventFor(c, { ...selection, gpu_id: null, worker_id: null, status: error.status, outcome: "no_worker" }),
    );
    throw error;
  }
  const { choice, fallbacks, reason } = selected.selection;
  const outcome = await forwardToWorker({
    workers: [choice, ...fallbacks],
    path: ENDPOINT_FOR_KIND[target.kind],
    body: JSON.stringify(forwardedBody),
    signingSecret: config.MODELGATE_SIGNING_SECRET,
    timeoutMs: config.MODELGATE_FORWARD_TIMEOUT_MS,
    requestId: c.get("requestId"),
    admit: async (worker) =>
      circuits[worker.workerId]?.position === "half-open" ? pool.admitForward(worker.workerId) : true,
    onOutcome: (worker, succeeded) => {
      const circuit = circuits[worker.workerId];
      // A success on a healthy circuit changes nothing: skip the Durable Object call.
      if (succeeded && circuit?.position === "closed" && circuit.consecutiveFailures === 0) return;
      c.executionCtx.waitUntil(pool.recordForwardOutcome(worker.workerId, succeeded));
    },
  }).catch((error: unknown) => {
    const failed = error instanceof ModelgateError ? error : undefined;
    recordSelectionEvent(
      c,
      selectionEventFor(c, {
        ...selection,
        gpu_id: choice.gpuIndex,
        worker_id: choice.workerId,
        status: failed?.status ?? 502,
        outcome: failed?.code === "no_worker_available" ? "no_worker" : "upstream_error",
      }),
    );
    throw error;
  });
  const headers = new Headers({
    "content-type": outcome.response.headers.get("content-type") ?? "application/json",
    "x-modelgate-worker": outcome.worker.workerId,
    "x-modelgate-model": `${target.name}@${target.version}`,
    "x-modelgate-route-reason":
      outcome.attempts > 1 ? `${reason}; after ${outcome.attempts - 1} failed attempt(s)` : reason,
    "x-request-id": c.get("requestId"),
  });
  // Time the edge spent on this request: everything until the answer's first byte but the wait for the worker.
  headers.set("x-modelgate-overhead-ms", String(Math.max(0, Date.now() - c.get("startedAt") - outcome.upstreamMs)));
  const body =
    outcome.response.body !== null && headers.get("content-type")?.startsWith("text/event-stream")
      ? guardEventStream(outcome.response.body, (reason) =>
          new ModelgateError(
            "upstream_failed",
            `Worker ${outcome.worker.workerId} stopped before the answer was complete (${reason}).`,
          ).toProblem(c.req.path),
        )
      : outcome.response.body;
  recordSelectionEvent(
    c,
    selectionEventFor(c, {
      ...selection,
      gpu_id: outcome.worker.gpuIndex,
      worker_id: outcome.worker.workerId,
      status: outcome.response.status,
    }),
  );
  return new Response(body, { status: outcome.response.status, headers });
}

/**
 * A generate request, checked and forwarded: the target and a model judge resolved, the context
 * room checked, the caller's tier cap attached (signed, so the worker applies it last).
 */
export async function forwardGenerate(c: Context<AppEnv>, request: GenerateRequest): Promise<Response> {
  const target = await resolveTargetVersion(c, request.model, "causal-lm");
  checkContextRoom(request, target);
  // A model judge is resolved here too: the worker has no registry.
  const judgeTarget =
    request.judge?.type === "model"
      ? await resolveTargetVersion(c, request.judge.model, "scorer", "judge.model")
      : undefined;
  const cap = c.get("principal").maxTier;
  return routeToWorker(c, target, {
    ...request,
    target,
    ...(judgeTarget === undefined ? {} : { judge_target: judgeTarget }),
    ...(cap === undefined ? {} : { caws_tier_cap: cap }),
  });
}
