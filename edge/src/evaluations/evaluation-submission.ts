import {
  benchmarkScore,
  compareVersionTie,
  DEFAULT_SELECTION_CONFIG,
  type EvaluationRequestInput,
  type EvaluationTarget,
  MAX_DATASET_PROBLEMS,
  ModelgateError,
  type ModelVersion,
  parseEvaluationDataset,
  parseModelReference,
  preparedSelectionFor,
} from "@modelgate/shared";
import type { Context } from "hono";
import { artifactStoreFromBindings } from "../artifacts/s3-artifact-store.js";
import type { AppEnv } from "../env.js";
import { autoCategoryOf, resolveTargetVersion, servableVersionsInCategory } from "../routing/resolve-target.js";
import { servedModelName } from "../routing/served-format.js";
import { readCheckedText } from "./evaluation-files.js";
import type { ResolvedEvaluation } from "./evaluation-jobs.js";

/**
 * Everything `POST /v1/evaluations` checks before a job is queued, so a bad submission is a 4xx
 * naming its field and a queued job always runs: the dataset is read from S3 (size and sha256
 * checked) and every line parsed; every target resolves to one causal-LM version in one format;
 * every model judge resolves to a scorer. An `auto:<category>` target is pinned to the
 * category's best-scored Production version now, so the report says what was evaluated.
 */
export async function resolveEvaluation(
  c: Context<AppEnv>,
  request: EvaluationRequestInput,
): Promise<ResolvedEvaluation> {
  const text = await readCheckedText(artifactStoreFromBindings(c.env), request.dataset, "dataset");
  if (!text.ok) throw text.error;
  const dataset = parseEvaluationDataset(text.value);
  if (!dataset.ok) {
    const first = dataset.problems[0];
    throw new ModelgateError(
      "validation_failed",
      `The dataset has ${dataset.problems.length >= MAX_DATASET_PROBLEMS ? `${MAX_DATASET_PROBLEMS} or more` : dataset.problems.length} problem(s)${first ? `, first ${first.field}: ${first.message}` : ""}.`,
      dataset.problems.map((problem) => ({ field: `dataset.${problem.field}`, message: problem.message })),
    );
  }
  const targets: ResolvedEvaluation["targets"] = [];
  for (const [index, reference] of request.targets.entries()) {
    const served = await resolveEvaluationTarget(c, reference, `targets.${index}`);
    const label = servedModelName(served);
    if (targets.some(({ target }) => target.label === label)) {
      throw new ModelgateError("validation_failed", `Two targets resolve to ${label}.`, [
        { field: `targets.${index}`, message: `resolves to ${label}, as an earlier target does` },
      ]);
    }
    const target: EvaluationTarget = {
      reference,
      model: served.name,
      version: served.version,
      ...(served.serving_format === undefined ? {} : { format: served.serving_format }),
      label,
    };
    targets.push({ target, served });
  }
  const judgeTargets: Record<string, ModelVersion> = {};
  const judges = [
    { judge: request.judge, field: "judge.model" },
    ...dataset.lines.map((line, index) => ({ judge: line.judge, field: `dataset.lines.${index + 1}.judge.model` })),
  ];
  for (const { judge, field } of judges) {
    if (judge?.type !== "model" || judgeTargets[judge.model] !== undefined) continue;
    judgeTargets[judge.model] = await resolveTargetVersion(c, judge.model, "scorer", field);
  }
  const cap = c.get("principal").maxTier;
  return { lines: dataset.lines.length, targets, judgeTargets, ...(cap === undefined ? {} : { cawsTierCap: cap }) };
}

async function resolveEvaluationTarget(c: Context<AppEnv>, reference: string, field: string): Promise<ModelVersion> {
  if (reference.startsWith("auto:")) {
    let category: string | undefined;
    try {
      category = autoCategoryOf(reference);
    } catch {
      category = undefined;
    }
    if (category === undefined) {
      throw new ModelgateError("validation_failed", `"${reference}" is not a task category.`, [
        { field, message: "expected auto:<category>, e.g. auto:code (a lower-case category name)" },
      ]);
    }
    const candidates = await servableVersionsInCategory(c, category, "causal-lm").catch((error: unknown) => {
      if (error instanceof ModelgateError) {
        throw new ModelgateError(error.code, error.message, [
          { field, message: `no Production causal-lm in ${category}` },
        ]);
      }
      throw error;
    });
    return bestScored(candidates, category);
  }
  if (parseModelReference(reference) === undefined) {
    throw new ModelgateError("validation_failed", `"${reference}" is not a model reference.`, [
      {
        field,
        message:
          "expected `name`, `name@<version>` or `name@<version>:<format>` (e.g. demo-lm@1:int8), or auto:<category>",
      },
    ]);
  }
  return resolveTargetVersion(c, reference, "causal-lm", field);
}

/** The candidate with the highest benchmark score for the category (seed 002's weights), ties as selection breaks them. */
function bestScored(candidates: readonly ModelVersion[], category: string): ModelVersion {
  const prepared = preparedSelectionFor(DEFAULT_SELECTION_CONFIG).categories.get(category);
  const scored = candidates.map((version) => ({
    version,
    score: benchmarkScore(version.benchmark_scores, prepared, 0),
  }));
  scored.sort((a, b) => b.score - a.score || compareVersionTie(a.version, b.version));
  const best = scored[0]?.version;
  if (best === undefined) throw new ModelgateError("not_found", `No Production model serves ${category}.`);
  return best;
}
