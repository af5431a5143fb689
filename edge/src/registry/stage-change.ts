import {
  type ConversionTarget,
  err,
  type FieldProblem,
  ModelgateError,
  type ModelRecord,
  type ModelVersion,
  ok,
  type Result,
  type Stage,
} from "@modelgate/shared";
import { liveVersion, type NewEvent, type WriteContext, withEvents } from "./registry-mutations.js";

export interface StageChangeInput {
  version: number;
  stage: Stage;
  archiveExisting: boolean;
  reason?: string | undefined;
  /** A converted format to serve by default from now on; it must exist and (unless forced) have passed its gates. */
  format?: ConversionTarget | undefined;
  /** Go ahead although must-pass gates failed; the schema has already required a reason. */
  force?: boolean | undefined;
}

/** The must-pass gates a stage change would override, with the request field each belongs to. */
interface GateCheck {
  failed: { field: "stage" | "format"; gates: string[]; what: string }[];
}

/**
 * Seed 001: Production needs the version's must-pass gates, and a format served by default needs
 * its own. A version that was never verified (no `verification`, e.g. registered before
 * conversions existed) has no verdict to enforce and promotes as it always did. A missing
 * format is a 404 even when forced: there would be nothing to serve.
 */
function checkGates(target: ModelVersion, change: StageChangeInput): Result<GateCheck> {
  const failed: GateCheck["failed"] = [];
  const verification = target.verification;
  if (change.stage === "Production" && verification !== undefined && !verification.gates_ok) {
    failed.push({ field: "stage", gates: verification.must_pass_failed, what: `${target.name}@${target.version}` });
  }
  if (change.format !== undefined) {
    const converted = target.converted_formats?.[change.format];
    if (converted === undefined) {
      const existing = Object.keys(target.converted_formats ?? {});
      return err(
        new ModelgateError("not_found", `${target.name}@${target.version} has no ${change.format} format.`, [
          {
            field: "format",
            message: existing.length > 0 ? `converted formats: ${existing.join(", ")}` : "no converted formats yet",
          },
        ]),
      );
    }
    if (!converted.gates_ok) {
      failed.push({
        field: "format",
        gates: converted.must_pass_failed,
        what: `${target.name}@${target.version}:${change.format}`,
      });
    }
  }
  return ok({ failed });
}

const gateList = (gates: readonly string[]) => (gates.length > 0 ? gates.join(", ") : "(unnamed)");

function gateRefusal(target: ModelVersion, stage: Stage, failed: GateCheck["failed"]): ModelgateError {
  const problems: FieldProblem[] = failed.map((f) => ({
    field: f.field,
    message: `${f.what} failed must-pass gates: ${gateList(f.gates)}`,
  }));
  const detail = failed.map((f) => `${f.what} failed must-pass gates ${gateList(f.gates)}`).join("; ");
  return new ModelgateError(
    "gate_failed",
    `${target.name}@${target.version} cannot move to ${stage}: ${detail}. Pass force: true with a reason to override.`,
    problems,
  );
}

/**
 * Moves a version to a stage. Promoting to Production archives the previous Production
 * version unless told not to; both moves are recorded. With `format`, that converted format
 * becomes the version's `serving_format` (it may also be set alone on a version already in the
 * stage); without, the serving format stays as it was. Refusals return before anything is
 * built, so nothing is half-written. A no-op change writes nothing.
 */
export function changeStage(
  current: ModelRecord | undefined,
  name: string,
  change: StageChangeInput,
  context: WriteContext,
): Result<ModelRecord> {
  const found = liveVersion(current, name, change.version);
  if (!found.ok) return found;
  const { record, target } = found.value;
  const formatChanges = change.format !== undefined && change.format !== target.serving_format;
  if (target.stage === change.stage && !formatChanges) return ok(record);
  const gates = checkGates(target, change);
  if (!gates.ok) return gates;
  const { failed } = gates.value;
  if (failed.length > 0 && change.force !== true) return err(gateRefusal(target, change.stage, failed));
  // Format gates are named `<format>:<gate>` so one list says which verdict was overridden.
  const gatesFailed = failed.flatMap((f) =>
    f.field === "format" ? f.gates.map((g) => `${change.format}:${g}`) : f.gates,
  );
  const events: NewEvent[] = [
    {
      action: "stage_changed",
      version: change.version,
      from: target.stage,
      to: change.stage,
      reason: change.reason,
      ...(change.format === undefined ? {} : { format: change.format }),
      ...(failed.length > 0 ? { forced: true, gates_failed: gatesFailed } : {}),
    },
  ];
  const versions = record.versions.map((v) => {
    if (v.version === change.version) {
      return {
        ...v,
        stage: change.stage,
        ...(change.format === undefined ? {} : { serving_format: change.format }),
        updated_at: context.at,
      };
    }
    if (
      change.stage === "Production" &&
      target.stage !== "Production" &&
      change.archiveExisting &&
      v.stage === "Production"
    ) {
      events.push({
        action: "stage_changed",
        version: v.version,
        from: "Production",
        to: "Archived",
        reason: `superseded by version ${change.version}`,
      });
      return { ...v, stage: "Archived" as const, updated_at: context.at };
    }
    return v;
  });
  return ok(withEvents({ ...record, versions }, context, events));
}
