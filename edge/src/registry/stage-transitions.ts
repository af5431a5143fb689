import { err, ModelgateError, type ModelRecord, ok, type Result, type Stage } from "@modelgate/shared";

export interface StageChange {
  version: number;
  stage: Stage;
  archiveExisting: boolean;
  reason?: string | undefined;
  actor: string;
  at: string;
}

/**
 * Applies one stage change to a model record (pure). Promoting to Production archives the
 * previous Production version unless told not to; every change is appended to the version's
 * history. Archived versions may be restored to any stage.
 */
export function applyStageChange(record: ModelRecord, change: StageChange): Result<ModelRecord> {
  const target = record.versions.find((v) => v.version === change.version);
  if (!target) {
    return err(new ModelgateError("not_found", `Model ${record.name} has no version ${change.version}.`));
  }
  if (target.stage === change.stage) return ok(record);
  const versions = record.versions.map((v) => {
    if (v.version === change.version) {
      return {
        ...v,
        stage: change.stage,
        stage_history: [
          ...v.stage_history,
          { from: v.stage, to: change.stage, at: change.at, by: change.actor, reason: change.reason },
        ],
      };
    }
    if (change.stage === "Production" && change.archiveExisting && v.stage === "Production") {
      return {
        ...v,
        stage: "Archived" as const,
        stage_history: [
          ...v.stage_history,
          {
            from: v.stage,
            to: "Archived" as const,
            at: change.at,
            by: change.actor,
            reason: `superseded by version ${change.version}`,
          },
        ],
      };
    }
    return v;
  });
  return ok({ ...record, versions, updated_at: change.at });
}
