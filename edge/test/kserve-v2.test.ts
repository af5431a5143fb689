import { env, runInDurableObject, SELF } from "cloudflare:test";
import { concatBytes, encodeTensorBytes, type TensorValues } from "@modelgate/shared";
import { afterEach, beforeEach, describe, expect, inject, it, vi } from "vitest";
import { workerPoolStub } from "../src/pool/worker-pool-object.js";
import { recordTensorForwards } from "./support/forwarded-tensors.js";
import {
  ADMIN,
  call,
  causalLmRegistration,
  expectProblem,
  heartbeat,
  registerAndPromote,
  resetEdge,
  sendHeartbeat,
  tensorRegistration,
  WORKER_TOKEN,
} from "./support/requests.js";

/** The protocol's error object, exactly: `{"error": "<message>"}` as application/json. */
async function expectV2Error(response: Response, status: number): Promise<string> {
  const text = await response.text();
  if (response.status !== status) throw new Error(`expected ${status}, got ${response.status}: ${text}`);
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(Object.keys(body)).toEqual(["error"]);
  expect(typeof body.error).toBe("string");
  return String(body.error);
}

const softmax2 = (a: number, b: number) => [
  Math.exp(a) / (Math.exp(a) + Math.exp(b)),
  Math.exp(b) / (Math.exp(a) + Math.exp(b)),
];

function inferBody(overrides: Record<string, unknown> = {}, input: Record<string, unknown> = {}) {
  return {
    inputs: [{ name: "features", shape: [2, 2], datatype: "FP32", data: [0.5, 0.3, -0.4, 0.1], ...input }],
    ...overrides,
  };
}

const live = () => sendHeartbeat({ worker_id: "gpu-box-1", url: inject("standInWorkerUrl") });

beforeEach(async () => {
  await registerAndPromote("spirals", tensorRegistration());
  await registerAndPromote("demo-lm", causalLmRegistration());
});
afterEach(async () => {
  vi.restoreAllMocks();
  await resetEdge();
});

describe("server metadata and health (public)", () => {
  it("GET /v2 answers $metadata_server_response without a key", async () => {
    const response = await call("GET", "/v2");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      name: "modelgate",
      version: expect.any(String),
      extensions: ["binary_tensor_data", "parameters", "model_configuration"],
    });
  });

  it("GET /v2/health/live is 200 {live: true}", async () => {
    const response = await call("GET", "/v2/health/live");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ live: true });
  });

  it("GET /v2/health/ready is 400 without a live worker, 200 with one, 400 again once it is stale", async () => {
    const none = await call("GET", "/v2/health/ready");
    expect(none.status).toBe(400);
    expect(await none.json()).toEqual({ ready: false });
    await live();
    const ready = await call("GET", "/v2/health/ready");
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true });

    const stale = new Date(Date.now() - 16_000).toISOString();
    await runInDurableObject(workerPoolStub(env.WORKER_POOL), (pool) =>
      pool.recordHeartbeat(heartbeat({ worker_id: "gpu-box-1", url: inject("standInWorkerUrl") }), stale),
    );
    expect((await call("GET", "/v2/health/ready")).status).toBe(400);
  });
});

describe("model metadata", () => {
  const metadata = {
    name: "spirals",
    versions: ["1"],
    platform: "onnxruntime_onnx",
    inputs: [{ name: "features", datatype: "FP32", shape: [-1, 2] }],
    outputs: [
      { name: "probabilities", datatype: "FP32", shape: [-1, 2] },
      { name: "predictions", datatype: "INT64", shape: [-1] },
    ],
  };

  it("describes the io contract as $metadata_model_response", async () => {
    const response = await call("GET", "/v2/models/spirals", { key: ADMIN });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(metadata);
  });

  it("lists every version and answers for an explicit one", async () => {
    const registered = await call("POST", "/v1/models/spirals/versions", {
      key: ADMIN,
      body: tensorRegistration({
        io: {
          inputs: [{ name: "x", dtype: "float32", shape: ["batch", 3] }],
          outputs: [{ name: "logits", dtype: "float32", shape: ["batch", 4] }],
        },
      }),
    });
    expect(registered.status).toBe(201);
    const second = await call("GET", "/v2/models/spirals/versions/2", { key: ADMIN });
    expect(await second.json()).toEqual({
      name: "spirals",
      versions: ["1", "2"],
      platform: "onnxruntime_onnx",
      inputs: [{ name: "x", datatype: "FP32", shape: [-1, 3] }],
      outputs: [
        { name: "logits", datatype: "FP32", shape: [-1, 4] },
        { name: "predictions", datatype: "INT64", shape: [-1] },
      ],
    });
    const production = await call("GET", "/v2/models/spirals/versions/production", { key: ADMIN });
    expect(await production.json()).toEqual({ ...metadata, versions: ["1", "2"] });
  });

  it("answers 404 {error} for an unknown model or version, 400 for a causal LM", async () => {
    expect(await expectV2Error(await call("GET", "/v2/models/nope", { key: ADMIN }), 404)).toContain("nope");
    expect(await expectV2Error(await call("GET", "/v2/models/spirals/versions/9", { key: ADMIN }), 404)).toContain(
      "spirals@9",
    );
    expect(await expectV2Error(await call("GET", "/v2/models/demo-lm", { key: ADMIN }), 400)).toContain("/v1/generate");
  });
});

describe("model readiness", () => {
  it("is 400 {ready: false} without a worker and 200 {ready: true} with one", async () => {
    const notReady = await call("GET", "/v2/models/spirals/ready", { key: ADMIN });
    expect(notReady.status).toBe(400);
    expect(await notReady.json()).toEqual({ name: "spirals", ready: false });
    await live();
    const ready = await call("GET", "/v2/models/spirals/ready", { key: ADMIN });
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ name: "spirals", ready: true });
    const versioned = await call("GET", "/v2/models/spirals/versions/1/ready", { key: ADMIN });
    expect(await versioned.json()).toEqual({ name: "spirals", ready: true });
  });

  it("is not ready when no live worker has the memory for it", async () => {
    const small = heartbeat().gpus.map((g) => ({ ...g, memory_free_mb: 1 }));
    await sendHeartbeat({ worker_id: "small", url: inject("standInWorkerUrl"), gpus: small });
    expect((await call("GET", "/v2/models/spirals/ready", { key: ADMIN })).status).toBe(400);
  });

  it("answers 404 {error} for an unknown model", async () => {
    await expectV2Error(await call("GET", "/v2/models/nope/ready", { key: ADMIN }), 404);
    await expectV2Error(await call("GET", "/v2/models/spirals/versions/4/ready", { key: ADMIN }), 404);
  });
});

const DATATYPES = [
  ["BOOL", "bool", [true, false, false, true]],
  ["UINT8", "uint8", [0, 255, 7, 1]],
  ["UINT16", "uint16", [0, 65535, 300, 1]],
  ["UINT32", "uint32", [0, 4294967295, 70000, 1]],
  ["UINT64", "uint64", [0, 2 ** 53, 1, 2]],
  ["INT8", "int8", [-128, 127, 0, -1]],
  ["INT16", "int16", [-32768, 32767, 0, -1]],
  ["INT32", "int32", [-2147483648, 2147483647, 0, -1]],
  ["INT64", "int64", [-(2 ** 53), 2 ** 53, 0, -1]],
  ["FP16", "float16", [1.5, -2, 65504, 2 ** -14]],
  ["FP32", "float32", [1.5, -2.25, 3.5, 0.125]],
  ["FP64", "float64", [Math.PI, -Math.E, 1e300, 5e-324]],
  ["BYTES", "string", ["", "héllo", "a b", "🙂"]],
] as const;

/** A model whose every output echoes one input (the stand-in echoes `echo_<input>`): one input per datatype. */
function echoRegistration() {
  return tensorRegistration({
    io: {
      inputs: DATATYPES.map(([, dtype]) => ({ name: `x_${dtype}`, dtype, shape: ["batch", 2] })),
      outputs: DATATYPES.map(([, dtype]) => ({ name: `echo_x_${dtype}`, dtype, shape: ["batch", 2] })),
    },
  });
}

const encoder = new TextEncoder();

/** A request in the binary tensor data extension: the JSON header, then each tensor's bytes. */
function binaryRequest(
  path: string,
  header: unknown,
  parts: readonly Uint8Array[],
  options: { key?: string; headerLength?: string } = {},
) {
  const json = encoder.encode(JSON.stringify(header));
  const body = concatBytes([json, ...parts]);
  return SELF.fetch(`https://edge.test${path}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${options.key ?? ADMIN}`,
      "content-type": "application/octet-stream",
      "inference-header-content-length": options.headerLength ?? String(json.byteLength),
    },
    body,
  });
}

/** A binary answer split: its JSON header and the bytes after it. */
async function splitBinaryAnswer(response: Response): Promise<{ header: Record<string, unknown>; binary: Uint8Array }> {
  const length = Number(response.headers.get("inference-header-content-length"));
  const body = new Uint8Array(await response.arrayBuffer());
  return { header: JSON.parse(new TextDecoder().decode(body.subarray(0, length))), binary: body.subarray(length) };
}

describe("POST /v2/models/:model/infer", () => {
  it("sends the tensors to the worker as a frame and answers flat, row-major outputs, echoing id", async () => {
    await live();
    const forwarded = recordTensorForwards();
    const response = await call("POST", "/v2/models/spirals/infer", { key: ADMIN, body: inferBody({ id: "42" }) });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-modelgate-model")).toBe("spirals@1");
    expect(response.headers.get("x-modelgate-worker")).toBe("gpu-box-1");
    const f32 = (values: number[]) => values.map((v) => Math.fround(v));
    expect(forwarded).toEqual([
      {
        target: { name: "spirals", version: 1 },
        inputs: [{ name: "features", datatype: "FP32", shape: [2, 2], data: f32([0.5, 0.3, -0.4, 0.1]) }],
        // The derived `predictions` needs the class scores, which are asked for once.
        outputs: ["probabilities"],
      },
    ]);
    const [a = 0, b = 0, c = 0, d = 0] = f32([0.5, 0.3, -0.4, 0.1]);
    expect(await response.json()).toEqual({
      model_name: "spirals",
      model_version: "1",
      id: "42",
      parameters: { inference_time_ms: 1.5, queue_time_ms: 0, batch_size: 2 },
      outputs: [
        {
          name: "probabilities",
          shape: [2, 2],
          datatype: "FP32",
          data: [...softmax2(a, b), ...softmax2(c, d)].map((v) => expect.closeTo(v, 6)),
        },
        { name: "predictions", shape: [2], datatype: "INT64", data: [0, 1] },
      ],
    });
  });

  it("takes nested data, honours the outputs filter, and serves an explicit version", async () => {
    await live();
    const forwarded = recordTensorForwards();
    const nested = await call("POST", "/v2/models/spirals/versions/1/infer", {
      key: ADMIN,
      body: inferBody(
        { outputs: [{ name: "predictions" }] },
        {
          shape: [3, 2],
          data: [
            [1, 0],
            [0, 1],
            [2, 3],
          ],
        },
      ),
    });
    expect(nested.status).toBe(200);
    expect(await nested.json()).toMatchObject({
      model_name: "spirals",
      model_version: "1",
      outputs: [{ name: "predictions", shape: [3], datatype: "INT64", data: [0, 1, 1] }],
    });
    expect(forwarded[0]?.inputs[0]?.data).toEqual([1, 0, 0, 1, 2, 3]);
  });

  it("carries every datatype through JSON exactly, and through the binary extension byte for byte", async () => {
    await registerAndPromote("echo", echoRegistration());
    await live();
    const inputs = DATATYPES.map(([datatype, dtype, data]) => ({
      name: `x_${dtype}`,
      datatype,
      shape: [2, 2],
      data: [...data],
    }));
    const json = await call("POST", "/v2/models/echo/infer", { key: ADMIN, body: { inputs } });
    expect(json.status, await json.clone().text()).toBe(200);
    const answer = (await json.json()) as { outputs: Array<{ name: string; datatype: string; data: unknown[] }> };
    expect(answer.outputs).toEqual(
      DATATYPES.map(([datatype, dtype, data]) => ({
        name: `echo_x_${dtype}`,
        datatype,
        shape: [2, 2],
        data: [...data],
      })),
    );

    // The same tensors as raw bytes, all outputs asked back as binary.
    const values = {
      BOOL: Uint8Array.from([1, 0, 0, 1]),
      UINT8: Uint8Array.from([0, 255, 7, 1]),
      UINT16: Uint16Array.from([0, 65535, 300, 1]),
      UINT32: Uint32Array.from([0, 4294967295, 70000, 1]),
      UINT64: BigUint64Array.from([0n, 18446744073709551615n, 1n, 2n]),
      INT8: Int8Array.from([-128, 127, 0, -1]),
      INT16: Int16Array.from([-32768, 32767, 0, -1]),
      INT32: Int32Array.from([-2147483648, 2147483647, 0, -1]),
      INT64: BigInt64Array.from([-9223372036854775808n, 9223372036854775807n, 0n, -1n]),
      FP16: Uint16Array.from([0x3c00, 0xc000, 0x7bff, 0x0001]),
      FP32: Float32Array.from([1.5, -2.25, 3.4e38, 1e-45]),
      FP64: Float64Array.from([Math.PI, -Math.E, 1e308, 5e-324]),
      BYTES: ["", "héllo", "a b", "🙂"],
    } as const;
    const parts = DATATYPES.map(([datatype]) => encodeTensorBytes(values[datatype] as TensorValues));
    const header = {
      inputs: DATATYPES.map(([datatype, dtype], index) => ({
        name: `x_${dtype}`,
        datatype,
        shape: [2, 2],
        parameters: { binary_data_size: parts[index]?.byteLength },
      })),
      parameters: { binary_data_output: true },
    };
    const binary = await binaryRequest("/v2/models/echo/infer", header, parts);
    expect(binary.status).toBe(200);
    expect(binary.headers.get("content-type")).toBe("application/octet-stream");
    const split = await splitBinaryAnswer(binary);
    const outputs = split.header.outputs as Array<{
      name: string;
      parameters: { binary_data_size: number };
      data?: unknown;
    }>;
    expect(outputs.map((output) => [output.name, output.parameters.binary_data_size, output.data])).toEqual(
      DATATYPES.map(([, dtype], index) => [`echo_x_${dtype}`, parts[index]?.byteLength, undefined]),
    );
    expect(Array.from(split.binary)).toEqual(Array.from(concatBytes(parts)));

    // Binary in, JSON out for one output, binary for another (per-output parameters).
    const mixed = await binaryRequest(
      "/v2/models/echo/infer",
      {
        ...header,
        parameters: {},
        outputs: [{ name: "echo_x_int64" }, { name: "echo_x_string", parameters: { binary_data: true } }],
      },
      parts,
    );
    const mixedSplit = await splitBinaryAnswer(mixed);
    expect(mixedSplit.header.outputs).toEqual([
      { name: "echo_x_int64", datatype: "INT64", shape: [2, 2], data: [-(2 ** 63), 2 ** 63, 0, -1] },
      {
        name: "echo_x_string",
        datatype: "BYTES",
        shape: [2, 2],
        parameters: { binary_data_size: parts[12]?.byteLength },
      },
    ]);
    expect(Array.from(mixedSplit.binary)).toEqual(Array.from(parts[12] ?? []));
  });

  it("names the input, datatype, shape, dimension or element at fault in a 400 {error}", async () => {
    const infer = (body: unknown) => call("POST", "/v2/models/spirals/infer", { key: ADMIN, body });
    const cases: Array<[unknown, string]> = [
      [
        inferBody({}, { name: "input" }),
        "unexpected inference input 'input' for model 'spirals'; it expects 'features'",
      ],
      [inferBody({}, { datatype: "INT64" }), "input 'features' has datatype INT64, but model 'spirals' expects FP32"],
      [inferBody({}, { datatype: "fp32" }), "inputs.0.datatype"],
      [
        inferBody({}, { shape: [1, 3], data: [1, 2, 3] }),
        "has shape [1,3], but model 'spirals' expects [-1,2]: dimension 1 is 3, not 2",
      ],
      [inferBody({}, { shape: [2] }), "has shape [2], but model 'spirals' expects [-1,2]: 1 dimensions, not 2"],
      [inferBody({}, { data: [1, 2, 3] }), "input 'features' has 3 values, but shape [2,2] needs 4"],
      [
        inferBody({}, { data: [[1, 2], [3]] }),
        "input 'features': data[1] has 1 elements, but shape [2,2] needs 2 there",
      ],
      [inferBody({}, { data: [1, "2", 3, 4] }), 'element 1 is "2"; FP32 data must be numbers'],
      [inferBody({}, { data: undefined }), "input 'features' has no data"],
      [inferBody({}, { shape: [0, 2], data: [] }), "holds no values"],
      [{ inputs: [inferBody().inputs[0], inferBody().inputs[0]] }, "input 'features' is given more than once"],
      [inferBody({ outputs: [{ name: "logits" }] }), "unexpected inference output 'logits' for model 'spirals'"],
      [inferBody({ outputs: [{ name: "predictions" }, { name: "predictions" }] }), "requested more than once"],
      [
        inferBody({}, { data: undefined, parameters: { binary_data_size: 16 } }),
        "has no Inference-Header-Content-Length",
      ],
      [inferBody({ parameters: { binary_data_output: "yes" } }), "binary_data_output must be true or false"],
      [inferBody({ outputs: [{ name: "probabilities", parameters: { classification: 2 } }] }), "classification"],
      [{ inputs: [] }, "inputs"],
      [{ ...inferBody(), input: [] }, "input"],
    ];
    for (const [body, message] of cases) {
      expect(await expectV2Error(await infer(body), 400)).toContain(message);
    }
    await expectV2Error(await call("POST", "/v2/models/spirals/infer", { key: ADMIN, rawBody: '{"inputs": [' }), 400);
    await expectV2Error(
      await call("POST", "/v2/models/spirals/infer", {
        key: ADMIN,
        rawBody: "binary",
        headers: { "content-type": "application/octet-stream" },
      }),
      415,
    );
  });

  it("checks binary requests: sizes, the header length and bytes nobody claims", async () => {
    const header = (size: number) => ({
      inputs: [{ name: "features", shape: [1, 2], datatype: "FP32", parameters: { binary_data_size: size } }],
    });
    const two = encodeTensorBytes(Float32Array.from([1, 2]));
    expect(
      await expectV2Error(await binaryRequest("/v2/models/spirals/infer", header(4), [two.subarray(0, 4)]), 400),
    ).toContain("binary_data_size is 4, but shape [1,2] of FP32 takes 8 bytes");
    expect(await expectV2Error(await binaryRequest("/v2/models/spirals/infer", header(16), [two]), 400)).toContain(
      "runs past",
    );
    expect(
      await expectV2Error(await binaryRequest("/v2/models/spirals/infer", header(8), [two, new Uint8Array(3)]), 400),
    ).toContain("3 bytes of binary data after the header that no input's binary_data_size claims");
    expect(
      await expectV2Error(
        await binaryRequest("/v2/models/spirals/infer", header(8), [two], { headerLength: "99999" }),
        400,
      ),
    ).toContain("Inference-Header-Content-Length");
    expect(
      await expectV2Error(
        await binaryRequest("/v2/models/spirals/infer", header(8), [two], { headerLength: "3" }),
        400,
      ),
    ).toContain("not valid JSON");
    const both = { inputs: [{ ...header(8).inputs[0], data: [1, 2] }] };
    expect(await expectV2Error(await binaryRequest("/v2/models/spirals/infer", both, [two]), 400)).toContain("both");
  });

  it("serves models with several inputs of several datatypes, any rank", async () => {
    await registerAndPromote(
      "ranker",
      tensorRegistration({
        io: {
          inputs: [
            { name: "features", dtype: "float32", shape: ["batch", 2] },
            { name: "category", dtype: "int64", shape: ["batch"] },
            { name: "image", dtype: "uint8", shape: ["batch", 3, "h", "w"] },
          ],
          outputs: [
            { name: "scores", dtype: "float32", shape: ["batch", 3] },
            { name: "best", dtype: "int64", shape: ["batch"] },
          ],
        },
      }),
    );
    await live();
    const forwarded = recordTensorForwards();
    const body = {
      inputs: [
        { name: "category", shape: [2], datatype: "INT64", data: [3, 0] },
        { name: "features", shape: [2, 2], datatype: "FP32", data: [1, 2, 3, 4] },
        { name: "image", shape: [2, 3, 1, 1], datatype: "UINT8", data: [1, 2, 3, 4, 5, 6] },
      ],
    };
    const response = await call("POST", "/v2/models/ranker/infer", { key: ADMIN, body });
    expect(response.status, await response.clone().text()).toBe(200);
    const answer = (await response.json()) as { outputs: Array<{ name: string; datatype: string; shape: number[] }> };
    // Not a classifier (several inputs): the model's outputs only, no derived predictions.
    expect(answer.outputs.map(({ name, datatype, shape }) => [name, datatype, shape])).toEqual([
      ["scores", "FP32", [2, 3]],
      ["best", "INT64", [2]],
    ]);
    expect(forwarded[0]?.inputs.map((input) => [input.name, input.datatype, input.shape])).toEqual([
      ["category", "INT64", [2]],
      ["features", "FP32", [2, 2]],
      ["image", "UINT8", [2, 3, 1, 1]],
    ]);
    const mismatched = {
      inputs: [...body.inputs.slice(0, 2), { ...body.inputs[2], shape: [3, 3, 1, 1], data: new Array(9).fill(0) }],
    };
    expect(
      await expectV2Error(await call("POST", "/v2/models/ranker/infer", { key: ADMIN, body: mismatched }), 400),
    ).toContain("input 'image' has shape [3,3,1,1]: dimension 0 ('batch') is 3, but input 'features' has 2 there");
    const missing = { inputs: body.inputs.slice(0, 2) };
    expect(
      await expectV2Error(await call("POST", "/v2/models/ranker/infer", { key: ADMIN, body: missing }), 400),
    ).toContain("missing 'image' (UINT8 [-1,3,-1,-1])");
  });

  it("refuses a causal LM with a pointer to /v1/generate, and a body over the tensor limit with 413", async () => {
    const lm = await expectV2Error(
      await call("POST", "/v2/models/demo-lm/infer", { key: ADMIN, body: inferBody() }),
      400,
    );
    expect(lm).toContain("/v1/generate");
    const huge = inferBody({}, { shape: [1, 2], data: [1, 2], parameters: { padding: "x".repeat(9 * 1024 * 1024) } });
    await expectV2Error(await call("POST", "/v2/models/spirals/infer", { key: ADMIN, body: huge }), 413);
  });

  it("answers 404 for an unknown model and 503 {error} when no worker is alive", async () => {
    expect(
      await expectV2Error(await call("POST", "/v2/models/nope/infer", { key: ADMIN, body: inferBody() }), 404),
    ).toContain("No model named nope");
    expect(
      await expectV2Error(await call("POST", "/v2/models/spirals/infer", { key: ADMIN, body: inferBody() }), 503),
    ).toContain("No worker can serve spirals@1");
  });

  it("answers a failing worker with 502 {error} and no internals", async () => {
    await sendHeartbeat({ worker_id: "failing", url: inject("failingWorkerUrl") });
    const failed = await expectV2Error(
      await call("POST", "/v2/models/spirals/infer", { key: ADMIN, body: inferBody() }),
      502,
    );
    expect(failed).not.toContain("secret internals");
  });

  it("passes a worker's 4xx on as {error} with the worker's status", async () => {
    // A dynamic feature axis gets past the edge's contract check; the stand-in refuses rows of 3.
    await registerAndPromote(
      "wide",
      tensorRegistration({
        io: {
          inputs: [{ name: "features", dtype: "float32", shape: ["batch", "features"] }],
          outputs: [{ name: "probabilities", dtype: "float32", shape: ["batch", 2] }],
        },
      }),
    );
    await live();
    expect(
      await expectV2Error(
        await call("POST", "/v2/models/wide/infer", {
          key: ADMIN,
          body: inferBody({}, { shape: [1, 3], data: [1, 2, 3] }),
        }),
        400,
      ),
    ).toContain("each row of features must have 2 values");
  });
});

describe("model configuration", () => {
  it("describes the contract and batching as Triton's config, following the registry's serving config", async () => {
    const response = await call("GET", "/v2/models/spirals/config", { key: ADMIN });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      name: "spirals",
      platform: "onnxruntime_onnx",
      backend: "onnxruntime",
      version_policy: { specific: { versions: ["1"] } },
      max_batch_size: 64,
      input: [{ name: "features", data_type: "TYPE_FP32", dims: [2] }],
      output: [{ name: "probabilities", data_type: "TYPE_FP32", dims: [2] }],
      dynamic_batching: { preferred_batch_size: [], max_queue_delay_microseconds: 100 },
    });
    const patched = await call("PATCH", "/v1/models/spirals/versions/1", {
      key: ADMIN,
      body: {
        serving: { max_batch_size: 16, dynamic_batching: { preferred_batch_sizes: [8, 16], max_queue_delay_us: 2000 } },
      },
    });
    expect(patched.status, await patched.clone().text()).toBe(200);
    const tuned = await call("GET", "/v2/models/spirals/versions/1/config", { key: ADMIN });
    expect(await tuned.json()).toMatchObject({
      max_batch_size: 16,
      dynamic_batching: { preferred_batch_size: [8, 16], max_queue_delay_microseconds: 2000 },
    });
    await call("PATCH", "/v1/models/spirals/versions/1", { key: ADMIN, body: { serving: { max_batch_size: 0 } } });
    const off = (await (await call("GET", "/v2/models/spirals/config", { key: ADMIN })).json()) as Record<
      string,
      unknown
    >;
    expect([off.max_batch_size, off.dynamic_batching, off.input]).toEqual([
      0,
      undefined,
      [{ name: "features", data_type: "TYPE_FP32", dims: [-1, 2] }],
    ]);
    const invalid = await call("PATCH", "/v1/models/spirals/versions/1", {
      key: ADMIN,
      body: { serving: { max_batch_size: 4, dynamic_batching: { preferred_batch_sizes: [8] } } },
    });
    expect((await expectProblem(invalid, 400)).errors?.map((e) => e.field)).toEqual([
      "serving.dynamic_batching.preferred_batch_sizes.0",
    ]);
  });
});

describe("every answer under /v2 is the protocol's {error}", () => {
  it("answers unknown paths, wrong methods and paths with .. as {error}, never problem+json", async () => {
    expect(await expectV2Error(await call("GET", "/v2/nothing-here", { key: ADMIN }), 404)).toContain(
      "No route for GET /v2/nothing-here",
    );
    expect(await expectV2Error(await call("GET", "/v2/models/", { key: ADMIN }), 404)).toContain("V2 API");
    expect(await expectV2Error(await call("GET", "/v2/models/spirals/infer", { key: ADMIN }), 405)).toContain(
      "use POST",
    );
    const wrongMethod = await call("DELETE", "/v2/models/spirals", { key: ADMIN });
    expect(wrongMethod.headers.get("allow")).toBe("GET, HEAD");
    await expectV2Error(wrongMethod, 405);
    await expectV2Error(await call("POST", "/v2/health/live"), 405);
    expect((await call("HEAD", "/v2/health/live")).status).toBe(200);
    // Dot segments, plain or percent-encoded, are resolved before routing: what is left is under /v2 or not.
    expect(
      await expectV2Error(await call("POST", "/v2/models/%2e%2e/infer", { key: ADMIN, body: inferBody() }), 404),
    ).toContain("POST /v2/infer");
    expect(
      await expectV2Error(await call("POST", "/v2/models/a..b/infer", { key: ADMIN, body: inferBody() }), 404),
    ).toContain("No model named a..b");
    await expectV2Error(await call("GET", "/v2/models/spirals/..", { key: ADMIN }), 404);
    await expectV2Error(
      await call("GET", "/v2/models/spirals/versions/1/../../..%2F..%2Fv1%2Fkeys", { key: ADMIN }),
      404,
    );
    // Outside /v2 the problem+json model holds as before.
    expect((await call("GET", "/v2x", { key: ADMIN })).headers.get("content-type")).toContain(
      "application/problem+json",
    );
  });
});

describe("security", () => {
  it("refuses infer and metadata without a key (401 {error}) and without the infer scope (403 {error})", async () => {
    const noKey = await call("POST", "/v2/models/spirals/infer", { body: inferBody() });
    expect(noKey.headers.get("www-authenticate")).toContain("Bearer");
    await expectV2Error(noKey, 401);
    await expectV2Error(await call("GET", "/v2/models/spirals", {}), 401);
    await expectV2Error(await call("GET", "/v2/models/spirals/ready", {}), 401);
    await expectV2Error(await call("GET", "/v2/models/spirals/config", {}), 401);
    await expectV2Error(
      await call("POST", "/v2/models/spirals/infer", { key: "mg_wrong_key_0123456789", body: inferBody() }),
      401,
    );
    await expectV2Error(await call("POST", "/v2/models/spirals/infer", { key: WORKER_TOKEN, body: inferBody() }), 403);

    const created = await call("POST", "/v1/keys", { key: ADMIN, body: { name: "reader", scopes: ["models:read"] } });
    const { key: reader } = (await created.json()) as { key: string };
    expect(
      await expectV2Error(await call("POST", "/v2/models/spirals/infer", { key: reader, body: inferBody() }), 403),
    ).toContain("`infer`");
    await expectV2Error(await call("GET", "/v2/models/spirals", { key: reader }), 403);
    await expectV2Error(await call("GET", "/v2/models/spirals/versions/1/config", { key: reader }), 403);
  });

  it("lets an infer-only key infer", async () => {
    await live();
    const created = await call("POST", "/v1/keys", { key: ADMIN, body: { name: "client", scopes: ["infer"] } });
    const { key } = (await created.json()) as { key: string };
    expect((await call("POST", "/v2/models/spirals/infer", { key, body: inferBody() })).status).toBe(200);
    expect((await call("GET", "/v2/models/spirals", { key })).status).toBe(200);
  });
});
