import { type EvaluationLink, MAX_EVALUATION_LINKS, type ModelRecord, ok, type Result } from "@modelgate/shared";
import { liveVersion, type WriteContext, withEvents } from "./registry-mutations.js";

/**
 * Links a finished evaluation from the version it evaluated (newest last, the latest
 * MAX_EVALUATION_LINKS kept). Recording the same job and target again changes nothing, so a
 * complete repeated after a lost answer links once. The registered version stays as it was:
 * only the link list and the record's revision change.
 */
export function recordEvaluation(
  current: ModelRecord | undefined,
  name: string,
  number: number,
  link: EvaluationLink,
  context: WriteContext,
): Result<ModelRecord> {
  const found = liveVersion(current, name, number);
  if (!found.ok) return found;
  const { record, target } = found.value;
  const links = target.evaluations ?? [];
  if (links.some((existing) => existing.job_id === link.job_id && existing.target === link.target)) return ok(record);
  const evaluations = [...links, link].slice(-MAX_EVALUATION_LINKS);
  const versions = record.versions.map((v) => (v.version === number ? { ...target, evaluations } : v));
  return ok(withEvents({ ...record, versions }, context, []));
}
