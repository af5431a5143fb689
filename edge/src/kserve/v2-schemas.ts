/**
 * The Open Inference Protocol's (KServe V2) HTTP/REST JSON objects, as the protocol names them
 * (kserve/open-inference-protocol, specification/protocol/inference_rest.md). The routes parse
 * requests with these and the OpenAPI document is generated from them; field names and nesting
 * are the protocol's, not modelgate's.
 */
import { V2DatatypeSchema } from "@modelgate/shared";
import { z } from "zod";

export { type V2Datatype, V2DatatypeSchema } from "@modelgate/shared";

/** `$parameters`: name → string, number or boolean. */
export const V2ParametersSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));

/** `$metadata_tensor`: variable-size dimensions are -1. */
export const V2MetadataTensorSchema = z.strictObject({
  name: z.string(),
  datatype: V2DatatypeSchema,
  shape: z.array(z.int().min(-1)),
});
export type V2MetadataTensor = z.infer<typeof V2MetadataTensorSchema>;

/** `$metadata_server_response` (`GET /v2`). */
export const V2ServerMetadataSchema = z.strictObject({
  name: z.string(),
  version: z.string(),
  extensions: z.array(z.string()),
});

/** `$live_server_response` (`GET /v2/health/live`). */
export const V2ServerLiveSchema = z.strictObject({ live: z.boolean() });

/** `$ready_server_response` (`GET /v2/health/ready`). */
export const V2ServerReadySchema = z.strictObject({ ready: z.boolean() });

/** `$ready_model_response` (`GET /v2/models/{model}[/versions/{version}]/ready`). */
export const V2ModelReadySchema = z.strictObject({ name: z.string(), ready: z.boolean() });

/** `$metadata_model_response` (`GET /v2/models/{model}[/versions/{version}]`). */
export const V2ModelMetadataSchema = z.strictObject({
  name: z.string(),
  versions: z.array(z.string()),
  platform: z.string(),
  inputs: z.array(V2MetadataTensorSchema),
  outputs: z.array(V2MetadataTensorSchema),
});
export type V2ModelMetadata = z.infer<typeof V2ModelMetadataSchema>;

/**
 * `$tensor_data`: row-major, flat or nested. Element types are checked against the tensor's
 * datatype by the translator, which names the element at fault.
 */
const TensorDataSchema = z
  .array(z.unknown())
  .describe("The tensor's elements in row-major order, flat (`[1, 2, 3, 4]`) or nested (`[[1, 2], [3, 4]]`).");

/**
 * `$request_input`. With the binary tensor data extension, `parameters.binary_data_size` says how
 * many bytes of the body after the JSON header are this input's, and `data` is left out.
 */
export const V2RequestInputSchema = z.strictObject({
  name: z.string().min(1).max(256),
  shape: z.array(z.int().min(0)).max(8),
  datatype: V2DatatypeSchema,
  parameters: V2ParametersSchema.optional(),
  data: TensorDataSchema.optional(),
});
export type V2RequestInput = z.infer<typeof V2RequestInputSchema>;

/** `$request_output`. */
export const V2RequestOutputSchema = z.strictObject({
  name: z.string().min(1).max(256),
  parameters: V2ParametersSchema.optional(),
});

/** `$inference_request` (`POST /v2/models/{model}[/versions/{version}]/infer`). */
export const V2InferRequestSchema = z.strictObject({
  id: z.string().max(256).optional(),
  parameters: V2ParametersSchema.optional(),
  inputs: z.array(V2RequestInputSchema).min(1).max(64),
  outputs: z.array(V2RequestOutputSchema).max(64).optional(),
});
export type V2InferRequest = z.infer<typeof V2InferRequestSchema>;

/**
 * `$response_output`: `data` flat, row-major (numbers; booleans for BOOL, strings for BYTES), or
 * left out for an output sent as binary (`parameters.binary_data_size` bytes after the header).
 */
export const V2ResponseOutputSchema = z.strictObject({
  name: z.string(),
  shape: z.array(z.int().min(0)),
  datatype: V2DatatypeSchema,
  parameters: V2ParametersSchema.optional(),
  data: z.array(z.union([z.number(), z.boolean(), z.string()])).optional(),
});
export type V2ResponseOutput = z.infer<typeof V2ResponseOutputSchema>;

/** `$inference_response`. */
export const V2InferResponseSchema = z.strictObject({
  model_name: z.string(),
  model_version: z.string().optional(),
  id: z.string().optional(),
  parameters: V2ParametersSchema.optional(),
  outputs: z.array(V2ResponseOutputSchema),
});
export type V2InferResponse = z.infer<typeof V2InferResponseSchema>;

/** A tensor in a model configuration (Triton's `ModelInput`/`ModelOutput`): dims without the batch dimension. */
export const V2ConfigTensorSchema = z.strictObject({
  name: z.string(),
  data_type: z.string().describe("Triton's TYPE_* name: TYPE_FP32, TYPE_INT64, TYPE_STRING, …"),
  dims: z.array(z.int().min(-1)),
});

/**
 * `GET /v2/models/{model}[/versions/{version}]/config` (the model configuration extension): the
 * version's io contract and serving configuration in the shape of Triton's config.pbtxt as JSON.
 */
export const V2ModelConfigSchema = z.strictObject({
  name: z.string(),
  platform: z.string(),
  backend: z.string(),
  version_policy: z.strictObject({ specific: z.strictObject({ versions: z.array(z.string()) }) }),
  /** 0 when the first dimension is not a batch dimension; then `dims` are the full shapes. */
  max_batch_size: z.int().min(0),
  input: z.array(V2ConfigTensorSchema),
  output: z.array(V2ConfigTensorSchema),
  dynamic_batching: z
    .strictObject({
      preferred_batch_size: z.array(z.int().min(1)),
      max_queue_delay_microseconds: z.int().min(0),
    })
    .optional(),
});
export type V2ModelConfig = z.infer<typeof V2ModelConfigSchema>;

/** `$inference_error_response` and the metadata error objects: the protocol's one error shape. */
export const V2ErrorSchema = z.strictObject({ error: z.string() });
