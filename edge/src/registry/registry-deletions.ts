import { err, ModelgateError, type ModelRecord, type ModelVersion, ok, type Result } from "@modelgate/shared";
import { liveRecord, liveVersion, type NewEvent, type WriteContext, withEvents } from "./registry-mutations.js";

/**
 * Deleting versions and models, as pure functions of the record like the other mutations. A
 * version in Production is only removed with `force`, so nothing stops serving by accident.
 */
export interface Deletion {
  record: ModelRecord;
  removed: ModelVersion[];
}

function refuseProduction(versions: ModelVersion[], force: boolean, what: string): Result<void> {
  const serving = versions.find((v) => v.stage === "Production");
  if (serving && !force) {
    return err(
      new ModelgateError(
        "conflict",
        `${what} has version ${serving.version} in Production; promote another version first or pass force=true.`,
      ),
    );
  }
  return ok(undefined);
}

/** Removes one version (and aliases pointing at it); its number is never reused. */
export function deleteVersion(
  current: ModelRecord | undefined,
  name: string,
  number: number,
  options: { force: boolean; purge: boolean; reason?: string | undefined },
  context: WriteContext,
): Result<Deletion> {
  const found = liveVersion(current, name, number);
  if (!found.ok) return found;
  const { record: live, target } = found.value;
  const allowed = refuseProduction([target], options.force, `Model ${name}`);
  if (!allowed.ok) return allowed;
  const aliases = Object.fromEntries(Object.entries(live.aliases).filter(([, v]) => v !== number));
  const events: NewEvent[] = Object.keys(live.aliases)
    .filter((alias) => !(alias in aliases))
    .map((alias) => ({
      action: "alias_removed",
      alias,
      version: number,
      from: String(number),
      to: null,
      reason: "version deleted",
    }));
  events.push({
    action: "version_deleted",
    version: number,
    from: target.stage,
    to: "Deleted",
    reason: options.reason,
    purged: options.purge,
  });
  const versions = live.versions.filter((v) => v.version !== number);
  return ok({ record: withEvents({ ...live, versions, aliases }, context, events), removed: [target] });
}

/** Removes the model; its record stays as a tombstone holding the history. */
export function deleteModel(
  current: ModelRecord | undefined,
  name: string,
  options: { force: boolean; purge: boolean; reason?: string | undefined },
  context: WriteContext,
): Result<Deletion> {
  const live = liveRecord(current, name);
  if (!live.ok) return live;
  const allowed = refuseProduction(live.value.versions, options.force, `Model ${name}`);
  if (!allowed.ok) return allowed;
  const record = withEvents({ ...live.value, versions: [], aliases: {}, deleted_at: context.at }, context, [
    {
      action: "model_deleted",
      from: null,
      to: "Deleted",
      reason: options.reason ?? `removed versions ${live.value.versions.map((v) => v.version).join(", ") || "(none)"}`,
      purged: options.purge,
    },
  ]);
  return ok({ record, removed: live.value.versions });
}
