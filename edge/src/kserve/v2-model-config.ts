/**
 * The model configuration extension (`GET /v2/models/{m}/config`): a version's io contract and
 * its registry `serving` config as Triton's config.pbtxt reads in JSON, so tools written for
 * Triton (`tritonclient … get_model_config`, perf_analyzer) see the batch size they may use.
 */
import {
  batchingDecisionFor,
  type ModelRecord,
  type ModelVersion,
  type TensorSpec,
  type V2Datatype,
  v2DatatypeOf,
  v2ShapeOf,
} from "@modelgate/shared";
import { tensorVersions, V2_PLATFORM } from "./v2-model-metadata.js";
import type { V2ModelConfig } from "./v2-schemas.js";

const TRITON_TYPE: Record<V2Datatype, string> = {
  BOOL: "TYPE_BOOL",
  UINT8: "TYPE_UINT8",
  UINT16: "TYPE_UINT16",
  UINT32: "TYPE_UINT32",
  UINT64: "TYPE_UINT64",
  INT8: "TYPE_INT8",
  INT16: "TYPE_INT16",
  INT32: "TYPE_INT32",
  INT64: "TYPE_INT64",
  FP16: "TYPE_FP16",
  FP32: "TYPE_FP32",
  FP64: "TYPE_FP64",
  BYTES: "TYPE_STRING",
};

export function v2ModelConfig(record: Pick<ModelRecord, "versions">, version: ModelVersion): V2ModelConfig {
  const batching = batchingDecisionFor(version);
  // Triton: with max_batch_size > 0 the batch dimension is implicit and left out of `dims`.
  const tensor = (spec: TensorSpec) => ({
    name: spec.name,
    data_type: TRITON_TYPE[v2DatatypeOf(spec.dtype)],
    dims: v2ShapeOf(spec.shape).slice(batching.on ? 1 : 0),
  });
  return {
    name: version.name,
    platform: V2_PLATFORM,
    backend: "onnxruntime",
    version_policy: { specific: { versions: tensorVersions(record) } },
    max_batch_size: batching.on ? batching.policy.maxBatchSize : 0,
    input: version.io.inputs.map(tensor),
    output: version.io.outputs.map(tensor),
    ...(batching.on
      ? {
          dynamic_batching: {
            preferred_batch_size: batching.policy.preferredBatchSizes,
            max_queue_delay_microseconds: batching.policy.maxQueueDelayUs,
          },
        }
      : {}),
  };
}
