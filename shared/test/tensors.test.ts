import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  batchingDecisionFor,
  checkInputsAgainstContract,
  classScoreOutput,
  decodeJsonData,
  decodeTensorBytes,
  decodeTensorFrame,
  encodeJsonData,
  encodeTensorBytes,
  encodeTensorFrame,
  FrameTensorSchema,
  float16BitsToFloat32,
  float32ToFloat16Bits,
  type IoContract,
  resolveIoContract,
  ServingConfigSchema,
  type V2Datatype,
} from "../src/index.js";

const ok = <T>(result: { ok: true; value: T } | { ok: false; error: unknown }): T => {
  if (!result.ok) throw new Error(String(result.error));
  return result.value;
};
const failure = (result: { ok: boolean; error?: unknown }) => (result.ok ? "ok" : String(result.error));

describe("JSON tensor data", () => {
  const cases: Array<[V2Datatype, unknown[], unknown[]]> = [
    ["BOOL", [true, false], [true, false]],
    ["UINT8", [0, 255], [0, 255]],
    ["UINT16", [0, 65535], [0, 65535]],
    ["UINT32", [0, 4294967295], [0, 4294967295]],
    ["UINT64", [0, 2 ** 53], [0, 2 ** 53]],
    ["INT8", [-128, 127], [-128, 127]],
    ["INT16", [-32768, 32767], [-32768, 32767]],
    ["INT32", [-2147483648, 2147483647], [-2147483648, 2147483647]],
    ["INT64", [-(2 ** 63), 2 ** 53], [-(2 ** 63), 2 ** 53]],
    ["FP16", [1.5, -2, 65504], [1.5, -2, 65504]],
    ["FP32", [0.5, -1.25], [0.5, -1.25]],
    ["FP64", [Math.PI, 1e300], [Math.PI, 1e300]],
    ["BYTES", ["", "héllo"], ["", "héllo"]],
  ];
  it.each(cases)("round-trips %s through JSON and binary", (datatype, data, back) => {
    const values = ok(decodeJsonData(data, datatype, [data.length], "input 'x'"));
    expect(encodeJsonData(values, datatype)).toEqual(back);
    const bytes = encodeTensorBytes(values);
    expect(encodeJsonData(ok(decodeTensorBytes(bytes, datatype, data.length, "input 'x'")), datatype)).toEqual(back);
  });

  it("refuses elements of the wrong kind or range, naming the element", () => {
    const refuse = (datatype: V2Datatype, data: unknown[]) =>
      failure(decodeJsonData(data, datatype, [data.length], "input 'x'"));
    expect(refuse("FP32", [1, "2"])).toContain(`input 'x': element 1 is "2"; FP32 data must be numbers`);
    expect(refuse("UINT8", [256])).toContain("element 0 is 256; UINT8 data must be integers from 0 to 255");
    expect(refuse("INT32", [1.5])).toContain("element 0 is 1.5");
    expect(refuse("INT64", [2 ** 63])).toContain("INT64 data must be integers");
    expect(refuse("UINT64", [-1])).toContain("UINT64");
    expect(refuse("BOOL", [1])).toContain("BOOL data must be true or false");
    expect(refuse("BYTES", [3])).toContain("BYTES data must be strings");
  });

  it("flattens nested data exactly as the shape nests, refusing ragged or short data", () => {
    expect(
      Array.from(
        ok(
          decodeJsonData(
            [
              [1, 2],
              [3, 4],
            ],
            "INT32",
            [2, 2],
            "input 'x'",
          ),
        ) as Int32Array,
      ),
    ).toEqual([1, 2, 3, 4]);
    expect(failure(decodeJsonData([[1, 2], [3]], "INT32", [2, 2], "input 'x'"))).toContain(
      "input 'x': data[1] has 1 elements, but shape [2,2] needs 2 there",
    );
    expect(failure(decodeJsonData([1, 2, 3], "INT32", [2, 2], "input 'x'"))).toContain(
      "has 3 values, but shape [2,2] needs 4",
    );
    expect(failure(decodeJsonData([[[1]], [[2]]], "INT32", [2, 1], "input 'x'"))).toContain("nests deeper");
  });

  it("converts float16 with round-to-nearest-even", () => {
    expect([1, -2, 65504, 1e-8, 70000].map((v) => float16BitsToFloat32(float32ToFloat16Bits(v)))).toEqual([
      1,
      -2,
      65504,
      0,
      Number.POSITIVE_INFINITY,
    ]);
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00);
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(float16BitsToFloat32(0x0001)).toBe(2 ** -24);
  });

  it("checks binary sizes, and BYTES elements' lengths", () => {
    expect(failure(decodeTensorBytes(new Uint8Array(7), "FP32", 2, "input 'x'"))).toContain(
      "7 bytes of data, but 2 FP32 elements take 8",
    );
    const bytes = encodeTensorBytes(["ab", "c"]);
    expect(failure(decodeTensorBytes(bytes, "BYTES", 3, "input 'x'"))).toContain("holds 2 BYTES elements");
    expect(failure(decodeTensorBytes(bytes.subarray(0, 5), "BYTES", 2, "input 'x'"))).toContain(
      "says 2 bytes, more than are left",
    );
    expect(failure(decodeTensorBytes(bytes.subarray(0, 8), "BYTES", 2, "input 'x'"))).toContain("cut short");
  });
});

describe("tensor frames", () => {
  const Header = z.strictObject({ tensors: z.array(FrameTensorSchema) });
  it("carries a header and tensors, and refuses frames that do not add up", () => {
    const bytes = [new Uint8Array([1, 2, 3, 4]), new Uint8Array([9])];
    const header = {
      tensors: [
        { name: "a", datatype: "UINT8", shape: [4], byte_size: 4 },
        { name: "b", datatype: "UINT8", shape: [1], byte_size: 1 },
      ],
    };
    const frame = encodeTensorFrame(header, bytes);
    const decoded = ok(decodeTensorFrame(frame, Header, (h) => h.tensors));
    expect(decoded.header).toEqual(header);
    expect(decoded.tensors.map((t) => Array.from(t))).toEqual([[1, 2, 3, 4], [9]]);
    expect(failure(decodeTensorFrame(frame.subarray(0, frame.length - 1), Header, (h) => h.tensors))).toContain(
      "more than the frame has left",
    );
    expect(
      failure(decodeTensorFrame(encodeTensorFrame(header, [...bytes, new Uint8Array(2)]), Header, (h) => h.tensors)),
    ).toContain("2 bytes no tensor claims");
    expect(failure(decodeTensorFrame(new Uint8Array([255, 255, 0, 0]), Header, (h) => h.tensors))).toContain(
      "header length",
    );
  });
});

const IMAGE: IoContract = {
  inputs: [{ name: "image", dtype: "uint8", shape: ["N", 3, "height", "width"] }],
  outputs: [{ name: "logits", dtype: "float32", shape: ["N", 3] }],
};
const TOKENS: IoContract = {
  inputs: [
    { name: "ids", dtype: "int64", shape: ["batch", "sequence"] },
    { name: "mask", dtype: "int64", shape: ["batch", "sequence"] },
  ],
  outputs: [{ name: "embedding", dtype: "float32", shape: ["batch", 16] }],
};

describe("checkInputsAgainstContract", () => {
  const check = (io: IoContract, inputs: Array<{ name: string; datatype: V2Datatype; shape: number[] }>) =>
    checkInputsAgainstContract({ name: "m", io }, inputs);
  it("names the input and the dimension at fault", () => {
    expect(check(IMAGE, [{ name: "image", datatype: "UINT8", shape: [2, 3, 8, 8] }]).ok).toBe(true);
    expect(failure(check(IMAGE, [{ name: "image", datatype: "UINT8", shape: [2, 4, 8, 8] }]))).toContain(
      "input 'image' has shape [2,4,8,8], but model 'm' expects [-1,3,-1,-1]: dimension 1 is 4, not 3",
    );
    expect(failure(check(IMAGE, [{ name: "image", datatype: "FP32", shape: [2, 3, 8, 8] }]))).toContain(
      "has datatype FP32, but model 'm' expects UINT8",
    );
    expect(failure(check(TOKENS, [{ name: "ids", datatype: "INT64", shape: [1, 5] }]))).toContain(
      "missing 'mask' (INT64 [-1,-1])",
    );
    expect(
      failure(
        check(TOKENS, [
          { name: "ids", datatype: "INT64", shape: [1, 5] },
          { name: "mask", datatype: "INT64", shape: [1, 7] },
        ]),
      ),
    ).toContain("input 'mask' has shape [1,7]: dimension 1 ('sequence') is 7, but input 'ids' has 5 there");
    expect(failure(check(IMAGE, [{ name: "image", datatype: "UINT8", shape: [0, 3, 8, 8] }]))).toContain(
      "holds no values",
    );
  });

  it("knows a classifier's class scores, and which models batch", () => {
    expect(classScoreOutput(IMAGE)?.name).toBe("logits");
    expect(classScoreOutput(TOKENS)).toBeUndefined();
    expect(batchingDecisionFor({ io: IMAGE })).toMatchObject({ on: true, policy: { maxBatchSize: 64 } });
    const state: IoContract = {
      inputs: [{ name: "state", dtype: "float32", shape: [2, "batch", 128] }],
      outputs: [{ name: "out", dtype: "float32", shape: [2, "batch", 128] }],
    };
    expect(batchingDecisionFor({ io: state }).on).toBe(false);
    expect(batchingDecisionFor({ io: IMAGE, serving: { max_batch_size: 0 } }).on).toBe(false);
    expect(
      batchingDecisionFor({
        io: IMAGE,
        serving: { max_batch_size: 8, dynamic_batching: { preferred_batch_sizes: [8, 4], max_queue_delay_us: 500 } },
      }),
    ).toEqual({ on: true, policy: { maxBatchSize: 8, maxQueueDelayUs: 500, preferredBatchSizes: [4, 8] } });
    expect(
      ServingConfigSchema.safeParse({ max_batch_size: 4, dynamic_batching: { preferred_batch_sizes: [8] } }).success,
    ).toBe(false);
  });
});

describe("resolveIoContract", () => {
  const file = { ok: true as const, io: IMAGE, irVersion: 8 };
  it("takes the file's contract, or a declared one that agrees with it (and may fix dynamic dimensions)", () => {
    expect(ok(resolveIoContract("tensor", undefined, file))).toEqual({ io: IMAGE, source: "artifact" });
    const narrowed: IoContract = {
      ...IMAGE,
      inputs: [{ name: "image", dtype: "uint8", shape: ["batch", 3, 224, 224] }],
    };
    expect(ok(resolveIoContract("tensor", narrowed, file))).toEqual({ io: narrowed, source: "artifact" });
    expect(ok(resolveIoContract("tensor", IMAGE, { ok: false, reason: "not onnx" }))).toEqual({
      io: IMAGE,
      source: "declared",
    });
  });

  it("refuses a declared contract that contradicts the file, naming the field", () => {
    const refused = (declared: IoContract) => {
      const result = resolveIoContract("tensor", declared, file);
      return result.ok ? [] : (result.error.fieldErrors ?? []).map((problem) => problem.field);
    };
    expect(refused({ ...IMAGE, inputs: [{ name: "image", dtype: "float32", shape: ["N", 3, "h", "w"] }] })).toEqual([
      "io.inputs.0.dtype",
    ]);
    expect(refused({ ...IMAGE, inputs: [{ name: "image", dtype: "uint8", shape: ["N", 4, "h", "w"] }] })).toEqual([
      "io.inputs.0.shape.1",
    ]);
    expect(refused({ ...IMAGE, outputs: [{ name: "probabilities", dtype: "float32", shape: ["N", 3] }] })).toEqual([
      "io.outputs.0.name",
    ]);
    expect(
      refused({ inputs: [...IMAGE.inputs, { name: "extra", dtype: "float32", shape: [1] }], outputs: IMAGE.outputs }),
    ).toEqual(["io.inputs.1.name"]);
    const missing = resolveIoContract("tensor", undefined, { ok: false, reason: "no ONNX graph found" });
    expect(missing.ok ? [] : missing.error.fieldErrors?.map((problem) => problem.field)).toEqual(["io"]);
  });
});
