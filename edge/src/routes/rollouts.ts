import {
  ModelgateError,
  type ModelRecord,
  RolloutControlRequestSchema,
  RolloutRequestSchema,
  type RolloutView,
} from "@modelgate/shared";
import type { Context } from "hono";
import { Hono } from "hono";
import type { AppEnv } from "../env.js";
import { readJsonBody } from "../http/json-body.js";
import { requireScope } from "../middleware/authenticate.js";
import { modelNameParam, requireLiveModel, writeRegistry } from "../registry/registry-access.js";
import { rolloutGuard } from "../rollouts/rollout-guard-object.js";
import type { RolloutControl } from "../rollouts/rollout-mutations.js";
import { forgetRoutingState } from "../routing/routing-caches.js";

/**
 * Canary rollouts of a model (issue 16): start one, read it, pause, resume or abort it by hand.
 * The rollout is part of the model's record (written through the registry coordinator, its steps
 * in the model's history); the model's RolloutGuard alarm advances or rolls it back.
 */
export const rolloutRoutes = new Hono<AppEnv>()
  .post("/v1/models/:name/rollouts", requireScope("models:write"), async (c) => {
    const name = modelNameParam(c);
    const request = await readJsonBody(c, RolloutRequestSchema, "rollout");
    // Without analytics the guard has nothing to judge by: the rollout would never move.
    if (!c.env.ANALYTICS) {
      throw new ModelgateError("analytics_unavailable", "Rollouts need the ANALYTICS D1 binding for their guard.");
    }
    // The timer first: an alarm that finds no active rollout does nothing, while a rollout
    // written without its timer would never be evaluated.
    await rolloutGuard(c.env, name).watch(name, request.guard.window);
    const record = await writeRegistry(c, "start_rollout", (registry) =>
      registry.startRollout(name, request, c.get("principal").id),
    );
    forgetRoutingState({ records: true });
    c.header("location", `/v1/models/${name}/rollouts/current`);
    return c.json(await rolloutView(c, record), 201);
  })
  .get("/v1/models/:name/rollouts/current", requireScope("models:read"), async (c) => {
    return c.json(await rolloutView(c, await requireLiveModel(c.env, modelNameParam(c))));
  })
  .post("/v1/models/:name/rollouts/current/pause", requireScope("models:write"), (c) => control(c, "pause"))
  .post("/v1/models/:name/rollouts/current/resume", requireScope("models:write"), (c) => control(c, "resume"))
  .post("/v1/models/:name/rollouts/current/abort", requireScope("models:write"), (c) => control(c, "abort"));

/**
 * A manual step: the guard's timer follows (running only while the rollout is active). Resuming
 * an active rollout changes nothing but arms its timer again, so a resume whose timer call
 * failed heals on retry.
 */
async function control(c: Context<AppEnv>, action: RolloutControl): Promise<Response> {
  const name = modelNameParam(c);
  const { reason } = await readJsonBody(c, RolloutControlRequestSchema, `rollout ${action}`);
  const record = await writeRegistry(c, "control_rollout", (registry) =>
    registry.controlRollout(name, action, reason, c.get("principal").id),
  );
  forgetRoutingState({ records: true });
  const guard = rolloutGuard(c.env, name);
  if (record.rollout?.status === "active") await guard.watch(name, record.rollout.guard.window);
  else await guard.stop();
  return c.json(await rolloutView(c, record));
}

async function rolloutView(c: Context<AppEnv>, record: ModelRecord): Promise<RolloutView> {
  const rollout = record.rollout;
  if (rollout === undefined) throw new ModelgateError("not_found", `${record.name} has never had a rollout.`);
  const next = rollout.status === "active" ? await rolloutGuard(c.env, record.name).nextEvaluationAt() : null;
  return {
    ...rollout,
    model: record.name,
    next_evaluation_at: next === null ? null : new Date(next).toISOString(),
  };
}
