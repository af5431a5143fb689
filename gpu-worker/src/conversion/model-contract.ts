/**
 * Seed 001's contract.json, read from the ONNX graph itself: what the model takes and returns,
 * its architecture flags and how each requested shape ran. The graph is the authority; the
 * version's registered `io` is checked against it, because a model that lost a declared output
 * (say `halt_logits`) would fail at the first request instead of here.
 */
import {
  err,
  type ModelContract,
  ModelContractSchema,
  type ModelVersion,
  ok,
  type Result,
  type ShapeValidation,
  shapeKey,
  type TensorSpec,
} from "@modelgate/shared";
import { z } from "zod";
import { contractDtypeOf, type OnnxTypes, onnx, parseModel, toNumber } from "../onnx/onnx-graph-builder.js";

export type ContractFormat = ModelContract["format"];

export interface ContractFailure {
  reason: "invalid_onnx" | "missing_declared_io" | "unsupported_tensor" | "invalid_contract";
  message: string;
}

export interface ContractExtraction {
  contract: ModelContract;
  /** Things a person should look at that do not make the contract wrong (metadata disagreeing with the graph, …). */
  warnings: string[];
}

export interface ContractOptions {
  /**
   * The version's tokenizer.json text, for `hf-tokenizer` versions: the version only names the
   * file, so without it `latent_mode` cannot be known and is reported false with a warning.
   */
  tokenizerJson?: string;
  now?: Date;
}

type ModelArch = ModelContract["model_arch"];
const PAST_PATTERN = /^past_key_values\.(\d+)\.(key|value)$/;
const LATENT_MARKERS = ["<bot>", "<eot>"] as const;
const MetadataArchSchema = z.record(z.string(), z.unknown());
/** The parts of a tokenizer.json that name tokens: added (special) tokens and the model's vocabulary. */
const TokenizerVocabularySchema = z.object({
  added_tokens: z.array(z.object({ content: z.string() })).optional(),
  // BPE/WordPiece vocabularies map token → id; a Unigram list carries only what added_tokens also lists for specials.
  model: z.object({ vocab: z.record(z.string(), z.unknown()).optional().catch(undefined) }).optional(),
});

const invalid = (message: string): Result<never, ContractFailure> =>
  err({ reason: "invalid_onnx", message: `not a valid ONNX model: ${message}` });

/** Decodes and sanity-checks the protobuf; garbage often decodes "successfully" into an empty model. */
function decodeModel(
  bytes: Uint8Array,
): Result<{ model: OnnxTypes.ModelProto; graph: OnnxTypes.IGraphProto }, ContractFailure> {
  if (bytes.byteLength === 0) return invalid("the file is empty");
  let model: OnnxTypes.ModelProto;
  try {
    model = parseModel(bytes);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return invalid(`the protobuf does not decode (${why}); the file is corrupt or truncated`);
  }
  if (toNumber(model.irVersion) < 1) return invalid("it has no ir_version (corrupt, truncated or not an ONNX file)");
  if (!model.graph) return invalid("it has no graph (corrupt, truncated or not an ONNX file)");
  if ((model.graph.output ?? []).length === 0) return invalid("its graph declares no outputs");
  if (!(model.opsetImport ?? []).some((entry) => (entry.domain ?? "") === "" || entry.domain === "ai.onnx")) {
    return invalid("it imports no default-domain opset (truncated before opset_import?)");
  }
  return ok({ model, graph: model.graph });
}

function tensorSpecOf(value: OnnxTypes.IValueInfoProto, role: string): Result<TensorSpec, ContractFailure> {
  const name = value.name ?? "";
  const tensorType = value.type?.tensorType;
  if (!tensorType) {
    return err({
      reason: "unsupported_tensor",
      message: `${role} ${name} is not a tensor (sequence/map values are not served)`,
    });
  }
  const elemType = tensorType.elemType ?? 0;
  const dtype = contractDtypeOf(elemType);
  if (dtype === undefined) {
    const typeName = onnx.TensorProto.DataType[elemType] ?? String(elemType);
    return err({
      reason: "unsupported_tensor",
      message: `${role} ${name} has element type ${typeName}, which modelgate contracts do not cover`,
    });
  }
  // A dimension with neither a value nor a name is dynamic and anonymous; "?" says exactly that.
  const shape = (tensorType.shape?.dim ?? []).map((dim) => {
    const size = toNumber(dim.dimValue);
    if (size >= 1) return size;
    return dim.dimParam ? dim.dimParam : "?";
  });
  return ok({ name, dtype, shape });
}

function specsOf(values: readonly OnnxTypes.IValueInfoProto[], role: string): Result<TensorSpec[], ContractFailure> {
  const specs: TensorSpec[] = [];
  for (const value of values) {
    const spec = tensorSpecOf(value, role);
    if (!spec.ok) return spec;
    specs.push(spec.value);
  }
  return ok(specs);
}

/** Scalar entries of a `model_arch` JSON object in metadata_props (how exporters record the flags). */
function metadataArch(model: OnnxTypes.ModelProto, warnings: string[]): ModelArch {
  const entry = (model.metadataProps ?? []).find((prop) => prop.key === "model_arch");
  if (!entry?.value) return {};
  let parsed: z.infer<typeof MetadataArchSchema>;
  try {
    parsed = MetadataArchSchema.parse(JSON.parse(entry.value));
  } catch {
    warnings.push("metadata_props model_arch is not a JSON object; ignored");
    return {};
  }
  const arch: ModelArch = {};
  // Nested values and non-finite numbers have no place in the flat flag map; they are left out.
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value === "boolean" || typeof value === "string") arch[key] = value;
    else if (typeof value === "number" && Number.isFinite(value)) arch[key] = value;
  }
  return arch;
}

/** Whether the tokenizer has `<bot>`/`<eot>`, from what the version carries; undefined when unknowable. */
function latentMode(source: ModelVersion, tokenizerJson: string | undefined): boolean | undefined {
  const tokenizer = source.tokenizer;
  if (tokenizer === undefined) return false;
  if (tokenizer.type === "byte-level") {
    // The byte-level convention (byte-level-tokenizer.ts): <bot>, <eot> follow BOS and EOS when the vocabulary has room.
    const begin = Math.max(tokenizer.bos_token_id, tokenizer.eos_token_id) + 1;
    return begin + 1 < tokenizer.vocab_size;
  }
  if (tokenizerJson === undefined) return undefined;
  let parsed: z.infer<typeof TokenizerVocabularySchema>;
  try {
    parsed = TokenizerVocabularySchema.parse(JSON.parse(tokenizerJson));
  } catch {
    return undefined;
  }
  const tokens = new Set([
    ...(parsed.added_tokens ?? []).map((token) => token.content),
    ...Object.keys(parsed.model?.vocab ?? {}),
  ]);
  return LATENT_MARKERS.every((marker) => tokens.has(marker));
}

function graphArch(
  inputs: readonly TensorSpec[],
  outputs: readonly TensorSpec[],
  source: ModelVersion,
  fromMetadata: ModelArch,
): ModelArch {
  const layers = new Set<number>();
  for (const input of inputs) {
    const match = PAST_PATTERN.exec(input.name);
    if (match?.[1] !== undefined) layers.add(Number(match[1]));
  }
  const arch: ModelArch = {
    use_halt_head: outputs.some((output) => output.name === "halt_logits"),
    use_kv_cache: layers.size > 0,
  };
  const metadataLayers = fromMetadata.num_layers ?? fromMetadata.num_hidden_layers;
  if (layers.size > 0) arch.num_layers = layers.size;
  else if (typeof metadataLayers === "number") arch.num_layers = metadataLayers;
  const logitsVocab = outputs.find((output) => output.name === "logits")?.shape.at(-1);
  if (typeof logitsVocab === "number") arch.vocab_size = logitsVocab;
  else if (source.tokenizer?.type === "byte-level") arch.vocab_size = source.tokenizer.vocab_size;
  return arch;
}

/** Declared io the graph lacks fails the contract; dtype differences and undeclared inputs are warnings. */
function checkDeclaredIo(
  source: ModelVersion,
  inputs: readonly TensorSpec[],
  outputs: readonly TensorSpec[],
  warnings: string[],
): Result<true, ContractFailure> {
  const problems: string[] = [];
  const compare = (declared: readonly TensorSpec[], actual: readonly TensorSpec[], what: "input" | "output") => {
    const missing: string[] = [];
    for (const spec of declared) {
      const found = actual.find((tensor) => tensor.name === spec.name);
      if (!found) missing.push(spec.name);
      else if (found.dtype !== spec.dtype) {
        warnings.push(`declared ${what} ${spec.name} is ${spec.dtype} but the graph's is ${found.dtype}`);
      }
    }
    if (missing.length === 0) return;
    const verb = what === "output" ? "produce" : "take";
    problems.push(
      `the model does not ${verb} the declared ${what}${missing.length > 1 ? "s" : ""} ${missing.join(", ")}`,
    );
  };
  compare(source.io.inputs, inputs, "input");
  compare(source.io.outputs, outputs, "output");
  for (const input of inputs) {
    if (!source.io.inputs.some((spec) => spec.name === input.name)) {
      warnings.push(`graph input ${input.name} is not in the version's io contract`);
    }
  }
  if (problems.length > 0) return err({ reason: "missing_declared_io", message: problems.join("; ") });
  return ok(true);
}

/**
 * The contract of `bytes` (the registered original or one converted format). Fails, as a value,
 * when the bytes are not a usable ONNX model or the graph lacks io the version declares.
 */
export function extractModelContract(
  bytes: Uint8Array,
  source: ModelVersion,
  format: ContractFormat,
  shapeValidation: Readonly<Record<string, ShapeValidation>>,
  primary: number,
  options: ContractOptions = {},
): Result<ContractExtraction, ContractFailure> {
  const decoded = decodeModel(bytes);
  if (!decoded.ok) return decoded;
  const { model, graph } = decoded.value;
  // Before IR 4 initializers were listed among the inputs; they are weights, not things to feed.
  const weights = new Set((graph.initializer ?? []).map((tensor) => tensor.name ?? ""));
  const inputs = specsOf(
    (graph.input ?? []).filter((input) => !weights.has(input.name ?? "")),
    "input",
  );
  if (!inputs.ok) return inputs;
  const outputs = specsOf(graph.output ?? [], "output");
  if (!outputs.ok) return outputs;
  if (inputs.value.length === 0) return invalid("its graph takes no inputs");

  const warnings: string[] = [];
  const declared = checkDeclaredIo(source, inputs.value, outputs.value, warnings);
  if (!declared.ok) return declared;

  const fromMetadata = metadataArch(model, warnings);
  const fromGraph = graphArch(inputs.value, outputs.value, source, fromMetadata);
  for (const [key, value] of Object.entries(fromGraph)) {
    const claimed = fromMetadata[key];
    if (claimed !== undefined && claimed !== value) {
      warnings.push(`metadata model_arch.${key} is ${String(claimed)} but the graph says ${String(value)}`);
    }
  }
  const maxContext = source.kind === "tensor" ? undefined : source.max_context_tokens;
  for (const [key, run] of Object.entries(shapeValidation)) {
    // Such a shape "works" only in the sense that nothing threw: the registry refuses longer
    // requests, and positions past what the model was trained on give no meaningful output.
    if (maxContext !== undefined && run.status === "ok" && run.sequence_length > maxContext) {
      warnings.push(`${key} ran but exceeds the version's max_context_tokens (${maxContext})`);
    }
  }
  const latent = latentMode(source, options.tokenizerJson);
  if (latent === undefined) warnings.push("latent_mode unknown: the tokenizer.json was not given; reported false");
  // The graph's facts win over what an exporter wrote in metadata.
  const modelArch: ModelArch = { ...fromMetadata, ...fromGraph, latent_mode: latent ?? false };

  const opsetImports: Record<string, number> = {};
  for (const entry of model.opsetImport ?? []) {
    const domain = entry.domain === "ai.onnx" ? "" : (entry.domain ?? "");
    opsetImports[domain] = toNumber(entry.version);
  }
  const producer = `${model.producerName ?? ""} ${model.producerVersion ?? ""}`.trim() || "unknown";
  const primaryKey = shapeKey(primary);
  const candidate: ModelContract = {
    schema: "modelgate.contract/v1",
    model: source.name,
    version: source.version,
    format,
    ir_version: toNumber(model.irVersion),
    opset: opsetImports[""] ?? 0,
    opset_imports: opsetImports,
    producer: producer.slice(0, 200),
    model_arch: modelArch,
    inputs: inputs.value,
    outputs: outputs.value,
    shape_validation: { ...shapeValidation },
    primary_shape: primaryKey,
    primary_ok: shapeValidation[primaryKey]?.status === "ok",
    generated_at: (options.now ?? new Date()).toISOString(),
  };
  const parsed = ModelContractSchema.safeParse(candidate);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
    return err({ reason: "invalid_contract", message: `the contract does not validate: ${issues}` });
  }
  return ok({ contract: parsed.data, warnings });
}
