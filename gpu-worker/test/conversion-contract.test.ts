/**
 * Seed 001's contract, shape enumeration and source gates, and seed 000's deployment files, on the
 * reference models run by the real onnxruntime-node.
 */
import {
  type Artifact,
  DeploymentManifestSchema,
  ModelContractSchema,
  type ModelVersion,
  RuntimeConfigSchema,
} from "@modelgate/shared";
import { describe, expect, it } from "vitest";
import { buildDeploymentFiles, buildRuntimeConfig } from "../src/conversion/deployment-files.js";
import { extractModelContract } from "../src/conversion/model-contract.js";
import { enumerateShapes } from "../src/conversion/shape-enumeration.js";
import { sha256Hex, verifySourceModel } from "../src/conversion/verification-gates.js";
import { OnnxGraphBuilder, parseModel, serializeModel } from "../src/onnx/onnx-graph-builder.js";
import { createSeededRandom } from "../src/random/seeded-random.js";
import {
  type BuiltReferenceModel,
  buildDemoLm,
  buildReferenceDecoder,
  buildSpiralsClassifier,
  hfTokenizerSpec,
} from "../src/reference-models/index.js";
import { modelVersionFor } from "./support/model-version.js";

const sessionOptions = { intraOpNumThreads: 1 };
const NOW = new Date("2026-02-01T00:00:00.000Z");
const refDecoder = buildReferenceDecoder();
const refDecoderNoHalt = buildReferenceDecoder({ haltHead: false });
const spirals = buildSpiralsClassifier();
const demoLm = buildDemoLm();

function artifactOf(built: BuiltReferenceModel): Artifact {
  const sha256 = sha256Hex(built.onnx);
  return { uri: `s3://models/artifacts/sha256/${sha256}`, sha256, bytes: built.onnx.byteLength, format: "onnx" };
}

function versionOf(built: BuiltReferenceModel, overrides: Partial<ModelVersion> = {}): ModelVersion {
  const file = { uri: "s3://models/tokenizer.json", sha256: "0".repeat(64), bytes: 1 };
  const tokenizer = built.tokenizerFiles
    ? hfTokenizerSpec({ tokenizerJson: file, tokenizerConfigJson: file }, built.tokenizerFiles.eosTokenIds)
    : built.registration.tokenizer;
  return modelVersionFor(built, artifactOf(built), {
    ...(tokenizer === undefined ? {} : { tokenizer }),
    ...(built.registration.max_context_tokens === undefined
      ? {}
      : { max_context_tokens: built.registration.max_context_tokens }),
    ...overrides,
  });
}

/** A toy LM with a learned position table of 16 rows: any sequence longer than 16 cannot run. */
function positionTableLm(): BuiltReferenceModel {
  const graph = new OnnxGraphBuilder({ graphName: "position_table_lm" });
  const random = createSeededRandom(3);
  const values = (count: number) => Float32Array.from({ length: count }, () => random.gaussian());
  graph.addInput("input_ids", "int64", [1, "sequence"]);
  graph.addInput("position_ids", "int64", [1, "sequence"]);
  graph.addFloatInitializer("token_table", [8, 4], values(32));
  graph.addFloatInitializer("position_table", [16, 4], values(64));
  graph.addFloatInitializer("unembed", [4, 8], values(32));
  const tokens = graph.op("Gather", ["token_table", "input_ids"], { axis: { int: 0 } });
  const positions = graph.op("Gather", ["position_table", "position_ids"], { axis: { int: 0 } });
  graph.addNode({ opType: "MatMul", inputs: [graph.op("Add", [tokens, positions]), "unembed"], outputs: ["logits"] });
  graph.addOutput("logits", "float32", [1, "sequence", 8]);
  const io = {
    inputs: [
      { name: "input_ids", dtype: "int64" as const, shape: [1, "sequence"] },
      { name: "position_ids", dtype: "int64" as const, shape: [1, "sequence"] },
    ],
    outputs: [{ name: "logits", dtype: "float32" as const, shape: [1, "sequence", 8] }],
  };
  return {
    name: "position-table-lm",
    onnx: graph.serialize(),
    registration: {
      kind: "causal-lm",
      io,
      tokenizer: { type: "byte-level", vocab_size: 258, bos_token_id: 256, eos_token_id: 257 },
      metrics: {},
    },
  };
}

describe("extractModelContract", () => {
  it("reads ref-decoder's io, opsets and architecture flags from the graph", () => {
    const extracted = extractModelContract(refDecoder.onnx, versionOf(refDecoder), "fp32", {}, 64, {
      tokenizerJson: refDecoder.tokenizerJson,
      now: NOW,
    });
    if (!extracted.ok) throw new Error(extracted.error.message);
    const { contract, warnings } = extracted.value;
    expect(ModelContractSchema.parse(contract)).toEqual(contract);
    expect(contract).toMatchObject({
      model: "ref-decoder",
      format: "fp32",
      ir_version: 8,
      opset: 17,
      producer: "modelgate",
    });
    expect(contract.opset_imports).toEqual({ "": 17 });
    expect(contract.model_arch).toEqual({
      use_halt_head: true,
      use_kv_cache: true,
      num_layers: 2,
      vocab_size: 512,
      latent_mode: true,
    });
    expect(contract.outputs.map((output) => output.name)).toEqual([
      "logits",
      "present.0.key",
      "present.0.value",
      "present.1.key",
      "present.1.value",
      "halt_logits",
    ]);
    expect(contract.inputs[0]).toEqual({ name: "input_ids", dtype: "int64", shape: ["batch_size", "sequence_length"] });
    expect(contract.inputs[3]).toEqual({
      name: "past_key_values.0.key",
      dtype: "float32",
      shape: ["batch_size", 2, "past_sequence_length", 32],
    });
    expect(contract.primary_shape).toBe("T64");
    expect(contract.primary_ok).toBe(false);
    expect(warnings).toEqual([]);
  });

  it("says latent_mode is unknown (false, with a warning) when an hf tokenizer's file is not given", () => {
    const extracted = extractModelContract(refDecoder.onnx, versionOf(refDecoder), "fp32", {}, 64);
    expect(extracted.ok && extracted.value.contract.model_arch.latent_mode).toBe(false);
    expect(extracted.ok && extracted.value.warnings.join()).toMatch(/latent_mode unknown/);
  });

  it("reports no halt head for ref-decoder built without one, and reads spirals and demo-lm", () => {
    const noHalt = extractModelContract(refDecoderNoHalt.onnx, versionOf(refDecoderNoHalt), "fp32", {}, 64);
    expect(noHalt.ok && noHalt.value.contract.model_arch).toMatchObject({ use_halt_head: false, use_kv_cache: true });

    const tensor = extractModelContract(spirals.onnx, versionOf(spirals), "fp32", {}, 256);
    if (!tensor.ok) throw new Error(tensor.error.message);
    expect(tensor.value.contract.inputs).toEqual([{ name: "features", dtype: "float32", shape: ["batch", 2] }]);
    expect(tensor.value.contract.outputs).toEqual([{ name: "probabilities", dtype: "float32", shape: ["batch", 2] }]);
    expect(tensor.value.contract.model_arch).toEqual({ use_halt_head: false, use_kv_cache: false, latent_mode: false });

    // Byte-level vocabularies with room after BOS/EOS carry <bot>/<eot> by convention.
    const demo = extractModelContract(demoLm.onnx, versionOf(demoLm), "fp32", {}, 128);
    expect(demo.ok && demo.value.contract.model_arch).toEqual({
      use_halt_head: true,
      use_kv_cache: false,
      vocab_size: 260,
      latent_mode: true,
    });
  });

  it("merges a model_arch JSON from metadata_props, the graph winning where they disagree", () => {
    const model = parseModel(demoLm.onnx);
    model.metadataProps = [{ key: "model_arch", value: '{"hidden_size":64,"use_halt_head":false,"nested":{}}' }];
    const extracted = extractModelContract(serializeModel(model), versionOf(demoLm), "fp32", {}, 128);
    if (!extracted.ok) throw new Error(extracted.error.message);
    expect(extracted.value.contract.model_arch).toMatchObject({ hidden_size: 64, use_halt_head: true });
    expect(extracted.value.warnings).toEqual(["metadata model_arch.use_halt_head is false but the graph says true"]);
  });

  it("fails, naming the problem, on corrupt, truncated or empty bytes", () => {
    const version = versionOf(refDecoder);
    const garbage = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251);
    const truncated = refDecoder.onnx.slice(0, Math.floor(refDecoder.onnx.byteLength / 2));
    for (const bytes of [garbage, truncated, new Uint8Array()]) {
      const extracted = extractModelContract(bytes, version, "fp32", {}, 64);
      expect(extracted.ok).toBe(false);
      if (!extracted.ok) {
        expect(extracted.error.reason).toBe("invalid_onnx");
        expect(extracted.error.message).toMatch(/^not a valid ONNX model: /);
      }
    }
    const cut = extractModelContract(truncated, version, "fp32", {}, 64);
    expect(!cut.ok && cut.error.message).toMatch(/corrupt or truncated/);
  });

  it("fails when the graph lacks an output or input the version declares", () => {
    // The version registered with a halt head, the file without one.
    const version = versionOf(refDecoder);
    const lostOutput = extractModelContract(refDecoderNoHalt.onnx, version, "fp32", {}, 64);
    expect(lostOutput).toEqual({
      ok: false,
      error: { reason: "missing_declared_io", message: "the model does not produce the declared output halt_logits" },
    });
    const declaresMore = versionOf(spirals, {
      io: {
        ...spirals.registration.io,
        inputs: [...spirals.registration.io.inputs, { name: "mask", dtype: "bool", shape: [] }],
      },
    });
    const lostInput = extractModelContract(spirals.onnx, declaresMore, "fp32", {}, 1);
    expect(!lostInput.ok && lostInput.error.message).toBe("the model does not take the declared input mask");
  });
});

describe("enumerateShapes", () => {
  it("records ok runs with latency and memory for small shapes, on one session", async () => {
    const lm = await enumerateShapes(refDecoder.onnx, "causal-lm", [64, 16], { sessionOptions });
    if (!lm.loaded) throw new Error(lm.error);
    expect(Object.keys(lm.shapes)).toEqual(["T16", "T64"]);
    expect(lm.shapes.T64).toMatchObject({ status: "ok", sequence_length: 64 });
    expect(lm.shapes.T64?.latency_ms).toBeGreaterThan(0);
    expect(lm.shapes.T64?.memory_mb).toBeGreaterThanOrEqual(0);

    const rows = await enumerateShapes(spirals.onnx, "tensor", [1, 300], { sessionOptions });
    expect(rows.loaded && rows.shapes.T300?.status).toBe("ok");
  });

  it("records a shape the model cannot take as an error with the runtime's message, not a throw", async () => {
    const result = await enumerateShapes(positionTableLm().onnx, "causal-lm", [16, 32], { sessionOptions });
    if (!result.loaded) throw new Error(result.error);
    expect(result.shapes.T16?.status).toBe("ok");
    expect(result.shapes.T32).toMatchObject({ status: "error", sequence_length: 32 });
    expect(result.shapes.T32?.error).toMatch(/out of (data )?bounds|indices/i);
  });

  it("reports bytes that do not load as a value", async () => {
    const result = await enumerateShapes(new Uint8Array([1, 2, 3]), "tensor", [1], { sessionOptions });
    expect(result.loaded).toBe(false);
  });
});

describe("verifySourceModel", () => {
  it("passes ref-decoder at a small primary; a shape past max_context_tokens is an error, not run", async () => {
    const version = versionOf(refDecoder, { max_context_tokens: 32 });
    const checked = await verifySourceModel({
      source: version,
      bytes: refDecoder.onnx,
      shapes: [16, 64],
      primary: 16,
      tokenizerJson: refDecoder.tokenizerJson,
      sessionOptions,
      now: NOW,
    });
    // The primary works, so the version passes; T64 is beyond the model's context: a should-pass failure.
    expect(checked.report).toMatchObject({ gates_ok: true, should_pass_ok: false, must_pass_failed: [] });
    expect(checked.contract?.primary_ok).toBe(true);
    expect(checked.report.shape_validation.T64).toMatchObject({ status: "error" });
    expect(checked.report.shape_validation.T64?.error).toMatch(/exceeds the model's context of 32 tokens/);
    expect(checked.report.shape_validation.T64?.latency_ms).toBeUndefined();
  });

  it("fails the must-pass primary shape gate when the primary shape does not run", async () => {
    const model = positionTableLm();
    const checked = await verifySourceModel({
      source: versionOf(model),
      bytes: model.onnx,
      shapes: [8, 32],
      primary: 32,
      sessionOptions,
    });
    expect(checked.report.gates_ok).toBe(false);
    expect(checked.report.must_pass_failed).toEqual(["primary_shape_ok"]);
    expect(checked.report.should_pass_ok).toBe(false);
    expect(checked.report.shape_validation.T8?.status).toBe("ok");
    expect(checked.contract?.primary_ok).toBe(false);
  });

  it("fails load and contract gates for a corrupt file and still produces a report", async () => {
    const corrupt = refDecoder.onnx.slice(0, 1000);
    const checked = await verifySourceModel({
      source: versionOf(refDecoder),
      bytes: corrupt,
      shapes: [16],
      primary: 16,
    });
    expect(checked.contract).toBeUndefined();
    expect(checked.report.must_pass_failed).toEqual(["model_loads", "contract_valid", "primary_shape_ok"]);
    expect(checked.report.source_sha256).toBe(sha256Hex(corrupt));
  });
});

describe("deployment files", () => {
  const uriFor = (sha256: string) => `s3://models/artifacts/sha256/${sha256}`;

  it("layers the version's runtime config and enables the halt head only when the graph has one", () => {
    const contractOf = (built: BuiltReferenceModel) => {
      const tokenizerJson = built.tokenizerFiles ? new TextDecoder().decode(built.tokenizerFiles.tokenizerJson) : "";
      const shapes = { T16: { status: "ok" as const, sequence_length: 16 } };
      const extracted = extractModelContract(built.onnx, versionOf(built), "fp32", shapes, 16, {
        tokenizerJson,
        now: NOW,
      });
      if (!extracted.ok) throw new Error(extracted.error.message);
      return extracted.value.contract;
    };
    const withHalt = contractOf(refDecoder);
    expect(buildRuntimeConfig({ runtime_config: { temperature: 0.5 } }, withHalt)).toEqual(
      RuntimeConfigSchema.parse({ temperature: 0.5 }),
    );
    const withoutHalt = contractOf(refDecoderNoHalt);
    expect(buildRuntimeConfig({ runtime_config: { halt_head_enabled: true } }, withoutHalt).halt_head_enabled).toBe(
      false,
    );

    const version = versionOf(refDecoder);
    const input = {
      source: version,
      contract: withHalt,
      onnx: { uri: version.artifact.uri, sha256: version.artifact.sha256, bytes: version.artifact.bytes },
      gatesOk: true,
      uriFor,
      now: NOW,
    };
    const files = buildDeploymentFiles(input);
    expect(DeploymentManifestSchema.parse(files.manifest)).toEqual(files.manifest);
    expect(files.manifest.capabilities).toEqual({ latent_reasoning: true, halt_head: true, code_mode: true });
    expect(files.manifest.artifacts.runtime_config).toEqual({
      uri: uriFor(sha256Hex(files.runtime_config)),
      sha256: sha256Hex(files.runtime_config),
      bytes: files.runtime_config.byteLength,
    });
    expect(new TextDecoder().decode(files.runtime_config)).toBe(`${JSON.stringify(files.runtimeConfig, null, 2)}\n`);
    // Same inputs, same bytes: content-addressed keys do not change on a rerun.
    expect(buildDeploymentFiles(input).deployment_manifest).toEqual(files.deployment_manifest);
  });
});
