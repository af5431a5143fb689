import {
  describePlacement,
  isWorkerLive,
  ModelgateError,
  type ModelVersion,
  type ReplicaTestReport,
  type ReplicaTestResult,
  restrictingPlacementOf,
  type WorkerState,
  workerMatchesPlacement,
} from "@modelgate/shared";
import { type Context, Hono } from "hono";
import type { AppEnv } from "../env.js";
import { forwardToWorker } from "../forwarding/forward-to-worker.js";
import { requireScope } from "../middleware/authenticate.js";
import { workerPoolStub } from "../pool/worker-pool-object.js";
import { modelNameParam, requireLiveModel, resolveVersionParam } from "../registry/registry-access.js";

/**
 * `models test name@3` (issue 17): a signed smoke request to every live worker that takes work
 * and matches the version's placement, all at once, each answer reported on its own. Admin
 * only: it reaches every worker of the fleet directly, bypassing selection.
 */
export const replicaTestRoutes = new Hono<AppEnv>().post(
  "/v1/models/:name/versions/:version/replica-tests",
  requireScope("admin"),
  async (c) => {
    const record = await requireLiveModel(c.env, modelNameParam(c));
    const version = resolveVersionParam(c, record);
    const smoke = smokeRequestFor(version);
    const placement = restrictingPlacementOf(version);
    const now = Date.now();
    const { workers } = await workerPoolStub(c.env.WORKER_POOL).routingView(now);
    const replicas = workers.filter((state) => isWorkerLive(state, now) && workerMatchesPlacement(placement, state));
    const described = describePlacement(version.serving?.placement ?? {});
    if (replicas.length === 0) {
      throw new ModelgateError(
        "no_worker_available",
        `No live worker may serve ${version.name}@${version.version} (placement: ${described}).`,
      );
    }
    const results = await Promise.all(replicas.map((state) => testReplica(c, state, version, smoke)));
    const report: ReplicaTestReport = {
      model: version.name,
      version: version.version,
      placement: described,
      ok: results.every((result) => result.ok),
      results,
    };
    return c.json(report);
  },
);

/** The smallest request that exercises the model end to end: one new token, or one row of zeros. */
function smokeRequestFor(version: ModelVersion): { path: string; body: object } {
  const model = `${version.name}@${version.version}`;
  if (version.kind === "causal-lm") {
    return { path: "/v1/generate", body: { model, prompt: "Hello", max_new_tokens: 1, target: version } };
  }
  if (version.kind === "tensor") {
    const features = version.io.inputs[0]?.shape[1];
    if (version.io.inputs.length === 1 && typeof features === "number" && features >= 1) {
      return { path: "/v1/predict", body: { model, data: [new Array<number>(features).fill(0)], target: version } };
    }
    throw new ModelgateError(
      "validation_failed",
      `${model} takes ${version.io.inputs.length} input(s) of shape ${JSON.stringify(version.io.inputs[0]?.shape)}; ` +
        "a smoke test needs one [batch, features] input.",
      [{ field: "version", message: "the smoke test cannot build an input for this tensor contract" }],
    );
  }
  throw new ModelgateError("validation_failed", `${model} is a scorer: test it through a generate judge.`, [
    { field: "version", message: "scorer versions have no smoke test of their own" },
  ]);
}

async function testReplica(
  c: Context<AppEnv>,
  state: WorkerState,
  version: ModelVersion,
  smoke: { path: string; body: object },
): Promise<ReplicaTestResult> {
  const { heartbeat } = state;
  const warm = heartbeat.loaded_models.some((m) => m.name === version.name && m.version === version.version);
  const config = c.get("config");
  const started = Date.now();
  const base = { worker_id: heartbeat.worker_id, warm };
  try {
    const outcome = await forwardToWorker({
      attempts: [
        {
          worker: {
            workerId: heartbeat.worker_id,
            url: heartbeat.url,
            gpuIndex: heartbeat.gpus[0]?.index ?? 0,
            freeMemoryMb: heartbeat.gpus[0]?.memory_free_mb ?? null,
            queueDepth: heartbeat.queue_depth,
            modelLoaded: warm,
          },
          path: smoke.path,
          body: JSON.stringify(smoke.body),
        },
      ],
      signingSecret: config.MODELGATE_SIGNING_SECRET,
      timeoutMs: config.MODELGATE_FORWARD_TIMEOUT_MS,
      requestId: c.get("requestId"),
    });
    const text = await outcome.response.text();
    const status = outcome.response.status;
    const latency_ms = Date.now() - started;
    if (status >= 200 && status < 300) return { ...base, ok: true, status, latency_ms };
    return { ...base, ok: false, status, latency_ms, error: problemDetailOf(text, status) };
  } catch (error) {
    const message = error instanceof ModelgateError ? error.message : "the request failed";
    return { ...base, ok: false, status: null, latency_ms: Date.now() - started, error: message.slice(0, 500) };
  }
}

/** The worker's problem detail (one line, bounded), else its status. */
function problemDetailOf(text: string, status: number): string {
  try {
    const detail = (JSON.parse(text) as { detail?: unknown }).detail;
    if (typeof detail === "string") return detail.replace(/[\p{Cc}]/gu, " ").slice(0, 500);
  } catch {
    // Not JSON: fall through to the status.
  }
  return `the worker answered ${status}`;
}
