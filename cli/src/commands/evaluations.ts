import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import {
  compareEvaluationTargets,
  type EvaluationJob,
  EvaluationJobStatusSchema,
  type EvaluationReport,
  type EvaluationTargetReport,
  JudgeSpecSchema,
  ModelgateError,
  type TargetComparison,
  TERMINAL_JOB_STATUSES,
} from "@modelgate/shared";
import { type Command, Option } from "commander";
import { collect, integerInRange, numberInRange } from "../arguments.js";
import { UsageError } from "../cli-errors.js";
import { formatFields, formatTable, formatTimestamp, NONE } from "../output.js";
import type { CliSession } from "../session.js";
import { uploadLocalFile } from "./models-upload.js";

interface RunOptions {
  target: string[];
  judge?: string;
  maxNewTokens?: number;
  temperature?: number;
  seed?: number;
  concurrency?: number;
  name?: string;
  wait: boolean;
  pollMs: number;
}

const percent = (value: number | null) => (value === null ? NONE : `${(value * 100).toFixed(1)}%`);
const fixed = (value: number | null, digits = 2) => (value === null ? NONE : value.toFixed(digits));

/** Seed 000's figures, one row per target. */
export function formatTargetReports(targets: readonly EvaluationTargetReport[]): string {
  return formatTable(
    [
      "TARGET",
      "LINES",
      "PASS",
      "JUDGE",
      "EXACT",
      "REGEX",
      "SCHEMA",
      "LOOPS",
      "HALT",
      "CES/LINE",
      "P50",
      "P95",
      "TOK/S",
    ],
    targets.map((t) => [
      t.target,
      t.errors > 0 ? `${t.lines} (${t.errors} failed)` : String(t.lines),
      percent(t.pass_rate),
      fixed(t.mean_judge_score, 3),
      percent(t.exact_match_rate),
      percent(t.regex_match_rate),
      percent(t.schema_valid_rate),
      fixed(t.mean_refinement_loops),
      t.halt_rate === null ? NONE : `${percent(t.halt_rate)} p=${fixed(t.mean_halt_probability, 3)}`,
      fixed(t.mean_ces_tokens, 1),
      `${Math.round(t.latency_ms_p50)} ms`,
      `${Math.round(t.latency_ms_p95)} ms`,
      fixed(t.tokens_per_second, 1),
    ]),
  );
}

export function formatEvaluation(job: EvaluationJob, report?: EvaluationReport): string {
  const parts = [
    formatFields([
      ["evaluation", job.id],
      ...(job.name === undefined ? [] : ([["name", job.name]] as const)),
      [
        "targets",
        job.targets.map((t) => (t.reference === t.label ? t.label : `${t.reference} → ${t.label}`)).join(", "),
      ],
      ["lines", String(job.lines)],
      ["status", job.status],
      ["progress", `${job.completed} / ${job.total} results (${Math.round(job.progress * 100)}%)`],
      ["attempts", `${job.attempts} of ${job.max_attempts}`],
      ...(report === undefined
        ? []
        : ([
            ["wall time", `${(report.run.wall_ms / 1000).toFixed(1)} s (${report.run.requests_per_second} requests/s)`],
          ] as const)),
    ]),
  ];
  const targets = report?.targets ?? job.result?.targets;
  if (targets) parts.push(formatTargetReports(targets));
  for (const error of job.errors) parts.push(`error: ${error.message}`);
  return parts.join("\n");
}

export function formatComparison(comparison: TargetComparison): string {
  const rows = comparison.metrics.map((m) => [
    m.metric,
    m.a === null ? NONE : String(m.a),
    m.b === null ? NONE : String(m.b),
    m.difference === null ? NONE : `${m.difference > 0 ? "+" : ""}${m.difference}`,
    m.ci95 === null ? NONE : `[${m.ci95[0]}, ${m.ci95[1]}]`,
    m.paired === 0 ? "no paired lines" : m.significant ? "significant" : "not significant",
    String(m.paired),
  ]);
  return [
    `A = ${comparison.a}\nB = ${comparison.b}`,
    formatTable(["METRIC", "A", "B", "B − A", "95% CI", "NOTE", "LINES"], rows),
    `Paired bootstrap over the lines both answered (${comparison.resamples} resamples, seed ${comparison.seed}): ` +
      "a difference is called significant when its 95% interval excludes 0.",
  ].join("\n");
}

/** A progress bar over result rows on a terminal, one line per quarter elsewhere (logs stay readable). */
function rowProgress(session: CliSession, total: number) {
  const tty = session.io.stderrIsTTY === true;
  let lastQuarter = -1;
  return (job: EvaluationJob) => {
    if (session.json) return;
    const fraction = Math.min(1, job.completed / Math.max(1, total));
    const text = `${job.completed}/${total} results  ${Math.floor(fraction * 100)}%  ${job.status}`;
    if (tty) {
      const filled = Math.round(fraction * 28);
      session.io.stderr(`\r\x1b[2Kevaluating [${"#".repeat(filled)}${"-".repeat(28 - filled)}] ${text}`);
      if (TERMINAL_JOB_STATUSES.has(job.status)) session.io.stderr("\n");
      return;
    }
    const quarter = Math.floor(fraction * 4);
    if (quarter > lastQuarter || TERMINAL_JOB_STATUSES.has(job.status)) {
      lastQuarter = quarter;
      session.io.stderr(`evaluating: ${text}\n`);
    }
  };
}

async function readJudge(session: CliSession, value: string | undefined) {
  if (value === undefined) return undefined;
  let raw: string = value;
  if (value.startsWith("@")) {
    try {
      raw = await readFile(resolve(session.io.cwd, value.slice(1)), "utf8");
    } catch (error) {
      throw new UsageError(
        `Cannot read ${value.slice(1)} (${String(error)}).`,
        "pass --judge '<json>' or --judge @file.json",
      );
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new UsageError("--judge is not JSON.", 'e.g. --judge \'{"type":"regex","pattern":"^[0-9]+$"}\'');
  }
  const judge = JudgeSpecSchema.safeParse(parsed);
  if (!judge.success) {
    const issue = judge.error.issues[0];
    throw new UsageError(
      `--judge is not a judge (${issue ? `${issue.path.join(".") || "(judge)"}: ${issue.message}` : "invalid"}).`,
      "a judge is {type: json_schema, schema} | {type: regex, pattern} | {type: model, model}",
    );
  }
  return judge.data;
}

const sleep = (ms: number) => new Promise((resolvePromise) => setTimeout(resolvePromise, ms));

/** `modelgate eval run | list | show | compare`: evaluation jobs over a JSONL dataset, run by GPU workers. */
export function registerEvaluationCommands(program: Command, session: CliSession): void {
  const evaluations = program
    .command("eval")
    .description("evaluate targets over a JSONL dataset on the workers; show reports; compare two targets");

  evaluations
    .command("run")
    .description("upload a JSONL dataset, evaluate it on each --target, follow it and print the report")
    .argument("<dataset>", "JSONL: one {prompt | messages, expected?, judge?, constraint?} per line")
    .requiredOption("--target <ref>", "name@3, name@3:int8 or auto:<category> (repeat for several, up to 4)", collect)
    .option("--judge <json>", "default judge for lines without one (JSON, or @file.json)")
    .option("--max-new-tokens <n>", "per line", integerInRange(1, 8192))
    .option(
      "--temperature <t>",
      "0 (the default for evaluations) decodes greedily, so a re-run gives the same answers",
      numberInRange(0, 5),
    )
    .option("--seed <n>", "sampling seed", integerInRange(0, 2 ** 32 - 1))
    .option("--concurrency <n>", "generations in flight on the worker at once (default 16)", integerInRange(1, 256))
    .option("--name <label>", "a label for the evaluation")
    .option("--no-wait", "queue the job and print it without waiting")
    .option("--poll-ms <ms>", "how often to check progress", integerInRange(100, 60_000), 500)
    .option("--json", "print {job, report} as JSON at the end (the job alone with --no-wait)")
    .action(async (dataset: string, options: RunOptions, command: Command) => {
      const judge = await readJudge(session, options.judge);
      const upload = await uploadLocalFile(session, command, dataset);
      const client = await session.client(command);
      let job = await client.createEvaluation({
        dataset: upload.artifact,
        targets: options.target,
        ...(judge === undefined ? {} : { judge }),
        ...(options.maxNewTokens === undefined ? {} : { max_new_tokens: options.maxNewTokens }),
        ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
        ...(options.seed === undefined ? {} : { seed: options.seed }),
        ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
        ...(options.name === undefined ? {} : { name: options.name }),
      });
      session.note(`queued ${job.id}: ${job.lines} lines × ${job.targets.map((target) => target.label).join(", ")}`);
      if (!options.wait) {
        session.emit(job, (queued) => formatEvaluation(queued));
        return;
      }
      const progress = rowProgress(session, job.total);
      progress(job);
      while (!TERMINAL_JOB_STATUSES.has(job.status)) {
        await sleep(options.pollMs);
        job = await client.getEvaluation(job.id);
        progress(job);
      }
      await emitFinished(session, job, () => client.getEvaluationReport(job.id));
    });

  evaluations
    .command("list")
    .description("evaluations, newest first: status, targets and progress of each")
    .addOption(new Option("--status <status>", "only jobs in this state").choices(EvaluationJobStatusSchema.options))
    .option("--limit <n>", "at most this many (up to 200)", integerInRange(1, 200), 50)
    .option("--json", "print the jobs as JSON")
    .action(async (options: { status?: EvaluationJob["status"]; limit: number }, command: Command) => {
      const client = await session.client(command);
      const jobs = await client.listEvaluations({
        limit: options.limit,
        ...(options.status === undefined ? {} : { status: options.status }),
      });
      session.emit(jobs, formatEvaluationList);
    });

  evaluations
    .command("show")
    .description("an evaluation's status, progress and (once it succeeded) its per-target report")
    .argument("<id>", "the evaluation id (ej_…)")
    .option("--json", "print {job, report} as JSON")
    .action(async (id: string, _options: unknown, command: Command) => {
      const client = await session.client(command);
      const job = await client.getEvaluation(id);
      await emitFinished(session, job, () => client.getEvaluationReport(id), { failOnEnd: false });
    });

  evaluations
    .command("compare")
    .description("two targets of one evaluation side by side: difference and a paired-bootstrap 95% interval")
    .argument("<id>", "the evaluation id (ej_…)")
    .option("--a <target>", "the baseline target's label (default: the first target)")
    .option("--b <target>", "the target compared with it (default: the second target)")
    .option("--resamples <n>", "bootstrap resamples", integerInRange(100, 100_000), 2000)
    .option("--seed <n>", "bootstrap seed (the same seed gives the same interval)", integerInRange(0, 2 ** 32 - 1), 1)
    .option("--json", "print the comparison as JSON")
    .action(
      async (id: string, options: { a?: string; b?: string; resamples: number; seed: number }, command: Command) => {
        const client = await session.client(command);
        const job = await client.getEvaluation(id);
        const labels = job.targets.map((target) => target.label);
        const a = labelOf(job, options.a ?? labels[0], "--a");
        const b = labelOf(job, options.b ?? labels[1], "--b");
        if (a === b)
          throw new UsageError("--a and --b name the same target.", `targets of ${id}: ${labels.join(", ")}`);
        const rows = await client.getEvaluationResults(id);
        const comparison = compareEvaluationTargets(rows, a, b, { resamples: options.resamples, seed: options.seed });
        session.emit(comparison, formatComparison);
      },
    );
}

function formatEvaluationList(jobs: EvaluationJob[]): string {
  if (jobs.length === 0) return "No evaluations yet (modelgate eval run <dataset.jsonl> --target <model>).";
  return formatTable(
    ["ID", "NAME", "STATUS", "TARGETS", "LINES", "PROGRESS", "CREATED"],
    jobs.map((job) => [
      job.id,
      job.name ?? NONE,
      job.status,
      job.targets.map((target) => target.label).join(", "),
      String(job.lines),
      `${job.completed}/${job.total}`,
      formatTimestamp(job.created_at),
    ]),
  );
}

/** A target named by label or by the reference it was submitted as. */
function labelOf(job: EvaluationJob, name: string | undefined, flag: string): string {
  const labels = job.targets.map((target) => target.label);
  if (name === undefined) {
    throw new UsageError(`${job.id} has one target; nothing to compare it with.`, "evaluate two or more --target");
  }
  const found = job.targets.find((target) => target.label === name || target.reference === name);
  if (found === undefined)
    throw new UsageError(`${flag} ${name} is not a target of ${job.id}.`, `targets: ${labels.join(", ")}`);
  return found.label;
}

/** The job with its report once it succeeded; a failed or cancelled job is printed, then ends the command with its code. */
async function emitFinished(
  session: CliSession,
  job: EvaluationJob,
  report: () => Promise<EvaluationReport>,
  options: { failOnEnd: boolean } = { failOnEnd: true },
): Promise<void> {
  const fetched = job.status === "succeeded" ? await report() : undefined;
  session.emit({ job, ...(fetched === undefined ? {} : { report: fetched }) }, (value) =>
    formatEvaluation(value.job, value.report),
  );
  if (!options.failOnEnd) return;
  if (job.status === "failed") {
    throw new ModelgateError(
      "gate_failed",
      `Evaluation ${job.id} failed: ${job.errors.at(-1)?.message ?? "no reason given"}.`,
    );
  }
  if (job.status === "cancelled") throw new ModelgateError("conflict", `Evaluation ${job.id} was cancelled.`);
}
