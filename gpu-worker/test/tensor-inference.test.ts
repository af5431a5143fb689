import { type ModelVersion, PROBLEM_CONTENT_TYPE, signRequest } from "@modelgate/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ALL_DTYPES,
  buildDemoLm,
  buildDtypeEcho,
  buildImageClassifier,
  buildMixedInputRanker,
  buildStatefulCell,
  CELL_HIDDEN,
  cellReference,
  rankerReference,
} from "../src/reference-models/index.js";
import { type LocalS3, startLocalS3 } from "./support/local-s3.js";
import { uploadReferenceModel } from "./support/model-version.js";
import { inferFrame, postFrame, readInferAnswer, type SentTensor, signedInfer } from "./support/tensor-frames.js";
import { startTestWorker, type TestWorker } from "./support/test-worker.js";

// The worker's tensor route against real onnxruntime sessions on inference threads: the
// reference models built for it (Conv image classifier in float32 and uint8, two inputs of
// different datatypes, a stateful cell, one Identity per datatype), dynamic batching, and refusals.

let s3: LocalS3;
let worker: TestWorker;
const versions: Record<string, ModelVersion> = {};

/** A solid-colour image [3, size, size] in [0, 1] (or 0–255), brightest in `channel`. */
function solidImage(channel: number, size: number, scale = 1): number[] {
  return Array.from(
    { length: 3 * size * size },
    (_, i) => (Math.floor(i / (size * size)) === channel ? 0.9 : 0.1) * scale,
  );
}

beforeAll(async () => {
  s3 = await startLocalS3();
  worker = await startTestWorker(s3);
  for (const built of [
    buildImageClassifier(),
    buildImageClassifier({ pixels: "uint8" }),
    buildImageClassifier({ hiddenLayers: { width: 64, count: 2 } }),
    buildMixedInputRanker(),
    buildStatefulCell(),
    buildDtypeEcho(),
    buildDemoLm(),
  ]) {
    versions[built.name] = await uploadReferenceModel(s3, built);
  }
});

afterAll(async () => {
  await worker?.close();
  await s3?.close();
});

const VALUES: Record<(typeof ALL_DTYPES)[number], SentTensor["values"]> = {
  bool: Uint8Array.from([1, 0, 0, 1]),
  uint8: Uint8Array.from([0, 255, 7, 128]),
  uint16: Uint16Array.from([0, 65535, 300, 1]),
  uint32: Uint32Array.from([0, 4294967295, 70000, 1]),
  uint64: BigUint64Array.from([0n, 18446744073709551615n, 1n, 2n ** 40n]),
  int8: Int8Array.from([-128, 127, 0, -1]),
  int16: Int16Array.from([-32768, 32767, 0, -1]),
  int32: Int32Array.from([-2147483648, 2147483647, 0, -1]),
  int64: BigInt64Array.from([-9223372036854775808n, 9223372036854775807n, 0n, -1n]),
  float16: Uint16Array.from([0x3c00, 0xc000, 0x7bff, 0x0001]),
  float32: Float32Array.from([1.5, -2.25, 3.4e38, 1e-45]),
  float64: Float64Array.from([Math.PI, -Math.E, 1e308, 5e-324]),
  string: ["", "héllo", "a b", "🙂"],
};
const DATATYPE_OF = {
  bool: "BOOL",
  uint8: "UINT8",
  uint16: "UINT16",
  uint32: "UINT32",
  uint64: "UINT64",
  int8: "INT8",
  int16: "INT16",
  int32: "INT32",
  int64: "INT64",
  float16: "FP16",
  float32: "FP32",
  float64: "FP64",
  string: "BYTES",
} as const;
function echoInputs(overrides: Partial<Record<(typeof ALL_DTYPES)[number], SentTensor["values"]>> = {}): SentTensor[] {
  return ALL_DTYPES.map((dtype) => ({
    name: `x_${dtype}`,
    datatype: DATATYPE_OF[dtype],
    shape: [2, 2],
    values: overrides[dtype] ?? VALUES[dtype],
  }));
}

/** Every value close to the expected one, to `digits` decimals. */
function expectClose(actual: unknown, expected: readonly number[], digits: number): void {
  const values = Array.from(actual as ArrayLike<number>);
  expect(values).toHaveLength(expected.length);
  for (const [i, value] of values.entries()) expect(value).toBeCloseTo(expected[i] ?? Number.NaN, digits);
}

const target = (name: string): ModelVersion => {
  const version = versions[name];
  if (!version) throw new Error(`${name} was not uploaded`);
  return version;
};

describe("POST /v1/infer", () => {
  it("classifies [N,3,H,W] images by their dominant colour, from float32 and from uint8 pixels", async () => {
    const size = 6;
    const images = [0, 1, 2].flatMap((channel) => solidImage(channel, size));
    const float = await signedInfer(worker.url, target("tiny-convnet"), [
      { name: "image", datatype: "FP32", shape: [3, 3, size, size], values: Float32Array.from(images) },
    ]);
    expect(float.status, JSON.stringify(float.problem)).toBe(200);
    const logits = float.outputs.get("logits");
    expect(logits?.tensor).toMatchObject({ datatype: "FP32", shape: [3, 3] });
    const logitValues = Array.from((logits?.values ?? []) as ArrayLike<number>);
    const rows = Array.from({ length: 3 }, (_, r) => logitValues.slice(r * 3, r * 3 + 3));
    expect(rows.map((row) => row.indexOf(Math.max(...row)))).toEqual([0, 1, 2]);

    const pixels = Uint8Array.from(images, (v) => Math.round(v * 255));
    const uint8 = await signedInfer(worker.url, target("tiny-convnet-u8"), [
      { name: "image", datatype: "UINT8", shape: [3, 3, size, size], values: pixels },
    ]);
    // The same image, scaled in the graph: the same logits up to the pixels' rounding to 0–255.
    expectClose(uint8.outputs.get("logits")?.values, rows.flat(), 1);
    expect(uint8.header).toMatchObject({ model: "tiny-convnet-u8", worker_id: "test-worker", batch_size: 3 });

    // The benchmark's variant with a fully connected head keeps the colour features through it.
    const wide = await signedInfer(worker.url, target("convnet-wide-head"), [
      { name: "image", datatype: "FP32", shape: [3, 3, size, size], values: Float32Array.from(images) },
    ]);
    const wideLogits = Array.from((wide.outputs.get("logits")?.values ?? []) as ArrayLike<number>);
    const wideRows = Array.from({ length: 3 }, (_, r) => wideLogits.slice(r * 3, r * 3 + 3));
    expect(wideRows.map((row) => row.indexOf(Math.max(...row)))).toEqual([0, 1, 2]);
  });

  it("feeds two inputs of different datatypes and returns a float and an int64 output", async () => {
    const features = Float32Array.from([0.5, -1, 0.25, 2, -0.5, 0.3, 1, 0]);
    const category = BigInt64Array.from([3n, 0n]);
    const answer = await signedInfer(worker.url, target("mixed-ranker"), [
      { name: "features", datatype: "FP32", shape: [2, 4], values: features },
      { name: "category", datatype: "INT64", shape: [2], values: category },
    ]);
    expect(answer.status, JSON.stringify(answer.problem)).toBe(200);
    const expected = rankerReference(features, [3, 0]);
    expectClose(answer.outputs.get("scores")?.values, expected.flat(), 4);
    expect(answer.outputs.get("best")?.tensor).toMatchObject({ datatype: "INT64", shape: [2] });
    expect(Array.from(answer.outputs.get("best")?.values as BigInt64Array, Number)).toEqual(
      expected.map((row) => row.indexOf(Math.max(...row))),
    );
    const only = await signedInfer(
      worker.url,
      target("mixed-ranker"),
      [
        { name: "features", datatype: "FP32", shape: [2, 4], values: features },
        { name: "category", datatype: "INT64", shape: [2], values: category },
      ],
      ["best"],
    );
    expect([...only.outputs.keys()]).toEqual(["best"]);
  });

  it("runs a stateful cell step by step, the state it returns fed back in", async () => {
    let state = new Float32Array(CELL_HIDDEN);
    let reference = { state: new Array<number>(CELL_HIDDEN).fill(0), output: [] as number[] };
    for (const input of [
      [1, 0, 0, 0],
      [0, 1, 0, -1],
      [0.5, 0.5, 0.5, 0.5],
    ]) {
      const answer = await signedInfer(worker.url, target("state-cell"), [
        { name: "input", datatype: "FP32", shape: [1, 4], values: Float32Array.from(input) },
        { name: "state", datatype: "FP32", shape: [1, 1, CELL_HIDDEN], values: state },
      ]);
      expect(answer.status, JSON.stringify(answer.problem)).toBe(200);
      reference = cellReference(input, reference.state);
      const next = answer.outputs.get("state_out");
      expect(next?.tensor.shape).toEqual([1, 1, CELL_HIDDEN]);
      expectClose(next?.values, reference.state, 5);
      expectClose(answer.outputs.get("output")?.values, reference.output, 5);
      state = Float32Array.from(next?.values as Float32Array);
    }
  });

  it("returns every datatype exactly as it was sent (Identity per datatype)", async () => {
    const answer = await signedInfer(worker.url, target("dtype-echo"), echoInputs());
    expect(answer.status, JSON.stringify(answer.problem)).toBe(200);
    for (const dtype of ALL_DTYPES) {
      const output = answer.outputs.get(`y_${dtype}`);
      expect(output?.tensor, dtype).toMatchObject({ datatype: DATATYPE_OF[dtype], shape: [2, 2] });
      expect(Array.from(output?.values as ArrayLike<unknown>), dtype).toEqual(
        Array.from(VALUES[dtype] as ArrayLike<unknown>),
      );
    }
  });

  it("stacks concurrent requests into batches and answers each with its own rows", async () => {
    const size = 4;
    const requests = Array.from({ length: 24 }, (_, i) => {
      const rows = 1 + (i % 3);
      const images = Array.from({ length: rows }, (_, r) => solidImage((i + r) % 3, size)).flat();
      return { rows, channels: Array.from({ length: rows }, (_, r) => (i + r) % 3), images };
    });
    const alone = await Promise.all(
      requests.slice(0, 1).map((request) =>
        signedInfer(worker.url, target("tiny-convnet"), [
          {
            name: "image",
            datatype: "FP32",
            shape: [request.rows, 3, size, size],
            values: Float32Array.from(request.images),
          },
        ]),
      ),
    );
    expect(alone[0]?.header?.batch_size).toBe(requests[0]?.rows);
    // 50 ms for a batch to gather: on a loaded machine the 24 requests arrive spread out, and with
    // the default 100 µs each could run alone before the next one came.
    const convnet = target("tiny-convnet");
    const patient: ModelVersion = {
      ...convnet,
      serving: { ...convnet.serving, dynamic_batching: { max_queue_delay_us: 50_000 } },
    };
    const answers = await Promise.all(
      requests.map((request) =>
        signedInfer(worker.url, patient, [
          {
            name: "image",
            datatype: "FP32",
            shape: [request.rows, 3, size, size],
            values: Float32Array.from(request.images),
          },
        ]),
      ),
    );
    answers.forEach((answer, i) => {
      const request = requests[i];
      expect(answer.status).toBe(200);
      const logits = answer.outputs.get("logits");
      expect(logits?.tensor.shape).toEqual([request?.rows, 3]);
      const values = Array.from(logits?.values as Float32Array);
      const classes = Array.from({ length: request?.rows ?? 0 }, (_, r) => {
        const row = values.slice(r * 3, r * 3 + 3);
        return row.indexOf(Math.max(...row));
      });
      expect(classes).toEqual(request?.channels);
    });
    // The first request ran alone; the rest went in batches of several requests.
    expect(Math.max(...answers.map((answer) => answer.header?.batch_size ?? 0))).toBeGreaterThan(3);
  });

  it("runs the stateful cell unbatched: its first dimension is not a batch dimension", async () => {
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        signedInfer(worker.url, target("state-cell"), [
          { name: "input", datatype: "FP32", shape: [1, 4], values: new Float32Array(4) },
          { name: "state", datatype: "FP32", shape: [1, 1, CELL_HIDDEN], values: new Float32Array(CELL_HIDDEN) },
        ]),
      ),
    );
    expect(answers.map((answer) => answer.header?.batch_size)).toEqual(new Array(8).fill(1));
  });

  it("refuses tensors that do not fit the contract with 400 naming the input and dimension", async () => {
    const image = (shape: number[]): SentTensor => ({
      name: "image",
      datatype: "FP32",
      shape,
      values: new Float32Array(shape.reduce((a, b) => a * b, 1)),
    });
    const cases: Array<[SentTensor[], string]> = [
      [
        [image([1, 4, 2, 2])],
        "input 'image' has shape [1,4,2,2], but model 'tiny-convnet' expects [-1,3,-1,-1]: dimension 1 is 4, not 3",
      ],
      [[image([1, 3, 2])], "3 dimensions, not 4"],
      [
        [{ ...image([1, 3, 2, 2]), datatype: "UINT8", values: new Uint8Array(12) }],
        "has datatype UINT8, but model 'tiny-convnet' expects FP32",
      ],
      [[{ ...image([1, 3, 2, 2]), name: "pixels" }], "unexpected inference input 'pixels'"],
    ];
    for (const [inputs, message] of cases) {
      const answer = await signedInfer(worker.url, target("tiny-convnet"), inputs);
      expect(answer.status, message).toBe(400);
      expect(answer.problem?.detail).toContain(message);
    }
    const wrongBytes = inferFrame(target("tiny-convnet"), [image([1, 3, 2, 2])]);
    // Claims 48 bytes for a [1,3,2,2] float tensor but the header says 44: the frame does not add up.
    const header = new DataView(wrongBytes.buffer).getUint32(0, true);
    const truncated = wrongBytes.slice(0, 4 + header + 44);
    expect((await readInferAnswer(await postFrame(worker.url, truncated))).status).toBe(400);
    const unknown = await signedInfer(worker.url, target("tiny-convnet"), [image([1, 3, 2, 2])], ["nope"]);
    expect(unknown.status).toBe(400);
    const nul = await signedInfer(worker.url, target("dtype-echo"), echoInputs({ string: ["ok", "a\u0000b", "", ""] }));
    expect([nul.status, nul.problem?.detail]).toEqual([
      400,
      expect.stringContaining("BYTES element 1 contains a zero byte"),
    ]);
    const lm = await signedInfer(worker.url, target("demo-lm"), [
      { name: "input_ids", datatype: "INT64", shape: [1, 2], values: new BigInt64Array(2) },
    ]);
    expect([lm.status, lm.problem?.detail]).toEqual([400, expect.stringContaining("/v1/generate")]);
  });

  it("answers 400 (not 500) when the runtime refuses a value, and only that request fails in a batch", async () => {
    const call = (category: bigint) =>
      signedInfer(worker.url, target("mixed-ranker"), [
        { name: "features", datatype: "FP32", shape: [1, 4], values: new Float32Array(4) },
        { name: "category", datatype: "INT64", shape: [1], values: BigInt64Array.from([category]) },
      ]);
    const answers = await Promise.all([call(1n), call(99n), call(2n), call(4n)]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 400, 200, 200]);
    expect(answers[1]?.problem?.detail).toContain("mixed-ranker@1 refused these inputs");
  });

  it("refuses an unsigned frame with 401", async () => {
    const body = inferFrame(target("tiny-convnet"), [
      { name: "image", datatype: "FP32", shape: [1, 3, 1, 1], values: new Float32Array(3) },
    ]);
    const response = await fetch(`${worker.url}/v1/infer`, { method: "POST", body });
    expect(response.status).toBe(401);
    expect(response.headers.get("content-type")).toContain(PROBLEM_CONTENT_TYPE);
    const signature = await signRequest("another-secret-0123456789abcdef", {
      method: "POST",
      pathWithQuery: "/v1/infer",
      body,
    });
    expect((await fetch(`${worker.url}/v1/infer`, { method: "POST", headers: signature, body })).status).toBe(401);
  });
});
