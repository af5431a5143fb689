import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freeStackPorts, type LocalStack, startLocalStack } from "@modelgate/infra/local-stack";
import { PredictResponseSchema } from "@modelgate/shared";
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
    expect(await server.json()).toEqual({ name: "modelgate", version: expect.any(String), extensions: [] });
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
