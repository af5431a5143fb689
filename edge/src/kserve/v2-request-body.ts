/**
 * Reading an `$inference_request`: plain JSON, or the binary tensor data extension — a JSON
 * header of `Inference-Header-Content-Length` bytes followed by the inputs' raw bytes. The body
 * is bounded by `MODELGATE_MAX_TENSOR_BODY_BYTES` while it streams.
 */
import { ModelgateError, parseJsonBytes, readBoundedBody } from "@modelgate/shared";
import type { Context } from "hono";
import type { AppEnv } from "../env.js";
import { type V2InferRequest, V2InferRequestSchema } from "./v2-schemas.js";

export const HEADER_LENGTH_HEADER = "inference-header-content-length";

export interface InferRequestBody {
  request: V2InferRequest;
  /** The bytes after the JSON header (binary extension only). */
  binary: Uint8Array | undefined;
}

export async function readInferRequest(c: Context<AppEnv>): Promise<InferRequestBody> {
  const body = await readBoundedBody(c.req.raw, c.get("config").MODELGATE_MAX_TENSOR_BODY_BYTES);
  const declared = c.req.header(HEADER_LENGTH_HEADER);
  if (declared === undefined) {
    const contentType = c.req.header("content-type") ?? "";
    if (!/^application\/(.+\+)?json\b/i.test(contentType)) {
      throw new ModelgateError(
        "unsupported_media_type",
        "Send the inference request as application/json, or with the binary tensor data extension (an Inference-Header-Content-Length header).",
      );
    }
    return {
      request: parseJsonBytes(body, V2InferRequestSchema, "inference request"),
      binary: undefined,
    };
  }
  const length = /^[0-9]{1,10}$/.test(declared) ? Number(declared) : Number.NaN;
  if (!(length <= body.byteLength)) {
    throw new ModelgateError(
      "bad_request",
      `Inference-Header-Content-Length is ${JSON.stringify(declared)}, but the body has ${body.byteLength} bytes.`,
    );
  }
  const request = parseJsonBytes(body.subarray(0, length), V2InferRequestSchema, "inference request header");
  return { request, binary: body.subarray(length) };
}
