import {
  type CompleteEvaluationRequest,
  type EvaluationJob,
  type EvaluationLink,
  type EvaluationReport,
  EvaluationReportSchema,
  type EvaluationResult,
  ModelgateError,
  parseEvaluationResults,
  reportTargets,
} from "@modelgate/shared";
import type { S3ArtifactStore } from "../artifacts/s3-artifact-store.js";
import { readCheckedFile } from "./evaluation-files.js";

const unprocessable = (field: string, message: string, detail: string) =>
  new ModelgateError("artifact_mismatch", detail, [{ field, message }]);

/**
 * A finished evaluation's files, checked before anything links them: both objects are what the
 * request declares (size, sha256); the results hold exactly one row per line and target —
 * nothing missing, nothing twice — and the report's per-target figures are exactly what those
 * rows give. Answers the report; throws a 4xx naming the field at fault (the job keeps running).
 */
export async function checkEvaluationFiles(
  store: S3ArtifactStore,
  job: EvaluationJob,
  request: CompleteEvaluationRequest,
): Promise<EvaluationReport> {
  const reportBytes = await readCheckedFile(store, request.report, "report");
  if (!reportBytes.ok) throw reportBytes.error;
  let report: EvaluationReport;
  try {
    report = EvaluationReportSchema.parse(JSON.parse(new TextDecoder().decode(reportBytes.value)));
  } catch (error) {
    throw unprocessable(
      "report",
      "is not a report (EvaluationReportSchema)",
      `The report is not valid: ${String(error).slice(0, 300)}`,
    );
  }
  const labels = job.targets.map((target) => target.label);
  if (report.job_id !== job.id || report.lines !== job.lines) {
    throw unprocessable("report.job_id", `must be ${job.id} over ${job.lines} lines`, "The report is of another job.");
  }
  const resultsBytes = await readCheckedFile(store, request.results, "results");
  if (!resultsBytes.ok) throw resultsBytes.error;
  let rows: EvaluationResult[];
  try {
    rows = parseEvaluationResults(new TextDecoder().decode(resultsBytes.value));
  } catch (error) {
    throw unprocessable(
      "results",
      "every row must be an evaluation result",
      `The results are not valid: ${String(error).slice(0, 300)}`,
    );
  }
  checkOneRowPerLineAndTarget(rows, job, labels);
  const expected = reportTargets(labels, rows);
  const same =
    expected.length === report.targets.length &&
    expected.every((figures, i) => sameFigures(figures, report.targets[i]));
  if (!same) {
    throw unprocessable(
      "report.targets",
      "must be the figures the results give",
      "The report does not match its results.",
    );
  }
  return report;
}

/** Flat figure objects compared key by key, whatever order their keys were written in. */
function sameFigures(a: object, b: object | undefined): boolean {
  if (b === undefined) return false;
  const keys = Object.keys(a).sort();
  return JSON.stringify(a, keys) === JSON.stringify(b, keys) && Object.keys(b).length === keys.length;
}

function checkOneRowPerLineAndTarget(
  rows: readonly EvaluationResult[],
  job: EvaluationJob,
  labels: readonly string[],
): void {
  const seen = new Set<string>();
  for (const row of rows) {
    const key = `${row.line}\u0000${row.target}`;
    if (row.line > job.lines || !labels.includes(row.target)) {
      throw unprocessable(
        "results",
        `line ${row.line} on ${row.target} is not part of the job`,
        "The results name a line or target the job does not have.",
      );
    }
    if (seen.has(key)) {
      throw unprocessable(
        "results",
        `line ${row.line} on ${row.target} appears twice`,
        "The results count a line twice.",
      );
    }
    seen.add(key);
  }
  if (seen.size !== job.total) {
    throw unprocessable("results", `has ${seen.size} of ${job.total} rows`, "The results are missing rows.");
  }
}

/** One registry link per target, each on the version it evaluated. */
export function evaluationLinks(
  job: EvaluationJob,
  request: CompleteEvaluationRequest,
  report: EvaluationReport,
): Array<{ model: string; version: number; link: EvaluationLink }> {
  const at = new Date().toISOString();
  return job.targets.map((target) => {
    const figures = report.targets.find((entry) => entry.target === target.label);
    return {
      model: target.model,
      version: target.version,
      link: {
        job_id: job.id,
        target: target.reference,
        ...(target.format === undefined ? {} : { format: target.format }),
        lines: job.lines,
        pass_rate: figures?.pass_rate ?? null,
        mean_judge_score: figures?.mean_judge_score ?? null,
        report_uri: request.report.uri,
        results_uri: request.results.uri,
        at,
      },
    };
  });
}
