import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  buildDtypeEcho,
  buildImageClassifier,
  buildMixedInputRanker,
  buildStatefulCell,
  CELL_HIDDEN,
  cellReference,
  rankerReference,
} from "@modelgate/gpu-worker/reference-models/index";
import { freeStackPorts, type LocalStack, startLocalStack } from "@modelgate/infra/local-stack";
import { uploadArtifact } from "@modelgate/infra/seed-demo-models";
import {
  ConversionJobSchema,
  concatBytes,
  decodeTensorBytes,
  encodeTensorBytes,
  PredictResponseSchema,
  TERMINAL_JOB_STATUSES,
  type TensorValues,
  type V2Datatype,
} from "@modelgate/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The KServe V2 routes and seed 004's API against the real stack (wrangler dev, the GPU worker
// running the demo `spirals` classifier with onnxruntime, s3rver), with the protocol's JSON
// checked exactly (`toEqual` fails on any member the expectation does not name).

let dataDir: string;
let stack: LocalStack;

function edge(method: string, path: string, body?: unknown, key: string | null = stack.adminKey): Promise<Response> {
  return fetch(`${stack.edgeUrl}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...(key ? { authorization: `Bearer ${key}` } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function expectV2Error(response: Response, status: number): Promise<string> {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  const body = (await response.json()) as Record<string, unknown>;
  expect(Object.keys(body)).toEqual(["error"]);
  return String(body.error);
}

const ROWS = [
  [0.5, 0.3],
  [-0.4, 0.1],
  [0.05, -0.7],
];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "modelgate-kserve-"));
  stack = await startLocalStack({ dataDir, ...(await freeStackPorts()), gpuMonitorIntervalMs: 1000 });
});

afterAll(async () => {
  await stack?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe("KServe V2 against the real stack", () => {
  it("answers server metadata and both health probes without a key", async () => {
    const server = await edge("GET", "/v2", undefined, null);
    expect(await server.json()).toEqual({
      name: "modelgate",
      version: expect.any(String),
      extensions: ["binary_tensor_data", "parameters", "model_configuration"],
    });
    const live = await edge("GET", "/v2/health/live", undefined, null);
    expect([live.status, await live.json()]).toEqual([200, { live: true }]);
    const ready = await edge("GET", "/v2/health/ready", undefined, null);
    expect([ready.status, await ready.json()]).toEqual([200, { ready: true }]);
  });

  it("lists spirals' io contract as model metadata, and says it is ready", async () => {
    const metadata = await edge("GET", "/v2/models/spirals");
    expect(metadata.status).toBe(200);
    expect(await metadata.json()).toEqual({
      name: "spirals",
      versions: ["1"],
      platform: "onnxruntime_onnx",
      inputs: [{ name: "features", datatype: "FP32", shape: [-1, 2] }],
      outputs: [
        { name: "probabilities", datatype: "FP32", shape: [-1, 2] },
        { name: "predictions", datatype: "INT64", shape: [-1] },
      ],
    });
    const versioned = await edge("GET", "/v2/models/spirals/versions/1");
    expect(((await versioned.json()) as { name: string }).name).toBe("spirals");
    for (const path of ["/v2/models/spirals/ready", "/v2/models/spirals/versions/1/ready"]) {
      const ready = await edge("GET", path);
      expect([ready.status, await ready.json()]).toEqual([200, { name: "spirals", ready: true }]);
    }
  });

  it("infers exactly the probabilities /v1/predict returns for the same rows", async () => {
    const predicted = PredictResponseSchema.parse(
      await (await edge("POST", "/v1/predict", { model: "spirals", data: ROWS })).json(),
    );
    const response = await edge("POST", "/v2/models/spirals/infer", {
      id: "req-1",
      inputs: [{ name: "features", shape: [3, 2], datatype: "FP32", data: ROWS }],
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-modelgate-worker")).toBe(stack.workerId);
    expect(await response.json()).toEqual({
      model_name: "spirals",
      model_version: "1",
      id: "req-1",
      parameters: { inference_time_ms: expect.any(Number), queue_time_ms: expect.any(Number), batch_size: 3 },
      outputs: [
        { name: "probabilities", shape: [3, 2], datatype: "FP32", data: predicted.probabilities.flat() },
        { name: "predictions", shape: [3], datatype: "INT64", data: predicted.predictions },
      ],
    });

    const flat = await edge("POST", "/v2/models/spirals/versions/1/infer", {
      inputs: [{ name: "features", shape: [3, 2], datatype: "FP32", data: ROWS.flat() }],
      outputs: [{ name: "probabilities" }],
    });
    expect(((await flat.json()) as { outputs: unknown }).outputs).toEqual([
      { name: "probabilities", shape: [3, 2], datatype: "FP32", data: predicted.probabilities.flat() },
    ]);
  });

  it("answers errors as the protocol's {error}", async () => {
    const shape = await expectV2Error(
      await edge("POST", "/v2/models/spirals/infer", {
        inputs: [{ name: "features", shape: [1, 3], datatype: "FP32", data: [1, 2, 3] }],
      }),
      400,
    );
    expect(shape).toContain("expects [-1,2]");
    expect(
      await expectV2Error(
        await edge("POST", "/v2/models/demo-lm/infer", {
          inputs: [{ name: "input_ids", shape: [1, 2], datatype: "INT64", data: [1, 2] }],
        }),
        400,
      ),
    ).toContain("/v1/generate");
    await expectV2Error(await edge("GET", "/v2/models/missing"), 404);
    await expectV2Error(
      await edge(
        "POST",
        "/v2/models/spirals/infer",
        { inputs: [{ name: "features", shape: [1, 2], datatype: "FP32", data: [1, 2] }] },
        null,
      ),
      401,
    );
  });
});

describe("seed 004's API against the real stack", () => {
  it("lists spirals as the default model, predicts with it, and reloads it", async () => {
    const models = (await (await edge("GET", "/models")).json()) as {
      default_model: string | null;
      models: { name: string; production_version: number | null; ready: boolean }[];
    };
    expect(models.default_model).toBe("spirals");
    expect(models.models).toEqual([expect.objectContaining({ name: "spirals", production_version: 1, ready: true })]);

    const predicted = PredictResponseSchema.parse(
      await (await edge("POST", "/v1/predict", { model: "spirals", data: ROWS })).json(),
    );
    const seed = await edge("POST", "/predict", { data: ROWS });
    expect(seed.status).toBe(200);
    expect(await seed.json()).toEqual({
      predictions: predicted.predictions,
      probabilities: predicted.probabilities,
      model_version: "1",
      inference_time_ms: expect.any(Number),
      model: "spirals",
    });

    const reload = await edge("POST", "/reload-model");
    expect(reload.status).toBe(200);
    expect(await reload.json()).toMatchObject({
      model: "spirals",
      version: 1,
      stage: "Production",
      warm_up: { worker_id: stack.workerId, elapsed_ms: expect.any(Number) },
    });
  });
});

/** Uploads a reference model through the edge and registers it without an io contract: the edge reads it. */
async function registerFromFile(built: {
  name: string;
  onnx: Uint8Array;
  registration: { description?: string | undefined };
}) {
  const artifact = await uploadArtifact(stack.edgeUrl, stack.adminKey, `${built.name}.onnx`, built.onnx);
  const response = await edge("POST", `/v1/models/${built.name}/versions`, {
    kind: "tensor",
    artifact: { ...artifact, format: "onnx" },
    description: built.registration.description,
  });
  expect(response.status, await response.clone().text()).toBe(201);
  return (await response.json()) as { version: number; io: unknown; io_source: string };
}

/** A binary-extension request: JSON header, then the tensors' bytes; every output asked back as binary. */
async function inferBinary(
  path: string,
  inputs: Array<{ name: string; datatype: V2Datatype; shape: number[]; values: TensorValues }>,
) {
  const parts = inputs.map((input) => encodeTensorBytes(input.values));
  const header = new TextEncoder().encode(
    JSON.stringify({
      inputs: inputs.map((input, i) => ({
        name: input.name,
        datatype: input.datatype,
        shape: input.shape,
        parameters: { binary_data_size: parts[i]?.byteLength },
      })),
      parameters: { binary_data_output: true },
    }),
  );
  const response = await fetch(`${stack.edgeUrl}${path}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${stack.adminKey}`,
      "content-type": "application/octet-stream",
      "inference-header-content-length": String(header.byteLength),
    },
    body: concatBytes([header, ...parts]),
  });
  expect(response.status, response.status === 200 ? "" : await response.clone().text()).toBe(200);
  const body = new Uint8Array(await response.arrayBuffer());
  const length = Number(response.headers.get("inference-header-content-length"));
  const answer = JSON.parse(new TextDecoder().decode(body.subarray(0, length))) as {
    outputs: Array<{ name: string; datatype: V2Datatype; shape: number[]; parameters: { binary_data_size: number } }>;
  };
  const outputs = new Map<string, unknown[]>();
  let offset = length;
  for (const output of answer.outputs) {
    const bytes = body.subarray(offset, offset + output.parameters.binary_data_size);
    offset += output.parameters.binary_data_size;
    const count = output.shape.reduce((a, b) => a * b, 1);
    const values = decodeTensorBytes(bytes, output.datatype, count, output.name);
    if (!values.ok) throw new Error(values.error);
    outputs.set(output.name, Array.from(values.value as ArrayLike<unknown>));
  }
  return outputs;
}

const solid = (channel: number, size: number) =>
  Array.from({ length: 3 * size * size }, (_, i) => (Math.floor(i / (size * size)) === channel ? 230 : 20));

describe("any ONNX model through KServe V2 on the real stack", () => {
  it("registers models from their files alone (io read by the edge) and serves them with JSON and binary tensors", async () => {
    const convnet = await registerFromFile(buildImageClassifier({ pixels: "uint8" }));
    expect(convnet).toMatchObject({
      io_source: "artifact",
      io: buildImageClassifier({ pixels: "uint8" }).registration.io,
    });
    const metadata = await edge("GET", "/v2/models/tiny-convnet-u8/versions/1");
    expect(await metadata.json()).toMatchObject({
      inputs: [{ name: "image", datatype: "UINT8", shape: [-1, 3, -1, -1] }],
      outputs: [
        { name: "logits", datatype: "FP32", shape: [-1, 3] },
        { name: "predictions", datatype: "INT64", shape: [-1] },
      ],
    });
    const config = (await (await edge("GET", "/v2/models/tiny-convnet-u8/versions/1/config")).json()) as Record<
      string,
      unknown
    >;
    expect(config).toMatchObject({
      max_batch_size: 64,
      input: [{ name: "image", data_type: "TYPE_UINT8", dims: [3, -1, -1] }],
    });

    // JSON: three 4x4 images, red, green, blue → classes 0, 1, 2.
    const images = [0, 1, 2].flatMap((channel) => solid(channel, 4));
    const json = await edge("POST", "/v2/models/tiny-convnet-u8/versions/1/infer", {
      inputs: [{ name: "image", shape: [3, 3, 4, 4], datatype: "UINT8", data: images }],
      outputs: [{ name: "predictions" }],
    });
    expect(json.status, await json.clone().text()).toBe(200);
    expect(((await json.json()) as { outputs: unknown }).outputs).toEqual([
      { name: "predictions", shape: [3], datatype: "INT64", data: [0, 1, 2] },
    ]);
    // Binary: a 1x3x224x224 image straight through as bytes.
    const large = await inferBinary("/v2/models/tiny-convnet-u8/versions/1/infer", [
      { name: "image", datatype: "UINT8", shape: [1, 3, 224, 224], values: Uint8Array.from(solid(2, 224)) },
    ]);
    expect(large.get("predictions")).toEqual([2n]);
    // Seed 004's /predict keeps its classifier shape for it.
    const green = solid(1, 2);
    const nested = [[0, 1, 2].map((c) => [green.slice(c * 4, c * 4 + 2), green.slice(c * 4 + 2, c * 4 + 4)])];
    const predicted = await edge("POST", "/predict", { model: "tiny-convnet-u8@1", data: nested });
    expect(await predicted.json()).toMatchObject({ predictions: [1], model: "tiny-convnet-u8" });
  });

  it("feeds two inputs of different datatypes, and a stateful model's state round trip", async () => {
    await registerFromFile(buildMixedInputRanker());
    const features = [0.5, -1, 0.25, 2, -0.5, 0.3, 1, 0];
    const json = await edge("POST", "/v2/models/mixed-ranker/versions/1/infer", {
      inputs: [
        { name: "features", shape: [2, 4], datatype: "FP32", data: features },
        { name: "category", shape: [2], datatype: "INT64", data: [3, 0] },
      ],
    });
    expect(json.status, await json.clone().text()).toBe(200);
    const expected = rankerReference(Float32Array.from(features), [3, 0]);
    const outputs = ((await json.json()) as { outputs: Array<{ name: string; data: number[] }> }).outputs;
    expect(outputs.map((output) => output.name)).toEqual(["scores", "best"]);
    outputs[0]?.data.forEach((value, i) => {
      expect(value).toBeCloseTo(expected.flat()[i] ?? Number.NaN, 4);
    });
    expect(outputs[1]?.data).toEqual(expected.map((row) => row.indexOf(Math.max(...row))));
    const refused = await edge("POST", "/v2/models/mixed-ranker/versions/1/infer", {
      inputs: [
        { name: "features", shape: [1, 4], datatype: "FP32", data: [0, 0, 0, 0] },
        { name: "category", shape: [1], datatype: "INT64", data: [99] },
      ],
    });
    expect(await expectV2Error(refused, 400)).toContain("refused these inputs");

    await registerFromFile(buildStatefulCell());
    let state: TensorValues = new Float32Array(CELL_HIDDEN);
    let reference = { state: new Array<number>(CELL_HIDDEN).fill(0), output: [] as number[] };
    for (const input of [
      [1, 0, 0, 0],
      [0, 1, 0, -1],
    ]) {
      const answer = await inferBinary("/v2/models/state-cell/versions/1/infer", [
        { name: "input", datatype: "FP32", shape: [1, 4], values: Float32Array.from(input) },
        { name: "state", datatype: "FP32", shape: [1, 1, CELL_HIDDEN], values: state },
      ]);
      reference = cellReference(input, reference.state);
      const next = answer.get("state_out") as number[];
      next.forEach((value, i) => {
        expect(value).toBeCloseTo(reference.state[i] ?? Number.NaN, 5);
      });
      state = Float32Array.from(next);
    }
    // Its state is [1, batch, 8]: the config says it is not batched.
    const config = (await (await edge("GET", "/v2/models/state-cell/versions/1/config")).json()) as Record<
      string,
      unknown
    >;
    expect(config.max_batch_size).toBe(0);
  });

  it("carries every datatype exactly through onnxruntime, JSON and binary", async () => {
    await registerFromFile(buildDtypeEcho());
    const data: Record<V2Datatype, unknown[]> = {
      BOOL: [true, false, false, true],
      UINT8: [0, 255, 7, 1],
      UINT16: [0, 65535, 300, 1],
      UINT32: [0, 4294967295, 70000, 1],
      UINT64: [0, 2 ** 53, 1, 2],
      INT8: [-128, 127, 0, -1],
      INT16: [-32768, 32767, 0, -1],
      INT32: [-2147483648, 2147483647, 0, -1],
      INT64: [-(2 ** 53), 2 ** 53, 0, -1],
      FP16: [1.5, -2, 65504, 2 ** -14],
      FP32: [1.5, -2.25, 3.5, 0.125],
      FP64: [Math.PI, -Math.E, 1e300, 5e-324],
      BYTES: ["", "héllo", "a b", "🙂"],
    };
    const dtypes: Record<V2Datatype, string> = {
      BOOL: "bool",
      UINT8: "uint8",
      UINT16: "uint16",
      UINT32: "uint32",
      UINT64: "uint64",
      INT8: "int8",
      INT16: "int16",
      INT32: "int32",
      INT64: "int64",
      FP16: "float16",
      FP32: "float32",
      FP64: "float64",
      BYTES: "string",
    };
    const datatypes = Object.keys(data) as V2Datatype[];
    const response = await edge("POST", "/v2/models/dtype-echo/versions/1/infer", {
      inputs: datatypes.map((datatype) => ({
        name: `x_${dtypes[datatype]}`,
        shape: [2, 2],
        datatype,
        data: data[datatype],
      })),
    });
    expect(response.status, await response.clone().text()).toBe(200);
    const outputs = ((await response.json()) as { outputs: Array<{ name: string; datatype: string; data: unknown[] }> })
      .outputs;
    expect(outputs).toEqual(
      datatypes.map((datatype) => ({ name: `y_${dtypes[datatype]}`, datatype, shape: [2, 2], data: data[datatype] })),
    );
    const bytesValues: Record<V2Datatype, TensorValues> = {
      BOOL: Uint8Array.from([1, 0, 0, 1]),
      UINT8: Uint8Array.from([0, 255, 7, 1]),
      UINT16: Uint16Array.from([0, 65535, 300, 1]),
      UINT32: Uint32Array.from([0, 4294967295, 70000, 1]),
      UINT64: BigUint64Array.from([0n, 18446744073709551615n, 1n, 2n]),
      INT8: Int8Array.from([-128, 127, 0, -1]),
      INT16: Int16Array.from([-32768, 32767, 0, -1]),
      INT32: Int32Array.from([-2147483648, 2147483647, 0, -1]),
      INT64: BigInt64Array.from([-9223372036854775808n, 9223372036854775807n, 0n, -1n]),
      FP16: Uint16Array.from([0x3e00, 0xc000, 0x7bff, 0x0400]),
      FP32: Float32Array.from([1.5, -2.25, 3.4e38, 1e-45]),
      FP64: Float64Array.from([Math.PI, -Math.E, 1e308, 5e-324]),
      BYTES: ["", "héllo", "a b", "🙂"],
    };
    const binary = await inferBinary(
      "/v2/models/dtype-echo/versions/1/infer",
      datatypes.map((datatype) => ({
        name: `x_${dtypes[datatype]}`,
        datatype,
        shape: [2, 2],
        values: bytesValues[datatype],
      })),
    );
    for (const datatype of datatypes) {
      expect(binary.get(`y_${dtypes[datatype]}`), datatype).toEqual(
        Array.from(bytesValues[datatype] as ArrayLike<unknown>),
      );
    }
    // 64-bit integers beyond 2^53 survive exactly as bytes (JSON numbers cannot carry them).
    expect(binary.get("y_int64")).toEqual([-9223372036854775808n, 9223372036854775807n, 0n, -1n]);
    expect(binary.get("y_uint64")).toEqual([0n, 18446744073709551615n, 1n, 2n]);
    expect(binary.get("y_string")).toEqual(data.BYTES);
  });

  it("converts a Conv model with a uint8 input to int8 and fp16, every output verified", async () => {
    const queued = ConversionJobSchema.parse(
      await (
        await edge("POST", "/v1/models/tiny-convnet-u8/versions/1/conversions", {
          targets: ["fp16", "int8"],
          shapes: [1, 16],
          primary: 1,
        })
      ).json(),
    );
    let job = queued;
    const deadline = Date.now() + 120_000;
    while (!TERMINAL_JOB_STATUSES.has(job.status)) {
      if (Date.now() > deadline) throw new Error(`job ${job.id} did not finish: ${JSON.stringify(job)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      job = ConversionJobSchema.parse(await (await edge("GET", `/v1/conversions/${job.id}`)).json());
    }
    expect(job.status, JSON.stringify(job.errors)).toBe("succeeded");
    const version = (await (await edge("GET", "/v1/models/tiny-convnet-u8/versions/1")).json()) as {
      converted_formats: Record<string, { gates_ok: boolean; metrics: { top1_outputs?: string[] } }>;
    };
    expect(version.converted_formats.int8).toMatchObject({ gates_ok: true, metrics: { top1_outputs: ["logits"] } });
    expect(version.converted_formats.fp16?.gates_ok).toBe(true);
  });
});
