/**
 * convertModel on inputs it must refuse, and on small hand-built graphs that pin down what the
 * reference models do not exercise: MatMulNBits' packed layout with a padded last block, Gemm
 * with transB and a bias, float Constants and Casts to float inside an fp16 graph, old opsets.
 */
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { convertModel } from "../src/conversion/convert-model.js";
import { float16BitsToFloat32 } from "../src/conversion/float16.js";
import { INT4_BLOCK_SIZE, quantizeBlockwiseInt4 } from "../src/conversion/quantize-int4.js";
import {
  makeTensor,
  OnnxGraphBuilder,
  type OnnxTypes,
  onnx,
  parseModel,
  readTensorValues,
  serializeModel,
  toNumber,
} from "../src/onnx/onnx-graph-builder.js";
import { createSeededRandom } from "../src/random/seeded-random.js";
import { buildReferenceDecoder } from "../src/reference-models/index.js";
import { floatData, maxAbsDifference } from "./reference-models/reference-decoder-runner.js";

/** The graph of a parsed model, whose protobuf typings leave every field optional. */
function graphOf(model: OnnxTypes.IModelProto): OnnxTypes.IGraphProto {
  if (!model.graph) throw new Error("the model has no graph");
  return model.graph;
}

function expectRefusal(outcome: ReturnType<typeof convertModel>, pattern: RegExp): void {
  expect(outcome.ok).toBe(false);
  if (!outcome.ok) expect(outcome.reason).toMatch(pattern);
}

function gaussian(count: number, seed: number, scale = 1): Float32Array {
  const random = createSeededRandom(seed);
  return Float32Array.from({ length: count }, () => random.gaussian() * scale);
}

/** Row-major [m, k] @ [k, n] in float64. */
function matmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float32Array {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) sum += (a[i * k + p] ?? 0) * (b[p * n + j] ?? 0);
      out[i * n + j] = sum;
    }
  }
  return out;
}

describe("convertModel refuses what it cannot convert, as a value", () => {
  const valid = buildReferenceDecoder().onnx;

  it("empty, truncated and random bytes are not a valid ONNX model", () => {
    expectRefusal(convertModel(new Uint8Array(), "fp16"), /^not a valid ONNX model: the input is empty/);
    expectRefusal(convertModel(valid.subarray(0, Math.floor(valid.length / 2)), "int8"), /^not a valid ONNX model: /);
    expectRefusal(convertModel(valid.subarray(0, 40), "int4"), /^not a valid ONNX model: /);
    const random = createSeededRandom(7);
    for (let attempt = 0; attempt < 20; attempt++) {
      const noise = Uint8Array.from({ length: 4096 }, () => Math.floor(random.next() * 256));
      expectRefusal(convertModel(noise, "fp16"), /^not a valid ONNX model: /);
    }
  });

  it("a model without a graph, or with a graph reading undefined values, is refused", () => {
    const noGraph = serializeModel(
      onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: "", version: 17 }] }),
    );
    expectRefusal(convertModel(noGraph, "fp16"), /has no graph/);
    const model = parseModel(valid);
    graphOf(model).node?.reverse();
    expectRefusal(
      convertModel(serializeModel(model), "int8"),
      /not usable: node 0 .* reads '.*', which is not defined/,
    );
  });

  it("an unknown target is refused before the bytes are read", () => {
    expectRefusal(convertModel(valid, "int2"), /unknown conversion target 'int2' \(expected one of fp16, int8, int4\)/);
  });

  it("int8 refuses a model older than opset 13 instead of changing its opset", () => {
    const graph = new OnnxGraphBuilder({ graphName: "old", opsetVersion: 12 });
    graph.addInput("x", "float32", [1, 32]);
    graph.addFloatInitializer("w", [32, 8], gaussian(256, 1));
    graph.addNode({ opType: "MatMul", inputs: ["x", "w"], outputs: ["y"] });
    graph.addOutput("y", "float32", [1, 8]);
    expectRefusal(convertModel(graph.serialize(), "int8"), /needs opset >= 13 .* imports opset 12/);
  });
});

describe("int4 MatMulNBits layout", () => {
  // K = 40: one full block and one padded with 24 zeros. N = 24.
  const [m, k, n] = [3, 40, 24];
  const weights = gaussian(k * n, 11, 0.1);
  const input = gaussian(m * k, 12);

  function build(gemm: boolean): Uint8Array {
    const graph = new OnnxGraphBuilder({ graphName: "matmul" });
    graph.addInput("x", "float32", [m, k]);
    if (gemm) {
      // Gemm with transB = 1 stores B as [N, K]; a bias C of [N].
      const transposed = Float32Array.from({ length: k * n }, (_, i) => weights[(i % k) * n + Math.floor(i / k)] ?? 0);
      graph.addFloatInitializer("w", [n, k], transposed);
      graph.addFloatInitializer(
        "bias",
        [n],
        Float32Array.from({ length: n }, (_, i) => i / 10),
      );
      graph.addNode({
        opType: "Gemm",
        inputs: ["x", "w", "bias"],
        outputs: ["mm"],
        attributes: { transB: { int: 1 } },
      });
    } else {
      graph.addFloatInitializer("w", [k, n], weights);
      graph.addNode({ opType: "MatMul", inputs: ["x", "w"], outputs: ["mm"] });
    }
    // A layer inside the graph: one that wrote the graph output would be the output projection,
    // which int4 leaves to float16 (see the next test).
    graph.addNode({ opType: "Identity", inputs: ["mm"], outputs: ["y"] });
    graph.addOutput("y", "float32", [m, n]);
    return graph.serialize();
  }

  /** B as MatMulNBits would dequantize it, decoded independently from the packed initializers. */
  function dequantizePacked(model: ReturnType<typeof parseModel>): Float32Array {
    const tensor = (suffix: string) => {
      const found = (graphOf(model).initializer ?? []).find((t) => t.name === `w_int4${suffix}`);
      if (!found) throw new Error(`no initializer w_int4${suffix}`);
      return readTensorValues(found);
    };
    const packed = tensor("");
    const scales = tensor("_scales");
    const zeroPoints = tensor("_zero_points");
    const blocks = Math.ceil(k / INT4_BLOCK_SIZE);
    const out = new Float32Array(k * n);
    for (let column = 0; column < n; column++) {
      for (let row = 0; row < k; row++) {
        const block = Math.floor(row / INT4_BLOCK_SIZE);
        const offset = row % INT4_BLOCK_SIZE;
        const byte = Number(packed[(column * blocks + block) * 16 + (offset >> 1)] ?? 0);
        const q = offset % 2 === 0 ? byte & 0xf : byte >> 4;
        const zpByte = Number(zeroPoints[column * Math.ceil(blocks / 2) + (block >> 1)] ?? 0);
        const zeroPoint = block % 2 === 0 ? zpByte & 0xf : zpByte >> 4;
        out[row * n + column] = (q - zeroPoint) * Number(scales[column * blocks + block] ?? 0);
      }
    }
    return out;
  }

  it.each([
    ["MatMul", false],
    ["Gemm (transB, bias)", true],
  ])("%s with K = 40 runs as MatMulNBits and matches its own packed weights", async (_, gemm) => {
    const outcome = convertModel(build(gemm), "int4");
    if (!outcome.ok) throw new Error(outcome.reason);
    const model = parseModel(outcome.bytes);
    const node = (graphOf(model).node ?? []).find((candidate) => candidate.opType === "MatMulNBits");
    expect(node?.domain).toBe("com.microsoft");
    const attributes = Object.fromEntries((node?.attribute ?? []).map((attr) => [attr.name, toNumber(attr.i)]));
    expect(attributes).toEqual({ K: k, N: n, bits: 4, block_size: 32 });
    expect(model.opsetImport.map((opset) => opset.domain)).toContain("com.microsoft");
    const packed = (graphOf(model).initializer ?? []).find((tensor) => tensor.name === "w_int4");
    expect((packed?.dims ?? []).map(toNumber)).toEqual([n, 2, 16]);

    const session = await ort.InferenceSession.create(outcome.bytes);
    const result = floatData((await session.run({ x: new ort.Tensor("float32", input, [m, k]) })).y);
    const bias = gemm ? (j: number) => j / 10 : () => 0;
    const expected = matmul(input, dequantizePacked(model), m, k, n).map((value, i) => value + bias(i % n));
    expect(maxAbsDifference(result, expected)).toBeLessThan(1e-4);
    // And close to the float32 original: 4-bit steps of ~0.03 over 40 terms of a unit Gaussian.
    const original = matmul(input, weights, m, k, n).map((value, i) => value + bias(i % n));
    expect(maxAbsDifference(result, original)).toBeLessThan(0.25);
  });

  it("quantizes blocks symmetrically: zero point 8, each block's largest |w| exactly at -8", () => {
    const blocks = quantizeBlockwiseInt4(Float32Array.from([0.5, -0.25, 0.125, 0, -1, 0.5, 0.75, 0.25]), 4, 2, false);
    // Column 0 holds 0.5, 0.125, -1, 0.75 (K = 4, padded to one block): scale -1 / -8, q = w / scale + 8.
    expect(Array.from(blocks.scales)).toEqual([0.125, -0.0625]);
    expect(Array.from(blocks.zeroPoints)).toEqual([8, 8]);
    const nibble = (column: number, row: number) =>
      ((blocks.packed[column * 16 + (row >> 1)] ?? 0) >> ((row % 2) * 4)) & 0xf;
    expect([0, 1, 2, 3].map((row) => nibble(0, row))).toEqual([12, 9, 0, 14]);
    // Column 1 (-0.25, 0, 0.5, 0.25): its larger end is positive, so the scale is negative.
    expect([0, 1, 2, 3].map((row) => nibble(1, row))).toEqual([12, 8, 0, 4]);
    // Padding rows hold the zero point.
    expect(nibble(0, 31)).toBe(8);
  });
});

describe("the output projection (a MatMul writing a graph output)", () => {
  const [k, n] = [64, 32];
  const build = () => {
    const graph = new OnnxGraphBuilder({ graphName: "head" });
    graph.addInput("x", "float32", [1, k]);
    graph.addFloatInitializer("hidden", [k, k], gaussian(k * k, 21, 0.1));
    graph.addFloatInitializer("head", [k, n], gaussian(k * n, 22, 0.1));
    graph.addNode({ opType: "MatMul", inputs: ["x", "hidden"], outputs: ["h"] });
    graph.addNode({ opType: "MatMul", inputs: ["h", "head"], outputs: ["logits"] });
    graph.addOutput("logits", "float32", [1, n]);
    return graph.serialize();
  };
  const typeOf = (bytes: Uint8Array, name: string) =>
    (graphOf(parseModel(bytes)).initializer ?? []).find((tensor) => tensor.name === name)?.dataType;
  const { FLOAT, FLOAT16, INT8, UINT8 } = onnx.TensorProto.DataType;

  it.each([
    ["fp16", ["hidden", FLOAT16], ["head", FLOAT]],
    ["int8", ["hidden_int8", INT8], ["head_fp16", FLOAT16]],
    ["int4", ["hidden_int4", UINT8], ["head_fp16", FLOAT16]],
  ] as const)("stays one step more precise than the other layers in %s", async (target, inner, head) => {
    const outcome = convertModel(build(), target);
    if (!outcome.ok) throw new Error(outcome.reason);
    expect(typeOf(outcome.bytes, inner[0])).toBe(inner[1]);
    expect(typeOf(outcome.bytes, head[0])).toBe(head[1]);
    const session = await ort.InferenceSession.create(outcome.bytes);
    const output = await session.run({ x: new ort.Tensor("float32", gaussian(k, 23), [1, k]) });
    expect(output.logits?.type).toBe("float32");
  });
});

describe("fp16 on graphs with constants, casts and declared types", () => {
  it("converts float Constants and Casts to float, updates value_info, keeps I/O float32", async () => {
    const graph = new OnnxGraphBuilder({ graphName: "mixed" });
    graph.addInput("x", "float32", [2, 4]);
    graph.addInput("ids", "int64", [2, 4]);
    graph.addNode({
      opType: "Constant",
      inputs: [],
      outputs: ["offset"],
      attributes: { value: { tensor: makeTensor("", "float32", [4], [0.5, -1, 2, 1e9]) } },
    });
    graph.addNode({ opType: "Cast", inputs: ["ids"], outputs: ["ids_float"], attributes: { to: { int: 1 } } });
    graph.addNode({ opType: "Add", inputs: ["x", "ids_float"], outputs: ["sum"] });
    graph.addNode({ opType: "Mul", inputs: ["sum", "offset"], outputs: ["scaled"] });
    graph.addNode({ opType: "Tanh", inputs: ["scaled"], outputs: ["y"] });
    graph.addOutput("y", "float32", [2, 4]);
    const model = graph.build();
    graphOf(model).valueInfo?.push(onnx.ValueInfoProto.create({ name: "sum", type: { tensorType: { elemType: 1 } } }));

    const outcome = convertModel(serializeModel(model), "fp16");
    if (!outcome.ok) throw new Error(outcome.reason);
    const converted = graphOf(parseModel(outcome.bytes));
    const nodes = converted.node ?? [];
    const constant = nodes.find((node) => node.opType === "Constant")?.attribute?.[0]?.t;
    expect(constant?.dataType).toBe(onnx.TensorProto.DataType.FLOAT16);
    // 1e9 is clamped to the largest finite float16, not turned into infinity.
    const constantBits = readTensorValues(constant ?? {});
    expect(
      Array.from({ length: constantBits.length }, (_, i) => float16BitsToFloat32(Number(constantBits[i]))),
    ).toEqual([0.5, -1, 2, 65504]);
    const castOfIds = nodes.find((node) => node.opType === "Cast" && node.input?.[0] === "ids");
    expect(toNumber(castOfIds?.attribute?.[0]?.i)).toBe(onnx.TensorProto.DataType.FLOAT16);
    const sumInfo = (converted.valueInfo ?? []).find((info) => info.name === "sum");
    expect(sumInfo?.type?.tensorType?.elemType).toBe(onnx.TensorProto.DataType.FLOAT16);
    expect((converted.input ?? []).map((info) => info.type?.tensorType?.elemType)).toEqual([1, 7]);
    expect((converted.output ?? []).map((info) => [info.name, info.type?.tensorType?.elemType])).toEqual([["y", 1]]);

    const session = await ort.InferenceSession.create(outcome.bytes);
    const x = Float32Array.from([0.1, 0.2, -0.3, 0.4, 0.5, -0.6, 0.7, 0.8]);
    const ids = BigInt64Array.from([0n, 1n, 2n, 3n, 1n, 0n, 1n, 0n]);
    const output = await session.run({
      x: new ort.Tensor("float32", x, [2, 4]),
      ids: new ort.Tensor("int64", ids, [2, 4]),
    });
    expect(output.y?.type).toBe("float32");
    const offsets = [0.5, -1, 2, 65504];
    const expected = Float32Array.from(x, (value, i) => Math.tanh((value + Number(ids[i])) * (offsets[i % 4] ?? 0)));
    expect(maxAbsDifference(floatData(output.y), expected)).toBeLessThan(2e-3);
  });
});
