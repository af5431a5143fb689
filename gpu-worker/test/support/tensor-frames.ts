/** Calls the worker's `/v1/infer` as the edge does: a signed tensor frame in, a tensor frame out. */
import {
  decodeTensorBytes,
  decodeTensorFrame,
  elementCount,
  encodeTensorBytes,
  encodeTensorFrame,
  type FrameTensor,
  type ModelVersion,
  signRequest,
  TENSOR_FRAME_CONTENT_TYPE,
  type TensorValues,
  type V2Datatype,
  WORKER_INFER_PATH,
  type WorkerInferResultHeader,
  WorkerInferResultHeaderSchema,
} from "@modelgate/shared";
import { TEST_SIGNING_SECRET, TEST_WORKER_ID } from "./signed-fetch.js";

export interface SentTensor {
  name: string;
  datatype: V2Datatype;
  shape: number[];
  values: TensorValues;
}

export interface InferAnswer {
  status: number;
  /** Set for a 200: the result header and each output decoded, by name. */
  header?: WorkerInferResultHeader;
  outputs: Map<string, { tensor: FrameTensor; values: TensorValues }>;
  /** Set for an error: the problem. */
  problem?: { code?: string; detail?: string };
}

export function inferFrame(
  target: ModelVersion,
  inputs: readonly SentTensor[],
  outputs?: string[],
): Uint8Array<ArrayBuffer> {
  const bytes = inputs.map((input) => encodeTensorBytes(input.values));
  const tensors = inputs.map((input, index) => ({
    name: input.name,
    datatype: input.datatype,
    shape: input.shape,
    byte_size: bytes[index]?.byteLength ?? 0,
  }));
  return encodeTensorFrame({ target, inputs: tensors, ...(outputs ? { outputs } : {}) }, bytes);
}

export async function postFrame(baseUrl: string, body: Uint8Array<ArrayBuffer>): Promise<Response> {
  const signature = await signRequest(TEST_SIGNING_SECRET, {
    method: "POST",
    pathWithQuery: WORKER_INFER_PATH,
    body,
    workerId: TEST_WORKER_ID,
  });
  return fetch(`${baseUrl}${WORKER_INFER_PATH}`, {
    method: "POST",
    headers: { "content-type": TENSOR_FRAME_CONTENT_TYPE, ...signature },
    body,
  });
}

export async function readInferAnswer(response: Response): Promise<InferAnswer> {
  const outputs = new Map<string, { tensor: FrameTensor; values: TensorValues }>();
  if (response.status !== 200) {
    return { status: response.status, outputs, problem: (await response.json()) as InferAnswer["problem"] };
  }
  const frame = decodeTensorFrame(
    new Uint8Array(await response.arrayBuffer()),
    WorkerInferResultHeaderSchema,
    (h) => h.outputs,
  );
  if (!frame.ok) throw new Error(frame.error);
  frame.value.header.outputs.forEach((tensor, index) => {
    const values = decodeTensorBytes(
      frame.value.tensors[index] ?? new Uint8Array(),
      tensor.datatype,
      elementCount(tensor.shape),
      tensor.name,
    );
    if (!values.ok) throw new Error(values.error);
    outputs.set(tensor.name, { tensor, values: values.value });
  });
  return { status: 200, header: frame.value.header, outputs };
}

export async function signedInfer(
  baseUrl: string,
  target: ModelVersion,
  inputs: readonly SentTensor[],
  outputs?: string[],
): Promise<InferAnswer> {
  return readInferAnswer(await postFrame(baseUrl, inferFrame(target, inputs, outputs)));
}
