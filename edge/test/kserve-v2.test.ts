import { env, reset, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, inject, it, vi } from "vitest";
import { workerPoolStub } from "../src/pool/worker-pool-object.js";
import { type ForwardedPredict, standInPredicts } from "./support/predicting-stand-in.js";
import {
  ADMIN,
  call,
  causalLmRegistration,
  heartbeat,
  registerAndPromote,
  sendHeartbeat,
  tensorRegistration,
  WORKER_TOKEN,
} from "./support/requests.js";

/** The stand-in answers with the softmax of each row. */
function workerPredictsSoftmax(): ForwardedPredict[] {
  return standInPredicts((row) => {
    const exps = row.map((v) => Math.exp(v - Math.max(...row)));
    const sum = exps.reduce((a, b) => a + b, 0);
    return exps.map((v) => v / sum);
  });
}

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
  await reset();
});

describe("server metadata and health (public)", () => {
  it("GET /v2 answers $metadata_server_response without a key", async () => {
    const response = await call("GET", "/v2");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ name: "modelgate", version: expect.any(String), extensions: [] });
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

describe("POST /v2/models/:model/infer", () => {
  it("translates to the worker's /v1/predict and back, flat row-major, echoing id", async () => {
    await live();
    const forwarded = workerPredictsSoftmax();
    const response = await call("POST", "/v2/models/spirals/infer", { key: ADMIN, body: inferBody({ id: "42" }) });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-modelgate-model")).toBe("spirals@1");
    expect(response.headers.get("x-modelgate-worker")).toBe("gpu-box-1");
    expect(forwarded).toEqual([
      {
        model: "spirals@1",
        data: [
          [0.5, 0.3],
          [-0.4, 0.1],
        ],
        target: expect.objectContaining({ name: "spirals", version: 1 }),
      },
    ]);
    const [p0 = [], p1 = []] = [softmax2(0.5, 0.3), softmax2(-0.4, 0.1)];
    expect(await response.json()).toEqual({
      model_name: "spirals",
      model_version: "1",
      id: "42",
      outputs: [
        {
          name: "probabilities",
          shape: [2, 2],
          datatype: "FP32",
          data: [...p0, ...p1].map((v) => expect.closeTo(v, 12)),
        },
        { name: "predictions", shape: [2], datatype: "INT64", data: [0, 1] },
      ],
    });
  });

  it("takes nested data, honours the outputs filter, and serves an explicit version", async () => {
    await live();
    const forwarded = workerPredictsSoftmax();
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
    expect(await nested.json()).toEqual({
      model_name: "spirals",
      model_version: "1",
      outputs: [{ name: "predictions", shape: [3], datatype: "INT64", data: [0, 1, 1] }],
    });
    expect(forwarded[0]?.data).toEqual([
      [1, 0],
      [0, 1],
      [2, 3],
    ]);
  });

  it("names the input, datatype, shape or element at fault in a 400 {error}", async () => {
    const infer = (body: unknown) => call("POST", "/v2/models/spirals/infer", { key: ADMIN, body });
    const cases: Array<[unknown, string]> = [
      [
        inferBody({}, { name: "input" }),
        "unexpected inference input 'input' for model 'spirals'; it expects 'features'",
      ],
      [inferBody({}, { datatype: "INT64" }), "input 'features' has datatype INT64, but model 'spirals' expects FP32"],
      [inferBody({}, { datatype: "fp32" }), "inputs.0.datatype"],
      [inferBody({}, { shape: [1, 3], data: [1, 2, 3] }), "has shape [1,3], but model 'spirals' expects [-1,2]"],
      [inferBody({}, { shape: [2] }), "has shape [2], but model 'spirals' expects [-1,2]"],
      [inferBody({}, { data: [1, 2, 3] }), "input 'features' has 3 values, but shape [2,2] needs 4"],
      [
        inferBody({}, { data: [[1, 2], [3]] }),
        "input 'features': data[1] has 1 elements, but shape [2,2] needs 2 there",
      ],
      [inferBody({}, { data: [1, "2", 3, 4] }), 'element 1 is "2"; FP32 data must be numbers'],
      [inferBody({}, { shape: [0, 2], data: [] }), "holds no values"],
      [
        { inputs: [inferBody().inputs[0], inferBody().inputs[0]] },
        "expected 1 input but got 2 inputs for model 'spirals'",
      ],
      [inferBody({ outputs: [{ name: "logits" }] }), "unexpected inference output 'logits' for model 'spirals'"],
      [inferBody({}, { parameters: { binary_data_size: 16 } }), "binary tensor data is not supported"],
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

  it("refuses a causal LM with a pointer to /v1/generate, and models /v1/predict cannot feed", async () => {
    const lm = await expectV2Error(
      await call("POST", "/v2/models/demo-lm/infer", { key: ADMIN, body: inferBody() }),
      400,
    );
    expect(lm).toContain("/v1/generate");
    await registerAndPromote(
      "ids-model",
      tensorRegistration({
        io: {
          inputs: [{ name: "features", dtype: "int64", shape: ["batch", 2] }],
          outputs: [{ name: "probabilities", dtype: "float32", shape: ["batch", 2] }],
        },
      }),
    );
    const ints = await expectV2Error(
      await call("POST", "/v2/models/ids-model/infer", { key: ADMIN, body: inferBody() }),
      400,
    );
    expect(ints).toContain("INT64 input 'features'; V2 infer here feeds FP32 inputs only");
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
    await expectV2Error(
      await call("POST", "/v2/models/wide/infer", {
        key: ADMIN,
        body: inferBody({}, { shape: [1, 3], data: [1, 2, 3] }),
      }),
      400,
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
  });

  it("lets an infer-only key infer", async () => {
    await live();
    workerPredictsSoftmax();
    const created = await call("POST", "/v1/keys", { key: ADMIN, body: { name: "client", scopes: ["infer"] } });
    const { key } = (await created.json()) as { key: string };
    expect((await call("POST", "/v2/models/spirals/infer", { key, body: inferBody() })).status).toBe(200);
    expect((await call("GET", "/v2/models/spirals", { key })).status).toBe(200);
  });
});
