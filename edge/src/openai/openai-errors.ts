/**
 * Errors on the OpenAI-compatible routes stay modelgate's one error model (problem+json) and
 * also carry OpenAI's `error: {message, type, param, code}` member, which OpenAI clients read
 * to show the message. Streams that fail after they started end with `data: {"error": …}`.
 */
import {
  ERROR_CODES,
  type ErrorCode,
  ModelgateError,
  type ProblemDetails,
  ProblemDetailsSchema,
} from "@modelgate/shared";
import type { Context } from "hono";
import type { AppEnv } from "../env.js";
import { problemResponse } from "../http/problem.js";
import type { OpenAiError } from "./openai-schemas.js";

/** OpenAI's error `type` for each status class its SDKs know. */
function openAiErrorType(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 409) return "conflict_error";
  if (status === 429) return "rate_limit_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

export function openAiErrorOf(problem: ProblemDetails): OpenAiError {
  return {
    message: problem.detail ?? problem.title,
    type: openAiErrorType(problem.status),
    param: problem.errors?.[0]?.field || null,
    code: problem.code,
  };
}

/** The route family's error handler: the problem the edge would send, plus the OpenAI member. */
export async function openAiProblemResponse(error: unknown, c: Context<AppEnv>): Promise<Response> {
  const plain = problemResponse(c, error);
  const problem = ProblemDetailsSchema.parse(await plain.json());
  return new Response(JSON.stringify({ ...problem, error: openAiErrorOf(problem) }), {
    status: plain.status,
    headers: plain.headers,
  });
}

const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(ERROR_CODES, code);

/**
 * A problem a worker sent (a 4xx answer, or a stream's `error` event) as the edge's own error,
 * so it can be renamed to the client's fields and rendered like any other. Anything that is not
 * a problem modelgate knows becomes a plain 502: a worker's internals never reach the client.
 */
export function workerProblemAsError(body: unknown): ModelgateError {
  const problem = ProblemDetailsSchema.safeParse(body);
  if (!problem.success || !isErrorCode(problem.data.code)) {
    return new ModelgateError("upstream_failed", "The worker failed with an answer modelgate does not understand.");
  }
  const { code, detail, title, errors } = problem.data;
  return new ModelgateError(code, detail ?? title, errors);
}

/** A stream's closing error chunk, as OpenAI's SDKs expect it: `data: {"error": {…}}`. */
export function streamErrorChunk(error: ModelgateError, instance: string): { error: OpenAiError } {
  return { error: openAiErrorOf(error.toProblem(instance)) };
}
