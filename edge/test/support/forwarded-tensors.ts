import {
  decodeTensorBytes,
  decodeTensorFrame,
  elementCount,
  encodeJsonData,
  type V2Datatype,
  WorkerInferHeaderSchema,
} from "@modelgate/shared";
import { vi } from "vitest";

export interface ForwardedTensors {
  target: { name: string; version: number };
  inputs: Array<{ name: string; datatype: V2Datatype; shape: number[]; data: Array<number | boolean | string> }>;
  outputs: string[] | undefined;
}

/**
 * Records the tensor frames the edge sends to a worker's `/v1/infer`, decoded with the shared
 * codec (the stand-in worker answers them; see stand-in-tensors.ts).
 */
export function recordTensorForwards(): ForwardedTensors[] {
  const forwarded: ForwardedTensors[] = [];
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.pathname === "/v1/infer" && init?.body instanceof Uint8Array) {
      const frame = decodeTensorFrame(init.body, WorkerInferHeaderSchema, (header) => header.inputs);
      if (!frame.ok) throw new Error(frame.error);
      const { header, tensors } = frame.value;
      forwarded.push({
        target: { name: header.target.name, version: header.target.version },
        inputs: header.inputs.map((tensor, index) => {
          const values = decodeTensorBytes(
            tensors[index] ?? new Uint8Array(),
            tensor.datatype,
            elementCount(tensor.shape),
            tensor.name,
          );
          if (!values.ok) throw new Error(values.error);
          return {
            name: tensor.name,
            datatype: tensor.datatype,
            shape: tensor.shape,
            data: encodeJsonData(values.value, tensor.datatype),
          };
        }),
        outputs: header.outputs,
      });
    }
    return realFetch(input, init);
  });
  return forwarded;
}
