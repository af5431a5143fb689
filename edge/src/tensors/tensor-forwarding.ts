/**
 * Tensors to a worker and back: the inputs (already checked against the contract) go in one
 * signed tensor frame to the worker's `/v1/infer`, routed like any request; the answer's frame is
 * checked and split. Shared by V2 infer and seed 004's `/predict`, which differ only in shapes.
 */
import {
  type DecodedFrame,
  decodeTensorFrame,
  encodeTensorFrame,
  type FrameTensor,
  ModelgateError,
  type ModelVersion,
  TENSOR_FRAME_CONTENT_TYPE,
  WORKER_INFER_PATH,
  type WorkerInferHeader,
  type WorkerInferResultHeader,
  WorkerInferResultHeaderSchema,
} from "@modelgate/shared";
import type { Context } from "hono";
import type { AppEnv } from "../env.js";
import { routeToWorker } from "../routing/route-request.js";

export type TensorForwardOutcome =
  | { ok: true; headers: Headers; result: DecodedFrame<WorkerInferResultHeader> }
  /** The worker refused the request (a 4xx): its answer, for the caller to word in its own error shape. */
  | { ok: false; response: Response };

export async function forwardTensors(
  c: Context<AppEnv>,
  version: ModelVersion,
  inputs: ReadonlyArray<{ tensor: FrameTensor; bytes: Uint8Array }>,
  outputs: readonly string[] | undefined,
): Promise<TensorForwardOutcome> {
  const header: WorkerInferHeader = {
    target: version,
    inputs: inputs.map((input) => input.tensor),
    ...(outputs === undefined || outputs.length === 0 ? {} : { outputs: [...outputs] }),
  };
  const raw = encodeTensorFrame(
    header,
    inputs.map((input) => input.bytes),
  );
  const routed = await routeToWorker(c, version, {
    raw,
    path: WORKER_INFER_PATH,
    contentType: TENSOR_FRAME_CONTENT_TYPE,
  });
  if (routed.status !== 200) return { ok: false, response: routed };
  const body = new Uint8Array(await routed.arrayBuffer());
  const decoded = decodeTensorFrame(body, WorkerInferResultHeaderSchema, (result) => result.outputs);
  if (!decoded.ok) {
    throw new ModelgateError(
      "upstream_failed",
      `The worker's answer for ${version.name}@${version.version} was not a tensor frame.`,
    );
  }
  const headers = new Headers(routed.headers);
  headers.delete("content-length");
  headers.delete("content-type");
  return { ok: true, headers, result: decoded.value };
}
