import { ModelgateError, type ProblemDetails } from "@modelgate/shared";
import type { KeySource } from "./connection.js";
import { EdgeProblemError, EdgeProtocolError, EdgeUnreachableError } from "./edge-client.js";
import { EXIT_CODES, type ExitCode, exitCodeForStatus } from "./exit-codes.js";

/** Bad flags, arguments or input files, found before anything is sent. */
export class UsageError extends Error {
  readonly hint: string;

  constructor(message: string, hint: string) {
    super(message);
    this.name = "UsageError";
    this.hint = hint;
  }
}

/** What the reporter needs to know about the run that failed. */
export interface FailureContext {
  json: boolean;
  keySource: KeySource | undefined;
  debug: boolean;
  stderr: (s: string) => void;
}

interface Failure {
  exitCode: ExitCode;
  /** Problem+json from the edge as received; for local failures, one shaped the same way. */
  problem: Omit<ProblemDetails, "status"> & { status?: number };
  hint: string;
}

const localProblem = (slug: string, title: string, detail: string) => ({
  type: `https://modelgate.dev/problems/${slug}`,
  title,
  code: slug.replaceAll("-", "_"),
  detail,
});

const STACK_HINT = "is the stack running? try `npm start` (or point --url / MODELGATE_URL at your edge)";

function hintForProblem(problem: ProblemDetails, keySource: KeySource | undefined): string {
  const { status, code } = problem;
  if (status === 401) {
    return keySource === undefined
      ? "no API key was sent: pass --key, set MODELGATE_KEY, or run `npm start` here to write .modelgate/admin-key"
      : `the key from ${keySource} was rejected: check it, or use the admin key in .modelgate/admin-key`;
  }
  if (status === 403)
    return "this key lacks the scope this command needs; use a key that has it (the admin key has all)";
  if (status === 404) {
    return problem.detail?.startsWith("No route")
      ? "the edge does not serve this route: is --url pointing at a modelgate edge of the same version?"
      : "check model names and versions with `modelgate models list`";
  }
  if (code === "validation_failed" || code === "bad_request") return "fix the fields named above and try again";
  if (status === 409) return "the registry changed while this ran; run the command again";
  if (status === 429) return "rate limited: wait a moment and retry";
  if (code === "no_worker_available")
    return `no live worker can serve this model (see \`modelgate workers list\`); ${STACK_HINT}`;
  if (status >= 500) return `the edge or its worker failed; ${STACK_HINT}`;
  return "fix the request and try again";
}

/** Sorts any thrown value into an exit code, a problem to show and a hint of what to do next. */
function classify(error: unknown, keySource: KeySource | undefined): Failure {
  if (error instanceof EdgeProblemError) {
    return {
      exitCode: exitCodeForStatus(error.status),
      problem: error.problem,
      hint: hintForProblem(error.problem, keySource),
    };
  }
  // Local validation with the shared schemas fails exactly as the edge would have.
  if (error instanceof ModelgateError) {
    const problem = error.toProblem();
    return { exitCode: exitCodeForStatus(problem.status), problem, hint: hintForProblem(problem, keySource) };
  }
  if (error instanceof UsageError) {
    return {
      exitCode: EXIT_CODES.usage,
      problem: localProblem("usage", "Usage error", error.message),
      hint: error.hint,
    };
  }
  if (error instanceof EdgeUnreachableError) {
    return {
      exitCode: EXIT_CODES.unavailable,
      problem: localProblem("edge-unreachable", "Edge unreachable", error.message),
      hint: STACK_HINT,
    };
  }
  if (error instanceof EdgeProtocolError) {
    return {
      exitCode: EXIT_CODES.unexpected,
      problem: localProblem("unexpected-response", "Unexpected response", error.message),
      hint: "the CLI and the edge may be different versions; update both from the same checkout",
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    exitCode: EXIT_CODES.unexpected,
    problem: localProblem("internal", "Unexpected error", message),
    hint: "this is a bug in the CLI; run again with MODELGATE_DEBUG=1 for the stack trace and report it",
  };
}

/** Writes the failure to stderr (problem JSON with --json, a short message and hint otherwise). */
export function reportFailure(error: unknown, context: FailureContext): ExitCode {
  const failure = classify(error, context.keySource);
  if (context.json) {
    context.stderr(`${JSON.stringify(failure.problem, null, 2)}\n`);
  } else {
    const { problem } = failure;
    const status = problem.status === undefined ? "" : ` (${problem.status} ${problem.code})`;
    const lines = [`modelgate: ${problem.detail ?? problem.title}${status}`];
    for (const fieldError of problem.errors ?? []) {
      lines.push(`  ${fieldError.field || "(body)"}: ${fieldError.message}`);
    }
    lines.push(`hint: ${failure.hint}`);
    context.stderr(`${lines.join("\n")}\n`);
  }
  if (context.debug && error instanceof Error && error.stack) context.stderr(`${error.stack}\n`);
  return failure.exitCode;
}
