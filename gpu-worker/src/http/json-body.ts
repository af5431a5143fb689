/** Parsing the signature-verified body of a `/v1/*` request with the route's schema. */
import { ModelgateError, validationError } from "@modelgate/shared";
import type { Context } from "hono";
import type { z } from "zod";
import type { WorkerAppEnv } from "./app-env.js";

export function readVerifiedJson<S extends z.ZodType>(c: Context<WorkerAppEnv>, schema: S, what: string): z.output<S> {
  const text = new TextDecoder().decode(c.get("verifiedBody"));
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ModelgateError("bad_request", `The ${what} is not valid JSON.`, [
      { field: "", message: "malformed JSON" },
    ]);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw validationError(parsed.error, what);
  return parsed.data;
}
