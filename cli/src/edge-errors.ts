/** What can go wrong talking to the edge, as errors the CLI maps to exit codes (cli-errors.ts). */
import { type FieldProblem, type ProblemDetails, ProblemDetailsSchema } from "@modelgate/shared";

export class EdgeProblemError extends Error {
  readonly problem: ProblemDetails;

  constructor(problem: ProblemDetails) {
    super(problem.detail ?? problem.title);
    this.name = "EdgeProblemError";
    this.problem = problem;
  }

  get status(): number {
    return this.problem.status;
  }

  get code(): string {
    return this.problem.code;
  }

  get fieldErrors(): FieldProblem[] {
    return this.problem.errors ?? [];
  }
}

/** No HTTP answer at all: connection refused, DNS failure, reset, or our own timeout. */
export class EdgeUnreachableError extends Error {
  readonly url: string;
  readonly reason: string;

  constructor(url: string, reason: string) {
    super(`Cannot reach the edge at ${url}: ${reason}.`);
    this.name = "EdgeUnreachableError";
    this.url = url;
    this.reason = reason;
  }
}

/** A 2xx answer the CLI cannot read: the edge and the CLI disagree about the contract. */
export class EdgeProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EdgeProtocolError";
  }
}

/** Inference answers carry the routing decision in headers, not in the body. */
/** Node's fetch hides the socket error in `cause` (an AggregateError when both ::1 and 127.0.0.1 fail). */
export function networkReason(error: unknown): string {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) return "timed out";
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause instanceof Error) {
    const code = "code" in cause && typeof cause.code === "string" ? cause.code : undefined;
    if (code === "ECONNREFUSED") return "connection refused";
    if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "host not found";
    return code ? `${code} (${cause.message})` : cause.message;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * The edge always answers errors with problem+json, but a proxy or a crashed worker in front
 * of it may not; such bodies still become a problem so one code path reports every failure.
 */
export function problemFromResponse(response: Response, text: string): ProblemDetails {
  try {
    const parsed = ProblemDetailsSchema.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data;
  } catch {
    // Not JSON: fall through to a problem built from the status line.
  }
  const snippet = text.trim().slice(0, 200);
  return {
    type: "about:blank",
    title: response.statusText || `HTTP ${response.status}`,
    status: response.status,
    code: `http_${response.status}`,
    ...(snippet ? { detail: snippet } : {}),
  };
}
