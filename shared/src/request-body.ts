import type { z } from "zod";
import { ModelgateError, validationError } from "./errors.js";
import { findDuplicateJsonKey } from "./json-duplicate-keys.js";

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

/**
 * A JSON body's bytes as text. UTF-8 only (RFC 8259 §8.1): bytes that are not UTF-8 are refused
 * rather than turned into U+FFFD, which would store something the client never sent. One
 * leading byte-order mark is stripped, as RFC 8259 lets a parser do: it carries no data, and
 * Windows tools (PowerShell 5's `Out-File`, Notepad) write one in front of files sent with
 * `curl -d @body.json`. Anything after it must be JSON, so a second mark is refused.
 */
export function decodeJsonText(bytes: Uint8Array, what: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new ModelgateError("bad_request", `The ${what} is not UTF-8.`, [
      { field: "", message: "the body must be UTF-8 encoded JSON" },
    ]);
  }
}

/**
 * Parses a JSON body and validates it with the route's schema; errors name the field. A key
 * given twice in one object is refused (400 naming it) instead of `JSON.parse`'s silent
 * last-one-wins, which would drop the first value the client sent.
 */
export function parseJsonBody<S extends z.ZodType>(text: string, schema: S, what: string): z.output<S> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ModelgateError("bad_request", `The ${what} is not valid JSON.`, [
      { field: "", message: "malformed JSON" },
    ]);
  }
  const duplicate = findDuplicateJsonKey(text);
  if (duplicate !== undefined) {
    throw new ModelgateError("validation_failed", `Invalid ${what}: ${duplicate}: the key is given more than once.`, [
      { field: duplicate, message: "the key is given more than once; send each key once" },
    ]);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw validationError(parsed.error, what);
  return parsed.data;
}

/** `decodeJsonText` then `parseJsonBody`: what every JSON route, edge and worker, reads its body with. */
export function parseJsonBytes<S extends z.ZodType>(bytes: Uint8Array, schema: S, what: string): z.output<S> {
  return parseJsonBody(decodeJsonText(bytes, what), schema, what);
}
