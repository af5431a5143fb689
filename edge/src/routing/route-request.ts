/**
 * Resolving a request's target and sending it to a worker: shared by every inference API
 * family (modelgate's own, OpenAI-compatible, KServe), so each one only translates shapes.
 */
import {
  DEFAULT_SELECTION_CONFIG,
  EDGE_METRICS,
  type GenerateRequest,
  headerSafe,
  ModelgateError,
  type ModelVersion,
  type RouteConstraints,
  selectRoute,
  type WorkerState,
} from "@modelgate/shared";
import type { Context } from "hono";
import { z } from "zod";
import { recordSelectionEvent, selectionEventFor } from "../analytics/selection-events.js";
import type { AppEnv } from "../env.js";
import { forwardToWorker } from "../forwarding/forward-to-worker.js";
import { guardEventStream } from "../forwarding/guard-event-stream.js";
import { isolateMetrics } from "../metrics/isolate-metrics.js";
import { registeredRoute } from "../middleware/observe-request.js";
import { workerPoolStub } from "../pool/worker-pool-object.js";
import { rolloutHeaders } from "../rollouts/rollout-split.js";
import {
  autoCategoryOf,
  checkContextRoom,
  ENDPOINT_FOR_KIND,
  resolveTargetVersion,
  servableVersionsInCategory,
} from "./resolve-target.js";
import { forgetRoutingState, routingViewCache } from "./routing-caches.js";
import { servedModelName } from "./served-format.js";

/**
 * Requests this isolate has forwarded and not yet seen finish, per worker. Heartbeats report a
 * worker's queue once per interval, so a burst of requests would all see the same stale "idle"
 * worker; counting our own outstanding forwards spreads a burst as it happens (least outstanding).
 */
const outstandingForwards = new Map<string, number>();

function trackForward(workerId: string, delta: number): void {
  const next = (outstandingForwards.get(workerId) ?? 0) + delta;
  if (next > 0) outstandingForwards.set(workerId, next);
  else outstandingForwards.delete(workerId);
}

/** Heartbeats with this isolate's outstanding forwards folded into `in_flight` (never below the report). */
function withOutstandingForwards(workers: readonly WorkerState[]): readonly WorkerState[] {
  if (outstandingForwards.size === 0) return workers;
  return workers.map((state) => {
    const outstanding = outstandingForwards.get(state.heartbeat.worker_id) ?? 0;
    if (outstanding <= state.heartbeat.in_flight) return state;
    return { ...state, heartbeat: { ...state.heartbeat, in_flight: outstanding } };
  });
}

/** What a request may be served by: one version, or every servable version of an `auto:` category. */
export interface RouteTarget {
  candidates: readonly ModelVersion[];
  /** Set for `auto:<category>`. */
  category?: string | undefined;
  constraints?: RouteConstraints | undefined;
}

/** A body forwarded as it is (a tensor frame) to `path`, rather than JSON to the kind's endpoint. */
export interface RawForward {
  raw: Uint8Array<ArrayBuffer>;
  path: string;
  contentType: string;
}

function isRawForward(body: object): body is RawForward {
  return "raw" in body && body.raw instanceof Uint8Array;
}

/** An explicit version: route it and forward `forwardedBody` to the worker chosen for it. */
export function routeToWorker(
  c: Context<AppEnv>,
  target: ModelVersion,
  forwardedBody: object | RawForward,
): Promise<Response> {
  return routeRequest(c, { candidates: [target] }, () => forwardedBody);
}

/**
 * One routing decision over (version, worker, GPU) (`selectRoute`, seed 002), then a signed
 * forward to the chosen worker with the ordered fallbacks after it. `bodyFor` builds the body
 * for the version an attempt serves (an `auto:` fallback may be another version).
 */
export async function routeRequest(
  c: Context<AppEnv>,
  target: RouteTarget,
  bodyFor: (version: ModelVersion) => object | RawForward,
): Promise<Response> {
  const config = c.get("config");
  const pool = workerPoolStub(c.env.WORKER_POOL);
  const { workers, circuits, flags } = await routingViewCache.get("fleet", config.MODELGATE_ROUTING_VIEW_CACHE_MS, () =>
    pool.routingView(),
  );
  // Open circuits stay out of the decision; half-open ones may carry one probe.
  const routable = withOutstandingForwards(workers.filter((w) => circuits[w.heartbeat.worker_id]?.position !== "open"));
  const selectionStarted = performance.now();
  const decided = selectRoute({
    candidates: target.candidates,
    category: target.category,
    workers: routable,
    now: Date.now(),
    config: DEFAULT_SELECTION_CONFIG,
    flags,
    constraints: target.constraints,
  });
  const selectionMs = performance.now() - selectionStarted;
  const metricsOn = config.MODELGATE_METRICS;
  if (metricsOn) isolateMetrics.observe(EDGE_METRICS.selectionDuration, {}, selectionMs / 1000);
  const only = target.candidates.length === 1 ? target.candidates[0] : undefined;
  if (!decided.ok) {
    recordSelectionEvent(
      c,
      selectionEventFor(c, {
        task_category: target.category ?? null,
        selected_model: only ? `${only.name}@${only.version}` : null,
        selection_duration_ms: selectionMs,
        gpu_id: null,
        worker_id: null,
        status: decided.error.status,
        outcome: "no_worker",
      }),
    );
    throw decided.error;
  }
  const decision = decided.value;
  const options = [decision, ...decision.fallbacks];
  const selection = {
    task_category: target.category ?? null,
    primary_category: decision.primaryCategory ?? null,
    confidence_score: decision.confidence ?? null,
    final_score: decision.score,
    selection_duration_ms: selectionMs,
  };
  const outcome = await forwardToWorker({
    attempts: options.map((option) => {
      const body = bodyFor(option.version);
      return isRawForward(body)
        ? { worker: option.worker, path: body.path, body: body.raw, contentType: body.contentType }
        : { worker: option.worker, path: ENDPOINT_FOR_KIND[option.version.kind], body: JSON.stringify(body) };
    }),
    signingSecret: config.MODELGATE_SIGNING_SECRET,
    timeoutMs: config.MODELGATE_FORWARD_TIMEOUT_MS,
    requestId: c.get("requestId"),
    admit: async (worker) => {
      const admitted =
        circuits[worker.workerId]?.position === "half-open" ? await pool.admitForward(worker.workerId) : true;
      if (admitted) trackForward(worker.workerId, 1);
      return admitted;
    },
    onOutcome: (worker, succeeded) => {
      // A failed attempt is over; a successful one is outstanding until its body has been sent.
      if (!succeeded) trackForward(worker.workerId, -1);
      if (!succeeded && metricsOn) isolateMetrics.count(EDGE_METRICS.failovers, { worker_id: worker.workerId });
      const circuit = circuits[worker.workerId];
      // A success on a healthy circuit changes nothing: skip the Durable Object call.
      if (succeeded && circuit?.position === "closed" && circuit.consecutiveFailures === 0) return;
      // The breaker may change state: the next decision here reads it fresh.
      forgetRoutingState({ fleet: true });
      c.executionCtx.waitUntil(pool.recordForwardOutcome(worker.workerId, succeeded));
    },
  }).catch((error: unknown) => {
    const failed = error instanceof ModelgateError ? error : undefined;
    recordSelectionEvent(
      c,
      selectionEventFor(c, {
        ...selection,
        selected_model: `${decision.version.name}@${decision.version.version}`,
        gpu_id: decision.worker.gpuIndex,
        worker_id: decision.worker.workerId,
        status: failed?.status ?? 502,
        outcome: failed?.code === "no_worker_available" ? "no_worker" : "upstream_error",
      }),
    );
    throw error;
  });
  const served = options[outcome.attemptIndex] ?? decision;
  const servedModel = servedModelName(served.version);
  const reason =
    outcome.attempts > 1 ? `${decision.reason}; after ${outcome.attempts - 1} failed attempt(s)` : decision.reason;
  const headers = new Headers({
    "content-type": outcome.response.headers.get("content-type") ?? "application/json",
    "x-modelgate-worker": outcome.worker.workerId,
    "x-modelgate-model": servedModel,
    "x-modelgate-route-reason": headerSafe(reason),
    "x-request-id": c.get("requestId"),
  });
  // Time the edge spent on this request: everything until the answer's first byte but the wait for the worker.
  const overheadMs = Math.max(0, Date.now() - c.get("startedAt") - outcome.upstreamMs);
  headers.set("x-modelgate-overhead-ms", String(overheadMs));
  rolloutHeaders(c, headers);
  c.set("routed", {
    model: served.version.name,
    version: served.version.version,
    format: served.version.serving_format ?? "fp32",
    workerId: outcome.worker.workerId,
  });
  if (metricsOn) isolateMetrics.observe(EDGE_METRICS.overhead, { route: registeredRoute(c) }, overheadMs / 1000);
  const finished = once(() => trackForward(outcome.worker.workerId, -1));
  let body: ReadableStream<Uint8Array> | null = outcome.response.body;
  if (body !== null && headers.get("content-type")?.startsWith("text/event-stream")) {
    body = guardEventStream(body, (streamReason) =>
      new ModelgateError(
        "upstream_failed",
        `Worker ${outcome.worker.workerId} stopped before the answer was complete (${streamReason}).`,
      ).toProblem(c.req.path),
    );
  }
  body = body === null ? null : whenDone(body, finished);
  if (body === null) finished();
  const servedEvent = selectionEventFor(c, {
    ...selection,
    // Analytics group by `name@version` (the event schema's shape); the format is in the response header.
    selected_model: `${served.version.name}@${served.version.version}`,
    gpu_id: outcome.worker.gpuIndex,
    worker_id: outcome.worker.workerId,
    status: outcome.response.status,
  });
  // A canary's guard may ask for the judge score, which only the answer carries: for split
  // traffic alone, a copy of a whole (non-streamed) generation is read after it is sent.
  if (body !== null && c.get("rolloutArm") !== undefined && judgedGeneration(served.version, headers)) {
    const [forClient, forGuard] = body.tee();
    body = forClient;
    c.executionCtx.waitUntil(
      finalJudgeScore(forGuard).then((judge_score) => recordSelectionEvent(c, { ...servedEvent, judge_score })),
    );
  } else {
    recordSelectionEvent(c, servedEvent);
  }
  return new Response(body, { status: outcome.response.status, headers });
}

function judgedGeneration(version: ModelVersion, headers: Headers): boolean {
  return version.kind === "causal-lm" && (headers.get("content-type") ?? "").startsWith("application/json");
}

/** The last refinement loop's judge score of a generate response; null without a judge or on any surprise. */
async function finalJudgeScore(stream: ReadableStream<Uint8Array>): Promise<number | null> {
  try {
    const parsed = JudgedAnswerSchema.safeParse(await new Response(stream).json());
    return parsed.success ? (parsed.data.loops.at(-1)?.judge_score ?? null) : null;
  } catch {
    return null;
  }
}

const JudgedAnswerSchema = z.object({
  loops: z.array(z.object({ judge_score: z.number().min(0).max(1).nullable().optional() })).min(1),
});

/** Calls `fn` the first time only. */
function once(fn: () => void): () => void {
  let called = false;
  return () => {
    if (called) return;
    called = true;
    fn();
  };
}

/** The same bytes, with `done` called when the stream ends, fails or is cancelled by the client. */
function whenDone(stream: ReadableStream<Uint8Array>, done: () => void): ReadableStream<Uint8Array> {
  const reader = stream.getReader();
  let cancelled = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const chunk = await reader.read();
        if (chunk.done) {
          done();
          controller.close();
        } else {
          controller.enqueue(chunk.value);
        }
      } catch (error) {
        done();
        // A read pending when the client cancelled fails with the cancellation: the stream is
        // already closed to everyone, and erroring it again would reject this pull unhandled.
        if (!cancelled) controller.error(error);
      }
    },
    cancel(reason) {
      cancelled = true;
      done();
      return reader.cancel(reason);
    },
  });
}

/**
 * A generate request, checked and forwarded: the target (a model reference, or `auto:<category>`
 * for seed 002's selection among every Production version of the category) and a model judge
 * resolved, the context room checked, the caller's tier cap attached (signed, so the worker
 * applies it last).
 */
export async function forwardGenerate(c: Context<AppEnv>, request: GenerateRequest): Promise<Response> {
  // A model judge is resolved here too: the worker has no registry.
  const judgeTarget =
    request.judge?.type === "model"
      ? await resolveTargetVersion(c, request.judge.model, "scorer", "judge.model")
      : undefined;
  const cap = c.get("principal").maxTier;
  const bodyFor = (target: ModelVersion) => ({
    ...request,
    target,
    ...(judgeTarget === undefined ? {} : { judge_target: judgeTarget }),
    ...(cap === undefined ? {} : { caws_tier_cap: cap }),
  });
  const category = autoCategoryOf(request.model);
  if (category !== undefined) {
    const asked = request.max_new_tokens ?? request.runtime_config?.max_new_tokens;
    // Only versions whose context has room for the new tokens are candidates (no limit: any).
    const candidates = (await servableVersionsInCategory(c, category, "causal-lm")).filter(
      (version) =>
        asked === undefined || version.max_context_tokens === undefined || asked < version.max_context_tokens,
    );
    if (candidates.length === 0) {
      throw new ModelgateError("validation_failed", `No model in ${category} has room for ${asked} new tokens.`, [
        { field: "max_new_tokens", message: "is at or over the context length of every candidate" },
      ]);
    }
    return routeRequest(c, { candidates, category }, bodyFor);
  }
  const target = await resolveTargetVersion(c, request.model, "causal-lm");
  checkContextRoom(request, target);
  return routeRequest(c, { candidates: [target] }, bodyFor);
}
