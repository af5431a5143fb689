/**
 * A model's canary rollout as pure functions of its record, like registry-mutations.ts: each
 * returns the next record with its history event, or the error that says why not. The registry
 * coordinator applies them one write at a time, so a guard verdict and a manual pause never
 * interleave.
 */
import {
  err,
  evaluateRolloutGuard,
  ModelgateError,
  type ModelRecord,
  ok,
  type Result,
  type Rollout,
  type RolloutRequest,
  type RolloutWindowStats,
  SPLITTING_ROLLOUT_STATUSES,
} from "@modelgate/shared";
import {
  liveRecord,
  liveVersion,
  type NewEvent,
  type WriteContext,
  withEvents,
} from "../registry/registry-mutations.js";
import { changeStage } from "../registry/stage-change.js";

export type RolloutControl = "pause" | "resume" | "abort";

const share = (percent: number) => `${percent}%`;

/** Active or paused: the rollout splits traffic and another may not start. */
export function isSplitting(rollout: Rollout | undefined): boolean {
  return rollout !== undefined && SPLITTING_ROLLOUT_STATUSES.includes(rollout.status);
}

/** Starts a rollout of `request.candidate` against the current Production version. */
export function startRollout(
  current: ModelRecord | undefined,
  name: string,
  request: RolloutRequest,
  context: WriteContext,
): Result<ModelRecord> {
  const found = liveVersion(current, name, request.candidate);
  if (!found.ok) {
    return err(
      new ModelgateError("not_found", found.error.message, [{ field: "candidate", message: "no such version" }]),
    );
  }
  const { record, target } = found.value;
  // A rollout whose candidate is gone (deleted with its model, say) blocks nothing.
  const previous = record.rollout;
  if (
    previous !== undefined &&
    isSplitting(previous) &&
    record.versions.some((v) => v.version === previous.candidate)
  ) {
    return err(
      new ModelgateError(
        "conflict",
        `${name} already has a rollout of version ${previous.candidate} (${previous.status}); abort it first.`,
      ),
    );
  }
  const production = record.versions.find((v) => v.stage === "Production");
  if (production === undefined) {
    return err(
      new ModelgateError("validation_failed", `${name} has no Production version to roll out against.`, [
        { field: "candidate", message: "promote a version to Production first, or promote this one directly" },
      ]),
    );
  }
  if (production.version === target.version) {
    return err(
      new ModelgateError("validation_failed", `${name}@${target.version} is already in Production.`, [
        { field: "candidate", message: "must not be the Production version" },
      ]),
    );
  }
  if (target.kind !== production.kind) {
    return err(
      new ModelgateError(
        "validation_failed",
        `${name}@${target.version} is a ${target.kind} model; Production is a ${production.kind} one.`,
        [{ field: "candidate", message: `must be a ${production.kind} model like the Production version` }],
      ),
    );
  }
  // A completed rollout promotes the candidate: refuse now what promotion would refuse then.
  if (target.verification !== undefined && !target.verification.gates_ok) {
    return err(
      new ModelgateError(
        "gate_failed",
        `${name}@${target.version} failed must-pass gates (${target.verification.must_pass_failed.join(", ")}); it cannot be rolled out.`,
        [{ field: "candidate", message: "failed must-pass gates" }],
      ),
    );
  }
  const stepIndex = request.percent === undefined ? 0 : request.steps.indexOf(request.percent);
  const percent = request.steps[stepIndex] ?? request.steps[0] ?? 100;
  const started = record.history.filter((event) => event.action === "rollout_started").length + 1;
  const rollout: Rollout = {
    id: `${target.version}.${started}`,
    baseline: production.version,
    candidate: target.version,
    status: "active",
    steps: request.steps,
    step_index: Math.max(0, stepIndex),
    percent,
    guard: request.guard,
    sticky: request.sticky,
    started_at: context.at,
    started_by: context.actor,
    step_started_at: context.at,
    updated_at: context.at,
    reason: request.reason ?? `canary of version ${target.version} against ${production.version}`,
  };
  return ok(
    withEvents({ ...record, rollout }, context, [
      {
        action: "rollout_started",
        version: target.version,
        from: share(0),
        to: share(percent),
        reason: `${rollout.reason}; steps ${request.steps.map(share).join(" → ")}`,
      },
    ]),
  );
}

/** Pause (the split stays, the guard stops advancing it), resume, or abort (all traffic back to Production). */
export function controlRollout(
  current: ModelRecord | undefined,
  name: string,
  control: RolloutControl,
  reason: string | undefined,
  context: WriteContext,
): Result<ModelRecord> {
  const live = liveRecord(current, name);
  if (!live.ok) return live;
  const record = live.value;
  const rollout = record.rollout;
  if (rollout === undefined || !isSplitting(rollout)) {
    return err(
      new ModelgateError(
        "conflict",
        rollout === undefined
          ? `${name} has no rollout to ${control}.`
          : `${name}'s last rollout is ${rollout.status.replace("_", " ")}; there is nothing to ${control}.`,
      ),
    );
  }
  if ((control === "pause" && rollout.status === "paused") || (control === "resume" && rollout.status === "active")) {
    return ok(record);
  }
  const byHand = reason ?? `${control} by ${context.actor}`;
  const next: Rollout =
    control === "pause"
      ? { ...rollout, status: "paused", updated_at: context.at, reason: byHand }
      : control === "resume"
        ? // The step's window starts again: paused time proves nothing about the candidate.
          { ...rollout, status: "active", step_started_at: context.at, updated_at: context.at, reason: byHand }
        : { ...rollout, status: "aborted", percent: 0, updated_at: context.at, reason: byHand };
  const action = control === "pause" ? "rollout_paused" : control === "resume" ? "rollout_resumed" : "rollout_aborted";
  return ok(
    withEvents({ ...record, rollout: next }, context, [
      { action, version: rollout.candidate, from: share(rollout.percent), to: share(next.percent), reason: byHand },
    ]),
  );
}

/**
 * One guard evaluation (rollout-guard-object.ts): the verdict over the window's figures, taken
 * against the rollout as it is now. A verdict for a rollout that has since been paused, aborted
 * or replaced changes nothing.
 */
export function applyGuardEvaluation(
  current: ModelRecord | undefined,
  name: string,
  rolloutId: string,
  stats: RolloutWindowStats,
  context: WriteContext,
): Result<ModelRecord> {
  const live = liveRecord(current, name);
  if (!live.ok) return live;
  const record = live.value;
  const rollout = record.rollout;
  if (rollout?.id !== rolloutId || rollout.status !== "active") return ok(record);
  const candidate = record.versions.find((v) => v.version === rollout.candidate);
  if (candidate === undefined || candidate.stage === "Production") {
    const reason =
      candidate === undefined
        ? `version ${rollout.candidate} was deleted`
        : `version ${rollout.candidate} was promoted to Production by hand`;
    const status = candidate === undefined ? "aborted" : "completed";
    const percent = candidate === undefined ? 0 : 100;
    return ok(
      withEvents({ ...record, rollout: { ...rollout, status, percent, updated_at: context.at, reason } }, context, [
        {
          action: candidate === undefined ? "rollout_aborted" : "rollout_completed",
          version: rollout.candidate,
          from: share(rollout.percent),
          to: share(percent),
          reason,
        },
      ]),
    );
  }
  const verdict = evaluateRolloutGuard(rollout, stats, Date.parse(context.at));
  const evaluated: Rollout = { ...rollout, last_evaluation: stats, updated_at: context.at, reason: verdict.reason };
  const event = (action: NewEvent["action"], to: number): NewEvent => ({
    action,
    version: rollout.candidate,
    from: share(rollout.percent),
    to: share(to),
    reason: verdict.reason,
  });
  switch (verdict.kind) {
    case "hold":
      return ok({ ...record, rollout: evaluated, revision: record.revision + 1, updated_at: context.at });
    case "rollback":
      return ok(
        withEvents({ ...record, rollout: { ...evaluated, status: "rolled_back", percent: 0 } }, context, [
          event("rollout_rolled_back", 0),
        ]),
      );
    case "advance": {
      const stepIndex = rollout.step_index + 1;
      const percent = rollout.steps[stepIndex] ?? 100;
      return ok(
        withEvents(
          { ...record, rollout: { ...evaluated, step_index: stepIndex, percent, step_started_at: context.at } },
          context,
          [event("rollout_advanced", percent)],
        ),
      );
    }
    case "complete": {
      const promoted = changeStage(
        record,
        name,
        { version: rollout.candidate, stage: "Production", archiveExisting: true, reason: verdict.reason },
        context,
      );
      if (!promoted.ok) {
        const reason = `guard held but promotion was refused: ${promoted.error.message}`;
        return ok(
          withEvents({ ...record, rollout: { ...evaluated, status: "rolled_back", percent: 0, reason } }, context, [
            { ...event("rollout_rolled_back", 0), reason },
          ]),
        );
      }
      return ok(
        withEvents({ ...promoted.value, rollout: { ...evaluated, status: "completed", percent: 100 } }, context, [
          event("rollout_completed", 100),
        ]),
      );
    }
  }
}
