import { type ErrorCode, type FieldProblem, ModelgateError, type Result } from "@modelgate/shared";

/**
 * A Result that survives a Durable Object RPC: thrown errors lose their class across the
 * boundary, so expected failures travel as plain data and are rebuilt on the caller's side.
 */
export type WireResult<T> =
  | { ok: true; value: T }
  | { ok: false; error: { code: ErrorCode; detail: string; errors?: FieldProblem[] | undefined } };

export function toWire<T>(result: Result<T>): WireResult<T> {
  if (result.ok) return result;
  return {
    ok: false,
    error: { code: result.error.code, detail: result.error.message, errors: result.error.fieldErrors },
  };
}

/** Unwraps at the HTTP edge: failures become the ModelgateError the route throws. */
export function unwrapWire<T>(result: WireResult<T>): T {
  if (result.ok) return result.value;
  throw new ModelgateError(result.error.code, result.error.detail, result.error.errors);
}
