import { DurableObject } from "cloudflare:workers";
import type { Rollout } from "@modelgate/shared";
import type { EdgeBindings } from "../env.js";
import { logEvent } from "../logging/edge-log.js";
import { readLiveModel, registryCoordinator } from "../registry/registry-access.js";
import { readCandidateWindow } from "./rollout-metrics.js";

/** Where a guard that could not read its figures tries again (D1 or the coordinator briefly away). */
const RETRY_MS = 5_000;

/**
 * One per model (`idFromName(name)`): the timer of its canary rollout. An alarm every guard
 * window evaluates the guard whether or not traffic arrives, so a rollout advances, completes or
 * rolls back on its own. The rollout itself lives in the model's record (the registry is its one
 * source of truth); this object keeps only which model it watches and when to look next.
 */
export class RolloutGuard extends DurableObject<EdgeBindings> {
  /**
   * Evaluates no later than one window from now. An earlier alarm already set is kept: looking
   * early is harmless (a step that has not lasted its window holds), looking late is not.
   */
  async watch(name: string, windowSeconds: number): Promise<void> {
    await this.ctx.storage.put("model", name);
    const due = Date.now() + windowSeconds * 1000;
    const pending = await this.ctx.storage.getAlarm();
    if (pending === null || pending > due) await this.ctx.storage.setAlarm(due);
  }

  /** A paused, aborted or finished rollout needs no evaluation. */
  async stop(): Promise<void> {
    await this.ctx.storage.deleteAlarm();
  }

  /** The next evaluation, as epoch ms (null: none scheduled). */
  async nextEvaluationAt(): Promise<number | null> {
    return this.ctx.storage.getAlarm();
  }

  override async alarm(): Promise<void> {
    const name = await this.ctx.storage.get<string>("model");
    if (name === undefined) return;
    const rollout = (await readLiveModel(this.env, name))?.rollout;
    if (rollout?.status !== "active") return;
    const next = await this.evaluate(name, rollout).catch((error: unknown) => {
      logEvent("error", "rollout guard not evaluated", { model: name, rollout: rollout.id, error });
      return { retryMs: RETRY_MS };
    });
    if ("retryMs" in next) await this.ctx.storage.setAlarm(Date.now() + next.retryMs);
    else if (next.rollout?.status === "active") {
      await this.ctx.storage.setAlarm(Date.now() + next.rollout.guard.window * 1000);
    }
  }

  private async evaluate(name: string, rollout: Rollout): Promise<{ rollout: Rollout | undefined }> {
    const db = this.env.ANALYTICS;
    if (!db) throw new Error("no ANALYTICS D1 binding: the guard has no figures");
    const stats = await readCandidateWindow(db, name, rollout, Date.now());
    const result = await registryCoordinator(this.env).evaluateRollout(name, rollout.id, stats, "rollout-guard");
    if (!result.ok) throw new Error(result.error.detail);
    const after = result.value.rollout;
    if (after?.status !== "active" || after.step_index !== rollout.step_index) {
      logEvent("info", "rollout changed", {
        model: name,
        rollout: rollout.id,
        status: after?.status,
        reason: after?.reason,
      });
    }
    return { rollout: after };
  }
}

export function rolloutGuard(env: EdgeBindings, name: string): DurableObjectStub<RolloutGuard> {
  return env.ROLLOUT_GUARD.get(env.ROLLOUT_GUARD.idFromName(name));
}
