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

const NO_KEY_HINT =
  'no API key was sent: pass --key, set MODELGATE_KEY, put "key" in ~/.config/modelgate/config.json ' +
  "(or the file MODELGATE_CONFIG names), or run `npm start` in this checkout to write .modelgate/admin-key";

function hintForProblem(problem: ProblemDetails, keySource: KeySource | undefined): string {
  const { status, code } = problem;
  if (status === 401) {
    return keySource === undefined
      ? NO_KEY_HINT
      : `the key from ${keySource} was rejected: check it (\`modelgate config show\`), or use the admin key in .modelgate/admin-key`;
  }
  if (status === 403)
    return "this key lacks the scope this command needs; use a key that has it (the admin key has all)";
  if (status === 404) {
    return problem.detail?.startsWith("No route")
      ? "the edge does not serve this route: is --url pointing at a modelgate edge of the same version?"
      : "check model names, versions and aliases with `modelgate models list` or `modelgate models info <name>`";
  }
  if (code === "validation_failed" || code === "bad_request") return "fix the fields named above and try again";
  if (code === "artifact_missing") {
    return "upload the artifact first (`modelgate models upload <file>`), then register with --from-upload or its uri, --sha256 and --bytes";
  }
  if (code === "artifact_mismatch") {
    return "the declared sha256/bytes differ from the stored object: take them from `modelgate models upload <file> --json`";
  }
  if (code === "policy_rejected") {
    return "the model's registration policy refused it (see `modelgate models policy <name>`): improve the metric, change the policy, or register with --skip-policy";
  }
  if (status === 409) {
    return "the registry is not in a state that allows this: promote another version first or pass --force (for deletes); if it changed while this ran, run the command again";
  }
  if (status === 429) return "rate limited: wait a moment and retry";
  if (code === "no_worker_available")
    return `no live worker can serve this model (see \`modelgate workers list\`); ${STACK_HINT}`;
  if (code === "storage_unavailable") return "the edge cannot reach object storage: check its MODELGATE_S3_* settings";
  if (code === "analytics_unavailable")
    return "the edge has no analytics database: bind ANALYTICS (D1) in wrangler.toml";
  if (status >= 500) return `the edge or its worker failed; ${STACK_HINT}`;
  return "fix the request and try again";
}

/**
 * The edge's detail for a validation failure repeats every field error ("Invalid x: a: …; b: …");
 * the errors are printed one per line below, so the headline keeps only the part before them.
 */
function headline(problem: Failure["problem"]): string {
  const detail = problem.detail ?? problem.title;
  const first = problem.errors?.[0];
  if (!first) return detail;
  const repeated = detail.indexOf(first.field ? `${first.field}: ${first.message}` : first.message);
  if (repeated === -1) return detail;
  const before = detail.slice(0, repeated).replace(/[\s:;,]+$/, "");
  return before || problem.title;
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
    const lines = [`modelgate: ${headline(problem)}${status}`];
    for (const fieldError of problem.errors ?? []) {
      lines.push(`  ${fieldError.field || "(body)"}: ${fieldError.message}`);
    }
    lines.push(`hint: ${failure.hint}`);
    context.stderr(`${lines.join("\n")}\n`);
  }
  if (context.debug && error instanceof Error && error.stack) context.stderr(`${error.stack}\n`);
  return failure.exitCode;
}
