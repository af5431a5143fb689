/**
 * The canary split on the request path: a request naming a model's Production version (`name`,
 * `name@production`) while a rollout is active or paused goes to the candidate or to Production
 * by a deterministic hash of the caller's key or the request id (`rolloutArmFor`). The rollout is
 * read from the model's record, which routing has already cached: the split costs one hash.
 */
import { type ModelRecord, type ModelReference, type ModelVersion, rolloutArmFor } from "@modelgate/shared";
import type { Context } from "hono";
import type { AppEnv } from "../env.js";
import { isSplitting } from "./rollout-mutations.js";

/** The candidate when the split sends this request there; undefined: resolve the reference as usual. */
export function rolloutCandidateFor(
  c: Context<AppEnv>,
  record: ModelRecord,
  reference: ModelReference,
): ModelVersion | undefined {
  const rollout = record.rollout;
  if (rollout === undefined || !isSplitting(rollout)) return undefined;
  if (reference.selector.kind !== "stage" || reference.selector.stage !== "Production") return undefined;
  const candidate = record.versions.find((v) => v.version === rollout.candidate);
  // Promoted or deleted by hand since: the guard closes the rollout at its next evaluation.
  if (candidate === undefined || candidate.stage === "Production") return undefined;
  const sticky = rollout.sticky === "key" ? c.get("principal").id : c.get("requestId");
  const arm = rolloutArmFor(rollout, sticky);
  c.set("rolloutArm", { rolloutId: rollout.id, arm });
  return arm === "candidate" ? candidate : undefined;
}

/** The response headers that say which arm served (answers and errors alike). */
export function rolloutHeaders(c: Context<AppEnv>, headers: Headers): void {
  for (const [name, value] of Object.entries(rolloutHeaderEntries(c))) headers.set(name, value);
}

export function rolloutHeaderEntries(c: Context<AppEnv>): Record<string, string> {
  const split = c.get("rolloutArm");
  return split === undefined ? {} : { "x-modelgate-rollout": split.rolloutId, "x-modelgate-rollout-arm": split.arm };
}
