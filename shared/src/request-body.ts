import type { z } from "zod";
import { ModelgateError, validationError } from "./errors.js";

/**
 * Reads a request body, refusing it as soon as it passes `limit` bytes: checked while
 * streaming, so a lying or absent Content-Length cannot get past it. Web-standard streams
 * only, so the edge (workerd) and the worker (Node) share it.
 */
export async function readBoundedBody(request: Request, limit: number): Promise<Uint8Array<ArrayBuffer>> {
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limit) throw bodyTooLarge(limit);
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      throw bodyTooLarge(limit);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

function bodyTooLarge(limit: number): ModelgateError {
  return new ModelgateError("payload_too_large", `The request body is larger than ${limit} bytes.`);
}

/** Parses a JSON body and validates it with the route's schema; errors name the field. */
export function parseJsonBody<S extends z.ZodType>(text: string, schema: S, what: string): z.output<S> {
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
