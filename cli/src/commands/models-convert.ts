import {
  type ConversionJob,
  type ConversionTarget,
  ConversionTargetSchema,
  type GateResult,
  ModelgateError,
  TERMINAL_JOB_STATUSES,
  type VersionVerificationView,
} from "@modelgate/shared";
import { type Command, InvalidArgumentError } from "commander";
import { collect, integerInRange, parseModelName, parseVersionNumber } from "../arguments.js";
import { formatBytes, formatFields, formatTable, NONE } from "../output.js";
import type { CliSession } from "../session.js";

interface ConvertOptions {
  version: number;
  to: ConversionTarget[];
  shapes?: number[];
  primary?: number;
  wait: boolean;
  pollMs: number;
}

function parseTarget(value: string, previous: ConversionTarget[] | undefined): ConversionTarget[] {
  const parsed = ConversionTargetSchema.safeParse(value);
  if (!parsed.success)
    throw new InvalidArgumentError(`not a conversion target; use ${ConversionTargetSchema.options.join(", ")}`);
  return collect(parsed.data, previous) as ConversionTarget[];
}

const shapeNumber = integerInRange(1, 131_072);
function parseShapes(value: string): number[] {
  return value.split(",").map((part) => shapeNumber(part.trim()));
}

/** One progress line: `[ 42%] convert int8 — quantizing MatMul weights`. */
export function formatJobProgress(job: ConversionJob): string {
  const percent = `${Math.round(job.progress * 100)}%`.padStart(4);
  const step = job.step_detail ? `${job.step} ${job.step_detail}` : job.step;
  return `[${percent}] ${job.status === "running" ? step : job.status}${job.message ? ` — ${job.message}` : ""}`;
}

export function formatJob(job: ConversionJob): string {
  const lines = [
    formatFields([
      ["job", job.id],
      ["model", `${job.model}@${job.version}`],
      ["targets", job.targets.join(", ")],
      ["shapes", `${job.shapes.join(", ")} (primary ${job.primary})`],
      ["status", job.status],
      ["step", job.step_detail ? `${job.step} (${job.step_detail})` : job.step],
      ["progress", `${Math.round(job.progress * 100)}%`],
      ["attempts", `${job.attempts} of ${job.max_attempts}`],
    ]),
  ];
  if (job.result) {
    lines.push(`source gates: ${job.result.source_gates_ok ? "ok" : "FAILED"}`);
    const rows = Object.entries(job.result.formats).map(([target, format]) => [
      target,
      format ? (format.gates_ok ? "ok" : `FAILED (${format.must_pass_failed.join(", ")})`) : NONE,
      format ? formatBytes(format.bytes) : NONE,
      format ? `${format.size_ratio.toFixed(3)}×` : NONE,
      format ? `${(format.top1_agreement * 100).toFixed(2)}%` : NONE,
    ]);
    lines.push(formatTable(["FORMAT", "GATES", "SIZE", "VS FP32", "TOP-1"], rows));
  }
  for (const error of job.errors)
    lines.push(`error (${error.step}${error.target ? ` ${error.target}` : ""}): ${error.message}`);
  return lines.join("\n");
}

function gateRows(gates: readonly GateResult[]): string[][] {
  return gates.map((gate) => [gate.level, gate.name, gate.passed ? "pass" : "FAIL", gate.detail]);
}

export function formatVerification(view: VersionVerificationView): string {
  if (view.source === null) {
    return `${view.model}@${view.version} has not been verified. Run \`modelgate models convert ${view.model} --version ${view.version} --to int8\`.`;
  }
  const parts = [
    `${view.model}@${view.version} (fp32 original): gates ${view.source.summary.gates_ok ? "ok" : `FAILED: ${view.source.summary.must_pass_failed.join(", ")}`}`,
  ];
  if (view.source.report)
    parts.push(formatTable(["LEVEL", "GATE", "RESULT", "DETAIL"], gateRows(view.source.report.gates)));
  const shapes = view.source.contract?.shape_validation ?? view.source.report?.shape_validation;
  if (shapes) {
    parts.push(
      formatTable(
        ["SHAPE", "STATUS", "LATENCY", "DETAIL"],
        Object.entries(shapes).map(([key, shape]) => [
          key,
          shape.status,
          shape.latency_ms === undefined ? NONE : `${shape.latency_ms.toFixed(1)} ms`,
          shape.error ?? "",
        ]),
      ),
    );
  }
  for (const [target, format] of Object.entries(view.formats)) {
    if (!format) continue;
    const { summary } = format;
    const metrics = summary.metrics;
    parts.push(
      `\n${target}${view.serving_format === target ? " (serving)" : ""}: gates ${summary.gates_ok ? "ok" : `FAILED: ${summary.must_pass_failed.join(", ")}`} — ` +
        `top-1 ${(metrics.top1_agreement * 100).toFixed(2)}%, cosine ${metrics.cosine_similarity.toFixed(5)}, ` +
        `max |diff| ${metrics.max_abs_diff.toPrecision(3)}, size ${metrics.size_ratio.toFixed(3)}× (${formatBytes(summary.artifact.bytes)})`,
    );
    if (format.report) parts.push(formatTable(["LEVEL", "GATE", "RESULT", "DETAIL"], gateRows(format.report.gates)));
  }
  return parts.join("\n");
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `modelgate models convert` and `modelgate models verify`. */
export function registerConvertCommands(models: Command, session: CliSession): void {
  models
    .command("convert")
    .description("convert a version to fp16 / int8 / int4 on a worker, verify it against fp32, record the gates")
    .argument("<name>", "model name", parseModelName)
    .requiredOption("--version <n>", "the version to convert", parseVersionNumber)
    .requiredOption("--to <target>", "fp16, int8 or int4 (repeat for several)", parseTarget)
    .option("--shapes <list>", "sequence lengths (rows for tensor models) to try, e.g. 128,512,1024", parseShapes)
    .option("--primary <n>", "the shape that must work (default 1024 when listed, else the first)", shapeNumber)
    .option("--no-wait", "queue the job and print it without waiting")
    .option("--poll-ms <ms>", "how often to check progress", integerInRange(100, 60_000), 500)
    .option("--json", "print the job as JSON (at the end, or at once with --no-wait)")
    .action(async (name: string, options: ConvertOptions, command: Command) => {
      const client = await session.client(command);
      let job = await client.createConversion(name, options.version, {
        targets: options.to,
        ...(options.shapes === undefined ? {} : { shapes: options.shapes }),
        ...(options.primary === undefined ? {} : { primary: options.primary }),
      });
      session.note(`queued ${job.id} for ${job.model}@${job.version} → ${job.targets.join(", ")}`);
      if (options.wait) {
        let last = "";
        while (!TERMINAL_JOB_STATUSES.has(job.status)) {
          await sleep(options.pollMs);
          job = await client.getConversion(job.id);
          const line = formatJobProgress(job);
          if (line !== last) session.note(line);
          last = line;
        }
      }
      session.emit(job, formatJob);
      // The job is printed above; the exit code tells scripts how it ended (8 refused, 7 cancelled).
      if (job.status === "failed") {
        const last = job.errors.at(-1);
        throw new ModelgateError(
          "gate_failed",
          `Conversion ${job.id} failed${last ? ` at ${last.step}: ${last.message}` : "."}`,
        );
      }
      if (job.status === "cancelled") throw new ModelgateError("conflict", `Conversion ${job.id} was cancelled.`);
    });

  models
    .command("verify")
    .description("print a version's verification report: contract, shapes, and every gate per format")
    .argument("<name>", "model name", parseModelName)
    .requiredOption("--version <n>", "the version", parseVersionNumber)
    .option("--json", "print the edge's JSON response")
    .action(async (name: string, options: { version: number }, command: Command) => {
      const client = await session.client(command);
      const view = await client.getVerification(name, options.version);
      session.emit(view, formatVerification);
      const failed = view.source !== null && !view.source.summary.gates_ok;
      if (failed) {
        const gates = view.source?.summary.must_pass_failed.join(", ") ?? "";
        throw new ModelgateError("gate_failed", `${name}@${options.version} failed must-pass gates: ${gates}.`);
      }
    });
}
