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
  TENSOR_FRAME_CONTENT_TYPE,
  v2DatatypeOf,
  WORKER_INFER_PATH,
  WorkerInferHeaderSchema,
  type WorkerInferResultHeader,
} from "@modelgate/shared";
import { Hono } from "hono";
import type { WorkerAppEnv } from "../http/app-env.js";
import type { InferenceEngine } from "../inference/inference-service.js";
import type { ThreadTensor } from "../inference/thread-protocol.js";
import { roundTo } from "../numbers.js";

export function inferRoutes(inference: InferenceEngine, workerId: string) {
  return new Hono<WorkerAppEnv>().post(WORKER_INFER_PATH, async (c) => {
    const frame = decodeTensorFrame(c.get("verifiedBody"), WorkerInferHeaderSchema, (header) => header.inputs);
    if (!frame.ok) throw new ModelgateError("bad_request", `The tensor request is malformed: ${frame.error}.`);
    const { header, tensors } = frame.value;
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
