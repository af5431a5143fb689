import { type OnnxIoReading, OnnxIoScanner, readOnnxIoByRanges } from "@modelgate/shared";
import { describe, expect, it } from "vitest";
import { extractModelContract } from "../src/conversion/model-contract.js";
import { makeValueInfo, OnnxGraphBuilder, onnx, parseModel, serializeModel } from "../src/onnx/onnx-graph-builder.js";
import { createSeededRandom } from "../src/random/seeded-random.js";
import {
  type BuiltReferenceModel,
  buildDtypeEcho,
  buildReferenceModels,
  buildTensorReferenceModels,
} from "../src/reference-models/index.js";
import { modelVersionFor } from "./support/model-version.js";

// shared's streaming ONNX io reader (what the edge runs on an artifact while it hashes it) against
// onnx-proto's full decode of the same files, as model-contract.ts reads them.

const ARTIFACT = {
  uri: "s3://modelgate-models/artifacts/sha256/x",
  sha256: "0".repeat(64),
  bytes: 1,
  format: "onnx",
} as const;

function contractIo(built: BuiltReferenceModel) {
  const extraction = extractModelContract(built.onnx, modelVersionFor(built, ARTIFACT), "fp32", {}, 1);
  if (!extraction.ok) throw new Error(extraction.error.message);
  return { inputs: extraction.value.contract.inputs, outputs: extraction.value.contract.outputs };
}

function readInChunks(bytes: Uint8Array, sizes: () => number): OnnxIoReading {
  const scanner = new OnnxIoScanner();
  for (let offset = 0; offset < bytes.length && !scanner.done; ) {
    const size = sizes();
    scanner.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return scanner.finish();
}

const models = [...buildReferenceModels(), ...buildTensorReferenceModels(), buildDtypeEcho()];

describe("OnnxIoScanner", () => {
  it.each(models.map((built) => [built.name, built] as const))(
    "reads %s's inputs and outputs as onnx-proto does",
    (_name, built) => {
      const expected = contractIo(built);
      expect(readInChunks(built.onnx, () => built.onnx.length)).toEqual({ ok: true, io: expected, irVersion: 8 });
      const random = createSeededRandom(built.onnx.length);
      // Chunk boundaries inside varints, tags and kept messages change nothing.
      expect(readInChunks(built.onnx, () => 1 + random.int(97))).toEqual({ ok: true, io: expected, irVersion: 8 });
      // The declared io of every reference model is what its graph says.
      expect(expected).toEqual(built.registration.io);
    },
  );

  it("reads a model's io with range requests that hop over its weights", async () => {
    const [decoder] = buildReferenceModels().filter((built) => built.name === "ref-decoder");
    if (!decoder) throw new Error("no ref-decoder");
    const bytes = decoder.onnx;
    const reading = await readOnnxIoByRanges(
      async (offset, length) => bytes.slice(offset, offset + length),
      bytes.length,
      4096,
    );
    expect(reading).toMatchObject({ ok: true, io: contractIo(decoder) });
    // Nodes and the io are read; the weights are not.
    expect(reading.bytesFetched).toBeLessThan(bytes.length / 4);
    expect(reading.requests).toBeGreaterThan(1);
  });

  it("leaves out inputs that are initializers (how models before IR 4 list their weights)", () => {
    const graph = new OnnxGraphBuilder({ graphName: "old-style", irVersion: 3, opsetVersion: 9 });
    graph.addInput("x", "float32", ["batch", 2]);
    const weight = graph.addFloatInitializer("w", [2, 2], [1, 0, 0, 1]);
    graph.addNode({ opType: "MatMul", inputs: ["x", weight], outputs: ["y"] });
    graph.addOutput("y", "float32", ["batch", 2]);
    const model = parseModel(graph.serialize());
    model.graph?.input?.push(makeValueInfo("w", "float32", [2, 2]));
    const reading = readInChunks(serializeModel(model), () => 64);
    expect(reading).toEqual({
      ok: true,
      irVersion: 3,
      io: {
        inputs: [{ name: "x", dtype: "float32", shape: ["batch", 2] }],
        outputs: [{ name: "y", dtype: "float32", shape: ["batch", 2] }],
      },
    });
  });

  it("says why a file is not a model it can read", () => {
    const read = (bytes: Uint8Array) => readInChunks(bytes, () => 1000);
    const [spirals] = buildReferenceModels().filter((built) => built.name === "spirals");
    if (!spirals) throw new Error("no spirals");
    const reason = (reading: OnnxIoReading) => (reading.ok ? "ok" : reading.reason);
    expect(reason(read(new Uint8Array()))).toContain("no ONNX graph found");
    expect(reason(read(new TextEncoder().encode('{"not": "onnx"}')))).toContain("not a readable ONNX model");
    expect(reason(read(new TextEncoder().encode("modelgate edge test artifact\n".repeat(40))))).toMatch(
      /not a readable ONNX model|no ONNX graph/,
    );
    expect(reason(read(spirals.onnx.subarray(0, Math.floor(spirals.onnx.length * 0.9))))).toMatch(/truncated/);

    const graph = new OnnxGraphBuilder({ graphName: "odd" });
    graph.addInput("x", "float32", ["batch", 2]);
    graph.addNode({ opType: "Identity", inputs: ["x"], outputs: ["y"] });
    graph.addOutput("y", "float32", ["batch", 2]);
    const bfloat = parseModel(graph.serialize());
    const input = bfloat.graph?.input?.[0]?.type?.tensorType;
    if (input) input.elemType = onnx.TensorProto.DataType.BFLOAT16;
    expect(reason(read(serializeModel(bfloat)))).toContain("graph input x has BFLOAT16");
    const sequence = parseModel(graph.serialize());
    const output = sequence.graph?.output?.[0];
    if (output) output.type = { sequenceType: { elemType: { tensorType: { elemType: 1 } } } };
    expect(reason(read(serializeModel(sequence)))).toContain("graph output y is a sequence");
  });
});
