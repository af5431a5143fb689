import { ModelgateError } from "@modelgate/shared";
import type { Context } from "hono";
import type { AppEnv, Principal } from "../env.js";
import { unwrapWire } from "../registry/wire-result.js";
import { type WorkerAuthority, workerPoolStub } from "./worker-pool-object.js";

/** How the pool knows the caller of a worker route: its own credential, or the legacy shared token. */
export function workerAuthorityOf(principal: Principal): WorkerAuthority {
  if (principal.kind === "worker-token") return { kind: "legacy-token" };
  if (principal.worker) return { kind: "credential", credentialSha256: principal.worker.credentialSha256 };
  // An API key someone gave the `worker` scope is no worker's identity.
  throw new ModelgateError("forbidden", "Only an enrolled worker's credential may call worker routes.");
}

/**
 * Checks, before anything changes, that the caller may act as `workerId` (403 otherwise), and
 * says whether that worker takes new work (a cordoned or draining one claims no jobs).
 */
export async function authorizeWorkerCall(c: Context<AppEnv>, workerId: string): Promise<{ takesNewWork: boolean }> {
  const authority = workerAuthorityOf(c.get("principal"));
  return unwrapWire(await workerPoolStub(c.env.WORKER_POOL).authorizeWorker(workerId, authority));
}
