import { ModelgateError, type RolloutRequestInput, RolloutStickinessSchema, type RolloutView } from "@modelgate/shared";
import { type Command, InvalidArgumentError, Option } from "commander";
import { integerInRange, parseModelName, parseNumber, parseVersionNumber } from "../arguments.js";
import { formatFields, NONE } from "../output.js";
import type { CliSession } from "../session.js";

interface StartOptions {
  percent?: number;
  steps?: number[];
  maxErrorRate?: number;
  maxP95Ms?: number;
  minJudgeScore?: number;
  window?: number;
  minRequests?: number;
  sticky?: "key" | "request";
  reason?: string;
  wait: boolean;
  pollMs: number;
}

function parseSteps(value: string): number[] {
  const steps = value.split(",").map((part) => parseNumber(part.trim()));
  if (steps.some((step) => step <= 0 || step > 100))
    throw new InvalidArgumentError("each step is a percent in (0, 100]");
  return steps;
}

/** One progress line: `[ 50%] active — guard held at 10% over 42 requests; advancing to 50%`. */
export function formatRolloutProgress(rollout: RolloutView): string {
  return `[${`${rollout.percent}%`.padStart(4)}] ${rollout.status}${rollout.reason ? ` — ${rollout.reason}` : ""}`;
}

export function formatRollout(rollout: RolloutView): string {
  const guard = rollout.guard;
  const last = rollout.last_evaluation;
  return formatFields([
    ["rollout", `${rollout.model} ${rollout.id}: version ${rollout.candidate} against ${rollout.baseline ?? NONE}`],
    ["status", rollout.status],
    ["share", `${rollout.percent}% (steps ${rollout.steps.map((step) => `${step}%`).join(" → ")})`],
    ["sticky", rollout.sticky === "key" ? "per API key" : "per request id"],
    [
      "guard",
      [
        `error rate ≤ ${guard.max_error_rate}`,
        ...(guard.max_p95_ms === undefined ? [] : [`p95 ≤ ${guard.max_p95_ms} ms`]),
        ...(guard.min_judge_score === undefined ? [] : [`judge ≥ ${guard.min_judge_score}`]),
        `every ${guard.window} s, ≥ ${guard.min_requests} requests to advance`,
      ].join(", "),
    ],
    [
      "last window",
      last === undefined
        ? NONE
        : `${last.requests} requests, ${last.errors} failed, p95 ${last.p95_ms === null ? NONE : `${last.p95_ms.toFixed(1)} ms`}, judge ${last.mean_judge_score === null ? NONE : last.mean_judge_score.toFixed(3)}`,
    ],
    ["reason", rollout.reason ?? NONE],
    ["next check", rollout.next_evaluation_at ?? NONE],
  ]);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Follows a rollout until it is no longer active, a line per change; the exit code says how it ended. */
async function follow(session: CliSession, read: () => Promise<RolloutView>, first: RolloutView, pollMs: number) {
  let rollout = first;
  let last = formatRolloutProgress(rollout);
  session.note(last);
  while (rollout.status === "active") {
    await sleep(pollMs);
    rollout = await read();
    const line = formatRolloutProgress(rollout);
    if (line !== last) session.note(line);
    last = line;
  }
  return rollout;
}

function failIfRolledBack(rollout: RolloutView): void {
  if (rollout.status === "rolled_back") {
    throw new ModelgateError(
      "gate_failed",
      `Rollout ${rollout.id} of ${rollout.model} was rolled back: ${rollout.reason}`,
    );
  }
}

/**
 * `modelgate models rollout start|status|pause|resume|abort`: canary rollouts (issue 16). With
 * `--wait`, start and status follow the rollout to its end, printing each step.
 */
export function registerRolloutCommands(models: Command, session: CliSession): void {
  const rollout = models
    .command("rollout")
    .description("canary rollouts: shift traffic to a candidate step by step, rolled back when its guard breaks");

  rollout
    .command("start")
    .description("start a canary of <candidate> against the Production version of <name>")
    .argument("<name>", "model name", parseModelName)
    .argument("<candidate>", "the version number to roll out", parseVersionNumber)
    .option("--percent <n>", "the share to start at (one of --steps; default the first)", parseNumber)
    .option("--steps <list>", "shares to move through, e.g. 10,50,100 (the default)", parseSteps)
    .option("--max-error-rate <rate>", "largest failed share of the candidate's requests (default 0.05)", parseNumber)
    .option("--max-p95-ms <ms>", "largest p95 latency of the candidate's successful requests", parseNumber)
    .option("--min-judge-score <score>", "lowest mean judge score of its judged generations", parseNumber)
    .option(
      "--window <seconds>",
      "how often the guard looks, over the last window (default 60)",
      integerInRange(1, 86_400),
    )
    .option(
      "--min-requests <n>",
      "candidate requests a window needs before advancing (default 20)",
      integerInRange(0, 1_000_000),
    )
    .addOption(
      new Option("--sticky <by>", "hash callers by API key or request id").choices(RolloutStickinessSchema.options),
    )
    .option("--reason <text>", "why, kept in the model's history")
    .option("--wait", "follow the rollout until it completes, rolls back or stops")
    .option("--poll-ms <ms>", "how often --wait checks", integerInRange(100, 60_000), 1000)
    .option("--json", "print the rollout as JSON (at the end with --wait)")
    .action(async (name: string, candidate: number, options: StartOptions, command: Command) => {
      const client = await session.client(command);
      const guard: NonNullable<RolloutRequestInput["guard"]> = {
        ...(options.maxErrorRate === undefined ? {} : { max_error_rate: options.maxErrorRate }),
        ...(options.maxP95Ms === undefined ? {} : { max_p95_ms: options.maxP95Ms }),
        ...(options.minJudgeScore === undefined ? {} : { min_judge_score: options.minJudgeScore }),
        ...(options.window === undefined ? {} : { window: options.window }),
        ...(options.minRequests === undefined ? {} : { min_requests: options.minRequests }),
      };
      let started = await client.startRollout(name, {
        candidate,
        guard,
        ...(options.percent === undefined ? {} : { percent: options.percent }),
        ...(options.steps === undefined ? {} : { steps: options.steps }),
        ...(options.sticky === undefined ? {} : { sticky: options.sticky }),
        ...(options.reason === undefined ? {} : { reason: options.reason }),
      });
      if (options.wait) started = await follow(session, () => client.getRollout(name), started, options.pollMs);
      session.emit(started, formatRollout);
      failIfRolledBack(started);
    });

  rollout
    .command("status")
    .description("the model's rollout in progress, or the last one with its outcome")
    .argument("<name>", "model name", parseModelName)
    .option("--wait", "follow it until it is no longer active")
    .option("--poll-ms <ms>", "how often --wait checks", integerInRange(100, 60_000), 1000)
    .option("--json", "print the edge's JSON response")
    .action(async (name: string, options: { wait?: boolean; pollMs: number }, command: Command) => {
      const client = await session.client(command);
      let current = await client.getRollout(name);
      if (options.wait) current = await follow(session, () => client.getRollout(name), current, options.pollMs);
      session.emit(current, formatRollout);
      if (options.wait) failIfRolledBack(current);
    });

  const controls = {
    pause: "keep the split where it is and stop the guard",
    resume: "run the guard again (the current step's window starts over)",
    abort: "send all traffic back to Production",
  } as const;
  for (const [control, description] of Object.entries(controls) as ["pause" | "resume" | "abort", string][]) {
    rollout
      .command(control)
      .description(description)
      .argument("<name>", "model name", parseModelName)
      .option("--reason <text>", "why, kept in the model's history")
      .option("--json", "print the edge's JSON response")
      .action(async (name: string, options: { reason?: string }, command: Command) => {
        const client = await session.client(command);
        session.emit(await client.controlRollout(name, control, options.reason), formatRollout);
      });
  }
}
