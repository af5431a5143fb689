import { ModelgateError } from "./errors.js";

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
