import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_OPSET_VERSION,
  encodeRawData,
  OnnxGraphBuilder,
  onnx,
  parseModel,
  readTensorValues,
  tensorDims,
  toNumber,
} from "../../src/onnx/onnx-graph-builder.js";

function buildAffine(): OnnxGraphBuilder {
  const graph = new OnnxGraphBuilder({ graphName: "affine" });
  graph.addInput("x", "float32", ["batch", 3]);
  graph.addFloatInitializer("w", [3, 2], [1, 0, 0, 1, 1, 1]);
  graph.addFloatInitializer("b", [2], Float32Array.of(0.5, -0.5));
  const product = graph.op("MatMul", ["x", "w"]);
  graph.addNode({ opType: "Add", inputs: [product, "b"], outputs: ["y"] });
  graph.addOutput("y", "float32", ["batch", 2]);
  return graph;
}

describe("OnnxGraphBuilder", () => {
  it("writes a model header with opset 17 and producer modelgate", () => {
    const model = parseModel(buildAffine().serialize());
    expect(model.producerName).toBe("modelgate");
    expect(toNumber(model.irVersion)).toBe(8);
    expect(model.opsetImport.map((o) => [o.domain, toNumber(o.version)])).toEqual([["", DEFAULT_OPSET_VERSION]]);
    expect(DEFAULT_OPSET_VERSION).toBe(17);
  });

  it("declares fixed and symbolic dimensions", () => {
    const model = parseModel(buildAffine().serialize());
    const input = model.graph?.input?.[0];
    expect(input?.name).toBe("x");
    expect(input?.type?.tensorType?.elemType).toBe(onnx.TensorProto.DataType.FLOAT);
    const dims = input?.type?.tensorType?.shape?.dim ?? [];
    expect(dims.map((d) => d.dimParam || toNumber(d.dimValue))).toEqual(["batch", 3]);
  });

  it("stores initializers as little-endian raw_data and reads them back", () => {
    const graph = new OnnxGraphBuilder({ graphName: "tensors" });
    graph.addInput("x", "float32", [1]);
    graph.addFloatInitializer("f", [2, 2], [1.5, -2, 0.25, 3]);
    graph.addInt64Initializer("i", [3], [-1n, 2n ** 40n, 7n]);
    graph.addInt64Initializer("scalar", [], [-1]);
    graph.addNode({ opType: "Identity", inputs: ["x"], outputs: ["y"] });
    graph.addOutput("y", "float32", [1]);
    const [f, i, scalar] = parseModel(graph.serialize()).graph?.initializer ?? [];
    expect(f && tensorDims(f)).toEqual([2, 2]);
    expect(f?.rawData).toEqual(encodeRawData("float32", [1.5, -2, 0.25, 3]));
    // 1.5f is 0x3fc00000: little-endian puts the low byte first.
    expect([...(f?.rawData ?? []).slice(0, 4)]).toEqual([0x00, 0x00, 0xc0, 0x3f]);
    expect(f && [...readTensorValues(f)]).toEqual([1.5, -2, 0.25, 3]);
    expect(i && [...readTensorValues(i)]).toEqual([-1n, 2n ** 40n, 7n]);
    expect(scalar && tensorDims(scalar)).toEqual([]);
    expect(scalar && [...readTensorValues(scalar)]).toEqual([-1n]);
  });

  it("writes attributes with their types, in insertion order", () => {
    const graph = new OnnxGraphBuilder({ graphName: "attributes" });
    graph.addInput("x", "float32", [2]);
    graph.addNode({
      opType: "Custom",
      domain: "test",
      inputs: ["x"],
      outputs: ["y"],
      attributes: { a: { int: -1 }, b: { float: 0.5 }, c: { ints: [1, 2] }, d: { floats: [0.25] }, e: { string: "s" } },
    });
    graph.addOutput("y", "float32", [2]);
    const attributes = parseModel(graph.serialize()).graph?.node?.[0]?.attribute ?? [];
    const { AttributeType } = onnx.AttributeProto;
    expect(attributes.map((a) => [a.name, a.type])).toEqual([
      ["a", AttributeType.INT],
      ["b", AttributeType.FLOAT],
      ["c", AttributeType.INTS],
      ["d", AttributeType.FLOATS],
      ["e", AttributeType.STRING],
    ]);
    expect(toNumber(attributes[0]?.i)).toBe(-1);
    expect((attributes[2]?.ints ?? []).map((v) => toNumber(v))).toEqual([1, 2]);
  });

  it("rejects duplicate value names and tensors whose size does not match their dims", () => {
    const graph = new OnnxGraphBuilder({ graphName: "bad" });
    graph.addInput("x", "float32", [1]);
    expect(() => graph.addFloatInitializer("x", [1], [0])).toThrow(/already defined/);
    expect(() => graph.addFloatInitializer("w", [2, 2], [0, 1, 2])).toThrow(/4 expected/);
  });

  it("serializes the same calls to the same bytes", () => {
    expect(buildAffine().serialize()).toEqual(buildAffine().serialize());
  });

  it("produces a model ONNX Runtime can run", async () => {
    const session = await ort.InferenceSession.create(buildAffine().serialize());
    const result = await session.run({ x: new ort.Tensor("float32", Float32Array.of(1, 2, 3, -1, 0, 1), [2, 3]) });
    expect(result.y?.dims).toEqual([2, 2]);
    // [1,2,3]·w = [1+3, 2+3] + b; [-1,0,1]·w = [-1+1, 0+1] + b.
    expect([...((result.y?.data as Float32Array | undefined) ?? [])]).toEqual([4.5, 4.5, 0.5, 0.5]);
  });
});
