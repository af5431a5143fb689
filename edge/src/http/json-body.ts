import { ModelgateError, parseJsonBytes, readBoundedBody } from "@modelgate/shared";
import type { Context } from "hono";
import type { z } from "zod";
import type { AppEnv } from "../env.js";

/**
 * Reads a JSON body no larger than the configured limit (checked while streaming, so a lying
 * or absent Content-Length cannot get past it) and validates it with the route's schema. The
 * bytes must be UTF-8 (one leading byte-order mark is stripped) and no object may repeat a key:
 * see `parseJsonBytes` in shared.
 */
export async function readJsonBody<S extends z.ZodType>(
  c: Context<AppEnv>,
  schema: S,
  what: string,
  maxBytes = c.get("config").MODELGATE_MAX_BODY_BYTES,
): Promise<z.output<S>> {
  const bytes = await readBoundedBody(c.req.raw, maxBytes);
  const contentType = c.req.header("content-type") ?? "";
  if (!/^application\/(.+\+)?json\b/i.test(contentType)) {
    throw new ModelgateError("unsupported_media_type", `Send the ${what} as application/json.`);
  }
  return parseJsonBytes(bytes, schema, what);
}
