import type { Scope } from "@modelgate/shared";
import { afterEach, beforeEach, describe, expect, inject, it, vi } from "vitest";
import { recordTensorForwards } from "./support/forwarded-tensors.js";
import {
  ADMIN,
  call,
  causalLmRegistration,
  expectProblem,
  type heartbeat,
  putTestArtifact,
  registerAndPromote,
  resetEdge,
  sendHeartbeat,
  tensorRegistration,
} from "./support/requests.js";

const softmax = (row: number[]) => {
  const exps = row.map((v) => Math.exp(v - Math.max(...row)));
  return exps.map((v) => v / exps.reduce((a, b) => a + b, 0));
};
const f32 = (value: number) => Math.fround(value);

async function keyWith(scopes: Scope[]): Promise<string> {
  const created = await call("POST", "/v1/keys", { key: ADMIN, body: { name: scopes.join("+"), scopes } });
  return ((await created.json()) as { key: string }).key;
}

const live = (overrides: Parameters<typeof heartbeat>[0] = {}) =>
  sendHeartbeat({ worker_id: "gpu-box-1", url: inject("standInWorkerUrl"), ...overrides });

/** A second spirals version, registered (Staging by policy) but not promoted. */
async function registerSecondVersion(): Promise<void> {
  const registered = await call("POST", "/v1/models/spirals/versions", {
    key: ADMIN,
    body: tensorRegistration({ artifact: await putTestArtifact("spirals-v2") }),
  });
  expect(registered.status).toBe(201);
}

beforeEach(async () => {
  await registerAndPromote("spirals", tensorRegistration());
  await registerAndPromote("demo-lm", causalLmRegistration());
});
afterEach(async () => {
  vi.restoreAllMocks();
  await resetEdge();
});

describe("GET /models", () => {
  it("lists the tensor models with each version's stage, where it is loaded, readiness and the default", async () => {
    await registerSecondVersion();
    const empty = await call("GET", "/models", { key: ADMIN });
    expect(empty.status).toBe(200);
    expect(await empty.json()).toMatchObject({
      default_model: "spirals",
      models: [{ name: "spirals", production_version: 1, ready: false }],
    });

    const spirals = tensorRegistration();
    await live({
      loaded_models: [{ name: "spirals", version: 1, sha256: spirals.artifact.sha256, memory_mb: 10, gpu_index: 0 }],
    });
    const listed = await call("GET", "/models", { key: ADMIN });
    expect(await listed.json()).toEqual({
      default_model: "spirals",
      models: [
        {
          name: "spirals",
          production_version: 1,
          ready: true,
          versions: [
            {
              version: 1,
              stage: "Production",
              aliases: [],
              metrics: { val_acc: 0.95 },
              created_at: expect.any(String),
              loaded_on: ["gpu-box-1"],
            },
            {
              version: 2,
              stage: "Staging",
              aliases: [],
              metrics: { val_acc: 0.95 },
              created_at: expect.any(String),
              loaded_on: [],
            },
          ],
        },
      ],
    });
  });

  it("has no default model when two tensor models are in Production", async () => {
    await registerAndPromote("moons", tensorRegistration());
    const body = (await (await call("GET", "/models", { key: ADMIN })).json()) as {
      default_model: string | null;
      models: { name: string }[];
    };
    expect(body.default_model).toBeNull();
    expect(body.models.map((m) => m.name)).toEqual(["moons", "spirals"]);
  });

  it("needs models:read", async () => {
    await expectProblem(await call("GET", "/models"), 401);
    await expectProblem(await call("GET", "/models", { key: await keyWith(["infer"]) }), 403);
    expect((await call("GET", "/models", { key: await keyWith(["models:read"]) })).status).toBe(200);
  });
});

describe("POST /predict", () => {
  it("answers seed 004's shape, from the default model when none is named", async () => {
    await live();
    const forwarded = recordTensorForwards();
    const response = await call("POST", "/predict", {
      key: ADMIN,
      body: {
        data: [
          [0.0, 0.0],
          [0.2, 0.8],
        ],
      },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-modelgate-model")).toBe("spirals@1");
    // The stand-in's probabilities are each row's softmax, computed on the float32 it received.
    const [p0 = [], p1 = []] = [softmax([0, 0]), softmax([f32(0.2), f32(0.8)])];
    expect(await response.json()).toEqual({
      predictions: [0, 1],
      probabilities: [p0.map((v) => expect.closeTo(v, 6)), p1.map((v) => expect.closeTo(v, 6))],
      model_version: "1",
      inference_time_ms: 1.5,
      model: "spirals",
    });
    expect(forwarded).toEqual([
      {
        target: { name: "spirals", version: 1 },
        inputs: [{ name: "features", datatype: "FP32", shape: [2, 2], data: [0, 0, f32(0.2), f32(0.8)] }],
        outputs: ["probabilities"],
      },
    ]);
  });

  it("feeds any single-input model: images as nested arrays, and `outputs` for a model that is not a classifier", async () => {
    await live();
    const forwarded = recordTensorForwards();
    await registerAndPromote(
      "colours",
      tensorRegistration({
        io: {
          inputs: [{ name: "image", dtype: "uint8", shape: ["N", 3, 2, 2] }],
          outputs: [{ name: "logits", dtype: "float32", shape: ["N", 3] }],
        },
      }),
    );
    const image = [
      [
        [0, 255],
        [7, 9],
      ],
      [
        [1, 2],
        [3, 4],
      ],
      [
        [5, 6],
        [7, 8],
      ],
    ];
    const classified = await call("POST", "/predict", { key: ADMIN, body: { model: "colours", data: [image] } });
    expect(classified.status).toBe(200);
    // The stand-in answers zero logits: every class equally likely, the first wins the tie.
    expect(await classified.json()).toMatchObject({
      predictions: [0],
      probabilities: [[1 / 3, 1 / 3, 1 / 3].map((v) => expect.closeTo(v, 6))],
    });
    expect(forwarded.at(-1)?.inputs).toEqual([
      { name: "image", datatype: "UINT8", shape: [1, 3, 2, 2], data: image.flat(2) },
    ]);

    await registerAndPromote(
      "embedder",
      tensorRegistration({
        io: {
          inputs: [{ name: "features", dtype: "float32", shape: ["batch", 2] }],
          outputs: [{ name: "embedding", dtype: "float32", shape: ["batch", 3] }],
        },
      }),
    );
    const embedded = await call("POST", "/predict", { key: ADMIN, body: { model: "embedder", data: [[0, 0]] } });
    expect(await embedded.json()).toEqual({
      outputs: [
        {
          name: "embedding",
          datatype: "FP32",
          shape: [1, 3],
          data: softmax([0, 0, 0]).map((v) => expect.closeTo(v, 6)),
        },
      ],
      model_version: "1",
      inference_time_ms: 1.5,
      model: "embedder",
    });
    expect(forwarded.at(-1)?.outputs).toBeUndefined();
  });

  it("refuses data that does not fit the model's input, naming data, and models with several inputs", async () => {
    await live();
    await registerAndPromote(
      "colours",
      tensorRegistration({
        io: {
          inputs: [{ name: "image", dtype: "uint8", shape: ["N", 3, 1, 1] }],
          outputs: [{ name: "logits", dtype: "float32", shape: ["N", 3] }],
        },
      }),
    );
    const predict = (data: unknown) => call("POST", "/predict", { key: ADMIN, body: { model: "colours", data } });
    const shallow = await expectProblem(await predict([[1, 2, 3]]), 400);
    expect([shallow.errors?.map((e) => e.field), shallow.detail]).toEqual([
      ["data"],
      expect.stringContaining("data nests 2 deep ([1,3]), but the model's input 'image' has 4 dimensions [-1,3,1,1]"),
    ]);
    const channels = await expectProblem(await predict([[[[1]], [[2]]]]), 400);
    expect(channels.detail).toContain("dimension 1 is 2, not 3");
    const range = await expectProblem(await predict([[[[1]], [[2]], [[256]]]]), 400);
    expect(range.detail).toContain("element 2 is 256; UINT8 data must be integers from 0 to 255");
    await registerAndPromote(
      "pair",
      tensorRegistration({
        io: {
          inputs: [
            { name: "a", dtype: "float32", shape: ["batch", 2] },
            { name: "b", dtype: "int64", shape: ["batch"] },
          ],
          outputs: [{ name: "score", dtype: "float32", shape: ["batch", 1] }],
        },
      }),
    );
    const pair = await expectProblem(
      await call("POST", "/predict", { key: ADMIN, body: { model: "pair", data: [[1, 2]] } }),
      400,
    );
    expect([pair.errors?.map((e) => e.field), pair.detail]).toEqual([
      ["model"],
      expect.stringContaining("POST /v2/models/pair/infer"),
    ]);
  });

  it("uses model_version (seed 004's field) and an explicit model", async () => {
    await registerSecondVersion();
    await live();
    const versioned = await call("POST", "/predict", { key: ADMIN, body: { data: [[1, 2]], model_version: "2" } });
    expect(await versioned.json()).toMatchObject({ model_version: "2", model: "spirals" });
    const numbered = await call("POST", "/predict", { key: ADMIN, body: { data: [[1, 2]], model_version: 2 } });
    expect(await numbered.json()).toMatchObject({ model_version: "2" });
    const named = await call("POST", "/predict", { key: ADMIN, body: { data: [[1, 2]], model: "spirals@staging" } });
    expect(await named.json()).toMatchObject({ model_version: "2" });
  });

  it("refuses to guess: no default with none or several tensor models in Production", async () => {
    await registerAndPromote("moons", tensorRegistration());
    const several = await expectProblem(await call("POST", "/predict", { key: ADMIN, body: { data: [[1, 2]] } }), 400);
    expect(several.detail).toContain("Several tensor models are in Production (moons, spirals)");
    expect(several.errors?.map((e) => e.field)).toEqual(["model"]);
    await resetEdge();

    const none = await expectProblem(await call("POST", "/predict", { key: ADMIN, body: { data: [[1, 2]] } }), 404);
    expect(none.errors?.map((e) => e.field)).toEqual(["model"]);
  });

  it("names the field at fault", async () => {
    const twice = await expectProblem(
      await call("POST", "/predict", { key: ADMIN, body: { data: [[1, 2]], model: "spirals@1", model_version: "1" } }),
      400,
    );
    expect(twice.errors?.map((e) => e.field)).toEqual(["model_version"]);
    const empty = await expectProblem(await call("POST", "/predict", { key: ADMIN, body: { data: [] } }), 400);
    expect(empty.errors?.map((e) => e.field)).toEqual(["data"]);
    const lm = await expectProblem(
      await call("POST", "/predict", { key: ADMIN, body: { data: [[1, 2]], model: "demo-lm" } }),
      400,
    );
    expect(lm.detail).toContain("/v1/generate");
    await expectProblem(await call("POST", "/predict", { key: ADMIN, body: { data: [[1, 2]], model: "nope" } }), 404);
    await expectProblem(
      await call("POST", "/predict", { key: ADMIN, body: { data: [[1, 2]], model_version: "9" } }),
      404,
    );
  });

  it("passes a worker's 4xx problem on and answers 503 without a worker", async () => {
    await expectProblem(await call("POST", "/predict", { key: ADMIN, body: { data: [[1, 2]] } }), 503);
    await live();
    const wrongWidth = await expectProblem(
      await call("POST", "/predict", { key: ADMIN, body: { data: [[1, 2, 3]] } }),
      400,
    );
    expect(wrongWidth.errors?.map((e) => e.field)).toEqual(["data"]);
  });

  it("needs infer", async () => {
    await expectProblem(await call("POST", "/predict", { body: { data: [[1, 2]] } }), 401);
    await expectProblem(
      await call("POST", "/predict", { key: await keyWith(["models:read"]), body: { data: [[1, 2]] } }),
      403,
    );
  });
});

describe("POST /reload-model", () => {
  it("re-resolves the Production version and warms it on the chosen worker", async () => {
    await live();
    const forwarded = recordTensorForwards();
    const first = await call("POST", "/reload-model", { key: ADMIN });
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({
      model: "spirals",
      version: 1,
      stage: "Production",
      artifact_sha256: tensorRegistration().artifact.sha256,
      reloaded_at: expect.any(String),
      warm_up: { worker_id: "stand-in", elapsed_ms: expect.any(Number) },
    });
    expect(forwarded.map((f) => [f.target.version, f.inputs])).toEqual([
      [1, [{ name: "features", datatype: "FP32", shape: [1, 2], data: [0, 0] }]],
    ]);

    // Promoting version 2 needs no reload to take effect, and a reload reports and warms it.
    await registerSecondVersion();
    const promoted = await call("POST", "/v1/models/spirals/versions/2/stage", {
      key: ADMIN,
      body: { stage: "Production" },
    });
    expect(promoted.status).toBe(200);
    const second = await call("POST", "/reload-model?model=spirals", { key: ADMIN });
    expect(await second.json()).toMatchObject({ model: "spirals", version: 2, stage: "Production" });
    expect(forwarded.at(-1)?.target.version).toBe(2);
  });

  it("skips the warm-up when an input has a dynamic dimension past the batch", async () => {
    await registerAndPromote(
      "wide",
      tensorRegistration({
        io: {
          inputs: [{ name: "features", dtype: "float32", shape: ["batch", "features"] }],
          outputs: [{ name: "probabilities", dtype: "float32", shape: ["batch", 2] }],
        },
      }),
    );
    const response = await call("POST", "/reload-model?model=wide", { key: ADMIN });
    expect(await response.json()).toMatchObject({ model: "wide", version: 1, warm_up: null });
  });

  it("fails when the model cannot be served, and names what is wrong", async () => {
    await expectProblem(await call("POST", "/reload-model", { key: ADMIN }), 503);
    await expectProblem(await call("POST", "/reload-model?model=demo-lm", { key: ADMIN }), 400);
    await expectProblem(await call("POST", "/reload-model?model=nope", { key: ADMIN }), 404);
    await expectProblem(await call("POST", "/reload-model?colour=blue", { key: ADMIN }), 400);
    await sendHeartbeat({ worker_id: "failing", url: inject("failingWorkerUrl") });
    await expectProblem(await call("POST", "/reload-model", { key: ADMIN }), 502);
  });

  it("needs admin", async () => {
    await expectProblem(await call("POST", "/reload-model"), 401);
    await expectProblem(await call("POST", "/reload-model", { key: await keyWith(["infer", "models:write"]) }), 403);
  });
});
