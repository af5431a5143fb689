/** Parsing the signature-verified body of a `/v1/*` request with the route's schema (UTF-8, no repeated keys: see `parseJsonBytes`). */
import { parseJsonBytes } from "@modelgate/shared";
import type { Context } from "hono";
import type { z } from "zod";
import type { WorkerAppEnv } from "./app-env.js";

export function readVerifiedJson<S extends z.ZodType>(c: Context<WorkerAppEnv>, schema: S, what: string): z.output<S> {
  return parseJsonBytes(c.get("verifiedBody"), schema, what);
}
