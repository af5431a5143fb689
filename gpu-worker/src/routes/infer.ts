/**
 * `POST /v1/infer`: a tensor model on the edge's tensor frame (shared/src/tensors/tensor-frame.ts):
 * the inputs' bytes become typed arrays handed to onnxruntime as they are, and the outputs go back
 * in a frame of their own. No tensor element passes through JSON on this route.
 */
import {
  decodeTensorBytes,
  decodeTensorFrame,
  dtypeOfV2,
  elementCount,
  encodeTensorBytes,
  encodeTensorFrame,
  ModelgateError,
  type ModelVersion,
  ModelVersionSchema,
  TENSOR_FRAME_CONTENT_TYPE,
  v2DatatypeOf,
  WORKER_INFER_PATH,
  WorkerInferHeaderSchema,
  type WorkerInferResultHeader,
} from "@modelgate/shared";
import { Hono } from "hono";
import { z } from "zod";
import type { WorkerAppEnv } from "../http/app-env.js";
import type { InferenceEngine } from "../inference/inference-service.js";
import type { ThreadTensor } from "../inference/thread-protocol.js";
import { roundTo } from "../numbers.js";

/** The header with `target` left to `targets` (the same version arrives with every request). */
const FrameHeaderSchema = WorkerInferHeaderSchema.extend({ target: z.unknown() });

/**
 * Parsed version documents by their exact JSON: validating a version costs more than the rest of
 * a small request's handling, and a model's requests all carry the same one. Bounded; a version
 * changed in the registry (a PATCHed `serving`) is different JSON, parsed afresh.
 */
class TargetCache {
  readonly #parsed = new Map<string, ModelVersion>();

  parse(raw: unknown): ModelVersion {
    const key = JSON.stringify(raw);
    const cached = this.#parsed.get(key);
    if (cached) return cached;
    const parsed = ModelVersionSchema.safeParse(raw);
    if (!parsed.success) {
      throw new ModelgateError(
        "bad_request",
        `The tensor request's target is not a model version: ${parsed.error.issues[0]?.message ?? "invalid"}.`,
      );
    }
    if (this.#parsed.size >= MAX_CACHED_TARGETS) this.#parsed.delete(this.#parsed.keys().next().value ?? "");
    this.#parsed.set(key, parsed.data);
    return parsed.data;
  }
}
const MAX_CACHED_TARGETS = 64;

export function inferRoutes(inference: InferenceEngine, workerId: string) {
  const targets = new TargetCache();
  return new Hono<WorkerAppEnv>().post(WORKER_INFER_PATH, async (c) => {
    const frame = decodeTensorFrame(c.get("verifiedBody"), FrameHeaderSchema, (header) => header.inputs);
    if (!frame.ok) throw new ModelgateError("bad_request", `The tensor request is malformed: ${frame.error}.`);
    const { tensors } = frame.value;
    const header = { ...frame.value.header, target: targets.parse(frame.value.header.target) };
    const inputs = header.inputs.map((tensor, index): ThreadTensor => {
      const values = decodeTensorBytes(
        tensors[index] ?? new Uint8Array(),
        tensor.datatype,
        elementCount(tensor.shape),
        `input '${tensor.name}'`,
      );
      if (!values.ok) throw new ModelgateError("bad_request", values.error);
      return { name: tensor.name, type: dtypeOfV2(tensor.datatype), dims: [...tensor.shape], data: values.value };
    });
    const result = await inference.infer({ target: header.target, inputs, outputs: header.outputs });
    if (!result.ok) throw result.error;
    const bytes = result.value.outputs.map((output) => encodeTensorBytes(output.data));
    const answer: WorkerInferResultHeader = {
      model: header.target.name,
      version: header.target.version,
      worker_id: workerId,
      inference_time_ms: roundTo(result.value.inferenceTimeMs, 3),
      queue_time_ms: roundTo(result.value.queueTimeMs, 3),
      batch_size: result.value.batchRows,
      outputs: result.value.outputs.map((output, index) => ({
        name: output.name,
        datatype: v2DatatypeOf(output.type),
        shape: output.dims,
        byte_size: bytes[index]?.byteLength ?? 0,
      })),
    };
    return c.body(encodeTensorFrame(answer, bytes), 200, { "content-type": TENSOR_FRAME_CONTENT_TYPE });
  });
}
