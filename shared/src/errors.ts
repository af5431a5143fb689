import { z } from "zod";

/**
 * One error model for every HTTP surface (RFC 9457 problem+json). Services return
 * expected failures as values; the HTTP layer turns a `ModelgateError` into a problem.
 */
export const ERROR_CODES = {
  bad_request: 400,
  validation_failed: 400,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  /** The artifact a registration names is not in object storage (upload it first). */
  artifact_missing: 422,
  /** The stored artifact's size or sha256 differs from what was declared. */
  artifact_mismatch: 422,
  /** The model's registration policy refused the version (e.g. val_acc below threshold). */
  policy_rejected: 422,
  /** A version or converted format failed a must-pass quality gate (seed 001): not promotable or servable. */
  gate_failed: 422,
  rate_limited: 429,
  no_worker_available: 503,
  storage_unavailable: 503,
  /** The selection-analytics database (D1) is not bound or did not answer. */
  analytics_unavailable: 503,
  upstream_failed: 502,
  upstream_timeout: 504,
  artifact_integrity_failed: 502,
  internal: 500,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const ERROR_TITLES: Record<ErrorCode, string> = {
  bad_request: "Bad request",
  validation_failed: "Request failed validation",
  payload_too_large: "Payload too large",
  unsupported_media_type: "Unsupported media type",
  unauthorized: "Authentication required",
  forbidden: "Forbidden",
  not_found: "Not found",
  conflict: "Conflict",
  artifact_missing: "Artifact not found in object storage",
  artifact_mismatch: "Artifact does not match its declaration",
  policy_rejected: "Refused by the model's registration policy",
  gate_failed: "A must-pass quality gate failed",
  rate_limited: "Too many requests",
  no_worker_available: "No worker available",
  storage_unavailable: "Object storage unavailable",
  analytics_unavailable: "Analytics database unavailable",
  upstream_failed: "Upstream worker failed",
  upstream_timeout: "Upstream worker timed out",
  artifact_integrity_failed: "Artifact integrity check failed",
  internal: "Internal error",
};

export const FieldProblemSchema = z.object({
  /** Dotted path of the offending field, e.g. `artifact.sha256`; `""` for the whole body. */
  field: z.string(),
  message: z.string(),
});
export type FieldProblem = z.infer<typeof FieldProblemSchema>;

export const ProblemDetailsSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.int().min(400).max(599),
  detail: z.string().optional(),
  instance: z.string().optional(),
  code: z.string(),
  errors: z.array(FieldProblemSchema).optional(),
});
export type ProblemDetails = z.infer<typeof ProblemDetailsSchema>;

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

export class ModelgateError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly fieldErrors: FieldProblem[] | undefined;
  /** For `rate_limited`: rendered as the `Retry-After` header. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: ErrorCode,
    detail: string,
    fieldErrors?: FieldProblem[],
    options: { retryAfterSeconds?: number } = {},
  ) {
    super(detail);
    this.name = "ModelgateError";
    this.code = code;
    this.status = ERROR_CODES[code];
    this.fieldErrors = fieldErrors;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  toProblem(instance?: string): ProblemDetails {
    return {
      type: `https://modelgate.dev/problems/${this.code.replaceAll("_", "-")}`,
      title: ERROR_TITLES[this.code],
      status: this.status,
      detail: this.message,
      code: this.code,
      ...(instance === undefined ? {} : { instance }),
      ...(this.fieldErrors === undefined ? {} : { errors: this.fieldErrors }),
    };
  }
}

/** Turns zod issues into field problems whose `field` is the dotted path a client sent. */
export function fieldProblemsFromZod(error: z.ZodError, prefix = ""): FieldProblem[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join(".");
    const field = prefix && path ? `${prefix}.${path}` : prefix || path;
    return { field, message: issue.message };
  });
}

export function validationError(error: z.ZodError, what: string, prefix = ""): ModelgateError {
  const problems = fieldProblemsFromZod(error, prefix);
  const named = problems.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message)).join("; ");
  return new ModelgateError("validation_failed", `Invalid ${what}: ${named}`, problems);
}

/** Result type for expected failures inside services (errors are values, not exceptions). */
export type Result<T, E = ModelgateError> = { ok: true; value: T } | { ok: false; error: E };
export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const err = <E>(error: E): Result<never, E> => ({ ok: false, error });
