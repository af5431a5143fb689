import {
  type HeartbeatAccepted,
  isWorkerLive,
  ModelgateError,
  type ModelVersion,
  preloadAssignments,
  WorkerHeartbeatSchema,
  type WorkerIdentity,
  type WorkerListEntry,
  type WorkerState,
  workerDrainState,
} from "@modelgate/shared";
import { type Context, Hono } from "hono";
import type { AppEnv } from "../env.js";
import { readJsonBody } from "../http/json-body.js";
import { logEvent } from "../logging/edge-log.js";
import { requireScope } from "../middleware/authenticate.js";
import { workerAuthorityOf } from "../pool/worker-authority.js";
import { workerPoolStub } from "../pool/worker-pool-object.js";
import { registryCoordinator } from "../registry/registry-access.js";
import { unwrapWire } from "../registry/wire-result.js";

type FleetView = Awaited<ReturnType<ReturnType<typeof workerPoolStub>["fleetView"]>>;

/**
 * Heartbeats in (an enrolled worker's credential, or the legacy shared token) and the fleet view
 * out (admin). A heartbeat is checked against its sender in the pool before it is recorded.
 */
export const workerRoutes = new Hono<AppEnv>()
  .post("/internal/workers/heartbeat", requireScope("worker"), async (c) => {
    const heartbeat = await readJsonBody(c, WorkerHeartbeatSchema, "heartbeat");
    const authority = workerAuthorityOf(c.get("principal"));
    const pool = workerPoolStub(c.env.WORKER_POOL);
    const state = unwrapWire(await pool.recordAuthorizedHeartbeat(heartbeat, authority));
    const answer: HeartbeatAccepted = {
      worker_id: heartbeat.worker_id,
      received_at: state.received_at,
      preload: await preloadFor(c, heartbeat.worker_id),
    };
    return c.json(answer, 202);
  })
  .get("/v1/workers", requireScope("admin"), async (c) => {
    const now = Date.now();
    const fleet = await workerPoolStub(c.env.WORKER_POOL).fleetView(now);
    return c.json({ workers: fleet.workers.map((state) => workerListEntry(state, fleet, now)) });
  });

const MAX_PRELOAD_PER_WORKER = 64;

/**
 * The versions placement asks this worker to keep warm, decided afresh on every heartbeat over
 * the fleet routing sees (so a cordoned worker is asked for nothing and its share moves on).
 */
async function preloadFor(c: Context<AppEnv>, workerId: string): Promise<ModelVersion[]> {
  try {
    const versions = await registryCoordinator(c.env).versionsWithReplicas();
    if (versions.length === 0) return [];
    const { workers } = await workerPoolStub(c.env.WORKER_POOL).routingView();
    // The answer's schema holds at most this many; the rest wait until one of these is unplaced.
    return (preloadAssignments(versions, workers, Date.now()).get(workerId) ?? []).slice(0, MAX_PRELOAD_PER_WORKER);
  } catch (error) {
    // The heartbeat is already recorded: answering 5xx would make the worker think it was lost.
    // Without an answer this time, the next heartbeat asks again.
    logEvent("warn", "placement preload list not computed", { worker_id: workerId, error });
    return [];
  }
}

/** One worker as the fleet listing (and cordon/drain answers) show it. */
export function workerListEntry(state: WorkerState, fleet: FleetView, now: number): WorkerListEntry {
  const id = state.heartbeat.worker_id;
  const identity = fleet.identities.find((candidate) => candidate.worker_id === id);
  const control = fleet.controls[id];
  return {
    ...state,
    age_ms: now - Date.parse(state.received_at),
    live: isWorkerLive(state, now),
    circuit: fleet.circuits[id]?.position ?? "closed",
    ...(identity ? { identity: identityView(identity) } : {}),
    ...(control ? { control } : {}),
    drain_state: workerDrainState(control, state.heartbeat, state.received_at, now),
  };
}

export function identityView(identity: WorkerIdentity): Omit<WorkerIdentity, "credential_sha256"> {
  const { credential_sha256: _hash, ...view } = identity;
  return view;
}

/** The `:id` path parameter, checked like a heartbeat's worker_id. */
export function workerIdParam(id: string): string {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) {
    throw new ModelgateError("validation_failed", "The worker id is not valid.", [
      { field: "id", message: "must be 1–64 characters of A-Z, a-z, 0-9, '.', '_' or '-'" },
    ]);
  }
  return id;
}
