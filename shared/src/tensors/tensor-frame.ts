/**
 * The edge ⇄ worker wire format for tensor inference: one body holding a JSON header and the
 * tensors' raw bytes, so a binary V2 request's bytes travel to onnxruntime without ever becoming
 * JSON numbers. Layout: a little-endian u32 with the header's byte length, the header (UTF-8
 * JSON), then each tensor's bytes in the order the header lists them (`byte_size` each). The
 * whole body is covered by the edge's signature, the header length included.
 */
import { z } from "zod";
import { err, ok, type Result } from "../errors.js";
import { ModelVersionSchema } from "../model-version.js";
import { V2DatatypeSchema } from "./tensor-datatypes.js";
import { concatBytes } from "./tensor-values.js";

export const TENSOR_FRAME_CONTENT_TYPE = "application/vnd.modelgate.tensor-frame";

/** The worker's tensor route. */
export const WORKER_INFER_PATH = "/v1/infer";

const MAX_HEADER_BYTES = 4 * 1024 * 1024;

/** One tensor of a frame: what it is, and how many of the bytes after the header are its. */
export const FrameTensorSchema = z.strictObject({
  name: z.string().min(1).max(256),
  datatype: V2DatatypeSchema,
  shape: z.array(z.int().min(0)).max(16),
  byte_size: z.int().min(0),
});
export type FrameTensor = z.infer<typeof FrameTensorSchema>;

/** Edge → worker: run `target` on these inputs (checked against its contract by the edge). */
export const WorkerInferHeaderSchema = z.strictObject({
  target: ModelVersionSchema,
  inputs: z.array(FrameTensorSchema).min(1).max(256),
  /** The outputs to compute, by name; every output of the contract when absent. */
  outputs: z.array(z.string().min(1).max(256)).min(1).max(256).optional(),
});
export type WorkerInferHeader = z.infer<typeof WorkerInferHeaderSchema>;

/** Worker → edge: the outputs, and what the run cost. */
export const WorkerInferResultHeaderSchema = z.strictObject({
  model: z.string(),
  version: z.int().min(1),
  worker_id: z.string(),
  /** `session.run()` of the run that served this request (shared with the others in its batch). */
  inference_time_ms: z.number().min(0),
  /** How long the request waited to be run (for a batch to fill, or for the model to be free). */
  queue_time_ms: z.number().min(0),
  /** Rows in that run: more than this request's own when dynamic batching stacked others with it. */
  batch_size: z.int().min(0),
  outputs: z.array(FrameTensorSchema).max(256),
});
export type WorkerInferResultHeader = z.infer<typeof WorkerInferResultHeaderSchema>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A frame: `header` (whose tensor list gives each part's `byte_size`) followed by `tensors`' bytes. */
export function encodeTensorFrame(header: object, tensors: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const json = encoder.encode(JSON.stringify(header));
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, json.byteLength, true);
  return concatBytes([length, json, ...tensors]);
}

export interface DecodedFrame<T> {
  header: T;
  /** Each listed tensor's bytes, as views into the body (in the header's order). */
  tensors: Uint8Array[];
}

/**
 * Splits a frame and checks its header with `schema`; `listed` picks the header's tensor list.
 * The tensors' byte sizes must add up to exactly the bytes after the header.
 */
export function decodeTensorFrame<S extends z.ZodType>(
  body: Uint8Array,
  schema: S,
  listed: (header: z.output<S>) => readonly FrameTensor[],
): Result<DecodedFrame<z.output<S>>, string> {
  if (body.byteLength < 4) return err("the tensor frame is shorter than its header length");
  const headerBytes = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(0, true);
  if (headerBytes > MAX_HEADER_BYTES || 4 + headerBytes > body.byteLength) {
    return err(`the tensor frame's header length (${headerBytes}) does not fit in its ${body.byteLength} bytes`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(body.subarray(4, 4 + headerBytes)));
  } catch {
    return err("the tensor frame's header is not JSON");
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
    return err(`the tensor frame's header is invalid: ${issues}`);
  }
  const header = parsed.data as z.output<S>;
  const tensors: Uint8Array[] = [];
  let offset = 4 + headerBytes;
  for (const tensor of listed(header)) {
    if (offset + tensor.byte_size > body.byteLength) {
      return err(`tensor '${tensor.name}' says ${tensor.byte_size} bytes, more than the frame has left`);
    }
    tensors.push(body.subarray(offset, offset + tensor.byte_size));
    offset += tensor.byte_size;
  }
  if (offset !== body.byteLength) return err(`the tensor frame has ${body.byteLength - offset} bytes no tensor claims`);
  return ok({ header, tensors });
}
