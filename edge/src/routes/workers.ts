import { isWorkerLive, WorkerHeartbeatSchema } from "@modelgate/shared";
import { Hono } from "hono";
import type { AppEnv } from "../env.js";
import { readJsonBody } from "../http/json-body.js";
import { requireScope } from "../middleware/authenticate.js";
import { workerPoolStub } from "../pool/worker-pool-object.js";

/** Heartbeats in (worker token) and the fleet view out (admin). */
export const workerRoutes = new Hono<AppEnv>()
  .post("/internal/workers/heartbeat", requireScope("worker"), async (c) => {
    const heartbeat = await readJsonBody(c, WorkerHeartbeatSchema, "heartbeat");
    const state = await workerPoolStub(c.env.WORKER_POOL).recordHeartbeat(heartbeat);
    return c.json({ worker_id: heartbeat.worker_id, received_at: state.received_at }, 202);
  })
  .get("/v1/workers", requireScope("admin"), async (c) => {
    const now = Date.now();
    const { workers, circuits } = await workerPoolStub(c.env.WORKER_POOL).routingView(now);
    return c.json({
      workers: workers.map((state) => ({
        ...state,
        age_ms: now - Date.parse(state.received_at),
        live: isWorkerLive(state, now),
        circuit: circuits[state.heartbeat.worker_id]?.position ?? "closed",
      })),
    });
  });
