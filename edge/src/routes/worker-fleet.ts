import {
  DrainWorkerRequestSchema,
  type EnrolmentIssued,
  EnrolWorkerRequestSchema,
  ExchangeEnrolmentRequestSchema,
  ModelgateError,
  mintEnrolmentToken,
  newWorkerCredential,
  randomHex,
  readEnrolmentToken,
  sha256Hex,
  type WorkerControl,
  type WorkerCredentialIssued,
  workerDrainState,
} from "@modelgate/shared";
import { type Context, Hono } from "hono";
import type { AppEnv } from "../env.js";
import { readJsonBody } from "../http/json-body.js";
import { requireScope } from "../middleware/authenticate.js";
import { workerPoolStub } from "../pool/worker-pool-object.js";
import { unwrapWire } from "../registry/wire-result.js";
import { forgetRoutingState } from "../routing/routing-caches.js";
import { identityView, workerIdParam } from "./workers.js";

const ENROLMENT_REFUSALS = {
  malformed: "The enrolment token is malformed.",
  bad_signature: "The enrolment token was not issued by this edge.",
  expired: "The enrolment token has expired; issue a new one with `modelgate workers enroll`.",
} as const;

/**
 * Per-worker identity and operator control (issue 17): an admin issues a one-time enrolment
 * token for a worker id, the worker exchanges it for its own credential, and an admin revokes,
 * cordons, drains or uncordons it. Cordon state lives in the pool, which routing reads.
 */
export const workerFleetRoutes = new Hono<AppEnv>()
  .post("/v1/workers/:id/enrolment", requireScope("admin"), async (c) => {
    const workerId = workerIdParam(c.req.param("id"));
    const request = await readJsonBody(c, EnrolWorkerRequestSchema, "enrolment request");
    const expiresAt = new Date(Date.now() + request.ttl_seconds * 1000).toISOString();
    const claims = {
      worker_id: workerId,
      url_pattern: request.url_pattern,
      labels: request.labels,
      expires_at: expiresAt,
      nonce: randomHex(16),
    };
    const token = await mintEnrolmentToken(c.get("config").MODELGATE_ADMIN_KEY, claims);
    const issued: EnrolmentIssued = {
      worker_id: workerId,
      enrolment_token: token,
      expires_at: expiresAt,
      url_pattern: claims.url_pattern,
      labels: claims.labels,
    };
    return c.json(issued, 201);
  })
  // Authenticated by the one-time token in the body: the worker has no credential yet.
  .post("/internal/workers/enrol", async (c) => {
    const { enrolment_token } = await readJsonBody(c, ExchangeEnrolmentRequestSchema, "enrolment");
    const read = await readEnrolmentToken(c.get("config").MODELGATE_ADMIN_KEY, enrolment_token, Date.now());
    if (!read.ok) throw new ModelgateError("unauthorized", ENROLMENT_REFUSALS[read.reason]);
    const credential = newWorkerCredential();
    const identity = unwrapWire(
      await workerPoolStub(c.env.WORKER_POOL).enrol(read.claims, await sha256Hex(credential), new Date().toISOString()),
    );
    const issued: WorkerCredentialIssued = {
      worker_id: identity.worker_id,
      credential,
      url_pattern: identity.url_pattern,
      labels: identity.labels,
    };
    return c.json(issued, 201);
  })
  .post("/v1/workers/:id/revoke", requireScope("admin"), async (c) => {
    const workerId = workerIdParam(c.req.param("id"));
    const revoked = await workerPoolStub(c.env.WORKER_POOL).revoke(workerId, new Date().toISOString());
    if (!revoked) throw new ModelgateError("not_found", `No enrolled worker ${workerId}.`);
    forgetRoutingState({ fleet: true });
    return c.json({ worker_id: workerId, identity: identityView(revoked) });
  })
  .post("/v1/workers/:id/cordon", requireScope("admin"), (c) => applyControl(c, { kind: "cordon" }))
  .post("/v1/workers/:id/uncordon", requireScope("admin"), (c) => applyControl(c, { kind: "uncordon" }))
  .post("/v1/workers/:id/drain", requireScope("admin"), async (c) => {
    const { timeout_seconds } = await readJsonBody(c, DrainWorkerRequestSchema, "drain request");
    return applyControl(c, { kind: "drain", deadline: new Date(Date.now() + timeout_seconds * 1000).toISOString() });
  });

async function applyControl(
  c: Context<AppEnv>,
  action: { kind: "cordon" } | { kind: "uncordon" } | { kind: "drain"; deadline: string },
): Promise<Response> {
  const workerId = workerIdParam(c.req.param("id") ?? "");
  const now = Date.now();
  const pool = workerPoolStub(c.env.WORKER_POOL);
  const control: WorkerControl | undefined = await pool.setControl(workerId, action, new Date(now).toISOString());
  if (!control) throw new ModelgateError("not_found", `No worker ${workerId} has sent a heartbeat or been enrolled.`);
  // This isolate routes by the new state at once; others follow within their view cache's life.
  forgetRoutingState({ fleet: true });
  const state = (await pool.fleetView(now)).workers.find((w) => w.heartbeat.worker_id === workerId);
  return c.json({
    worker_id: workerId,
    control,
    drain_state: workerDrainState(control, state?.heartbeat, state?.received_at, now),
  });
}
