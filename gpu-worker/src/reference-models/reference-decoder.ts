/**
 * ref-decoder: a small, deterministic Llama-architecture decoder with a KV cache and a halt head,
 * plus its byte-level BPE tokenizer, laid out as a Hugging Face model folder. It is the test and
 * benchmark model for the generation engine (KV-cache decoding, continuous batching, refinement,
 * latent spans), and transformers.js loads the same folder (see hf-model-folder.ts).
 *
 * Nothing is trained: the lm_head is a token-bigram table counted from a built-in corpus and the
 * blocks carry small seeded weights (see reference-decoder-weights.ts), so the whole model is
 * rebuilt byte-for-byte from this source in well under a second.
 */
import type { HfModelFiles } from "./hf-model-folder.js";
import type { BuiltReferenceModel, ReferenceRegistration } from "./index.js";
import { buildReferenceDecoderGraph, referenceDecoderIo } from "./reference-decoder-graph.js";
import {
  buildReferenceDecoderWeights,
  REFERENCE_DECODER_CORPUS,
  type ReferenceDecoderDims,
  type ReferenceDecoderWeights,
} from "./reference-decoder-weights.js";
import { buildReferenceTokenizer, type ReferenceTokenizer } from "./reference-tokenizer.js";

export const REFERENCE_DECODER_NAME = "ref-decoder";

export const REFERENCE_DECODER_DIMS: Readonly<ReferenceDecoderDims> = {
  vocabSize: 512,
  hiddenSize: 512,
  intermediateSize: 128,
  numLayers: 2,
  numHeads: 4,
  numKeyValueHeads: 2,
  headDim: 32,
  maxPositionEmbeddings: 1024,
  rmsNormEps: 1e-5,
  ropeTheta: 10000,
};

/** Seed of the block weights (seeded-random.ts); part of the model's identity like the corpus. */
export const REFERENCE_DECODER_SEED = 20240607;

/**
 * A prompt (encoded with the tokenizer's default `<s>`) from which greedy decoding opens a latent
 * span: the corpus answers every `Assistant:` turn with `<bot>...<eot>`. It is also what the chat
 * template renders for one user message with `add_generation_prompt` (after `<s>`).
 */
export const REFERENCE_DECODER_LATENT_PROMPT = "User: Is this reply valid JSON? Assistant:";
/** The chat messages that render to REFERENCE_DECODER_LATENT_PROMPT. */
export const REFERENCE_DECODER_LATENT_MESSAGES: readonly { role: "user"; content: string }[] = [
  { role: "user", content: "Is this reply valid JSON?" },
];

export interface ReferenceDecoderOptions {
  /** Adds the `halt_logits` output ([continue, halt] from the last position). Default true. */
  haltHead?: boolean;
}

/** The numbers the generation engine needs to drive the model. */
export interface ReferenceDecoderSpec {
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  maxPositionEmbeddings: number;
  bosTokenId: number;
  eosTokenId: number;
  padTokenId: number;
  botTokenId: number;
  eotTokenId: number;
  haltHead: boolean;
}

export interface BuiltReferenceDecoder extends BuiltReferenceModel, HfModelFiles {
  name: typeof REFERENCE_DECODER_NAME;
  spec: ReferenceDecoderSpec;
  /** Everything but the tokenizer, whose files are uploaded as artifacts before registering. */
  registration: ReferenceRegistration;
}

function jsonFile(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** The dimensions under the names config.json (and the registry's hyperparameters) give them. */
function architectureFields(dims: ReferenceDecoderDims) {
  return {
    vocab_size: dims.vocabSize,
    hidden_size: dims.hiddenSize,
    intermediate_size: dims.intermediateSize,
    num_hidden_layers: dims.numLayers,
    num_attention_heads: dims.numHeads,
    num_key_value_heads: dims.numKeyValueHeads,
    head_dim: dims.headDim,
  };
}

function hfConfig(dims: ReferenceDecoderDims, spec: ReferenceDecoderSpec): Record<string, unknown> {
  return {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    ...architectureFields(dims),
    hidden_act: "silu",
    max_position_embeddings: dims.maxPositionEmbeddings,
    rms_norm_eps: dims.rmsNormEps,
    rope_theta: dims.ropeTheta,
    rope_scaling: null,
    attention_bias: false,
    mlp_bias: false,
    tie_word_embeddings: false,
    bos_token_id: spec.bosTokenId,
    eos_token_id: spec.eosTokenId,
    pad_token_id: spec.padTokenId,
    torch_dtype: "float32",
    use_cache: true,
    // Read by modelgate: the ONNX graph has a `halt_logits` output.
    use_halt_head: spec.haltHead,
  };
}

/** The numbers the engine needs, for any dims of this architecture (ref-decoder-large reuses it). */
export function specOf(
  tokenizer: ReferenceTokenizer,
  dims: ReferenceDecoderDims,
  haltHead: boolean,
): ReferenceDecoderSpec {
  const ids = tokenizer.specialTokenIds;
  return {
    vocabSize: dims.vocabSize,
    hiddenSize: dims.hiddenSize,
    numLayers: dims.numLayers,
    numHeads: dims.numHeads,
    numKeyValueHeads: dims.numKeyValueHeads,
    headDim: dims.headDim,
    maxPositionEmbeddings: dims.maxPositionEmbeddings,
    bosTokenId: ids["<s>"],
    eosTokenId: ids["</s>"],
    padTokenId: ids["<pad>"],
    botTokenId: ids["<bot>"],
    eotTokenId: ids["<eot>"],
    haltHead,
  };
}

/** The tokenizer alone (cheap: no weights), e.g. to encode prompts in tests and benchmarks. */
export function buildReferenceDecoderTokenizer(): ReferenceTokenizer {
  return buildReferenceTokenizer(REFERENCE_DECODER_CORPUS, {
    vocabSize: REFERENCE_DECODER_DIMS.vocabSize,
    modelMaxLength: REFERENCE_DECODER_DIMS.maxPositionEmbeddings,
  });
}

/**
 * A registration for a decoder of this architecture (ref-decoder and ref-decoder-large): io in
 * Optimum's KV-cache layout, the corpus metrics and the architecture as hyperparameters.
 */
export function referenceDecoderRegistration(
  dims: ReferenceDecoderDims,
  metrics: ReferenceDecoderWeights["metrics"],
  haltHead: boolean,
  about: Pick<ReferenceRegistration, "categories" | "primary_category" | "description">,
): ReferenceRegistration {
  const io = referenceDecoderIo(dims, haltHead);
  return {
    kind: "causal-lm",
    io: {
      inputs: io.inputs.map(({ name, dtype, shape }) => ({ name, dtype, shape })),
      outputs: io.outputs.map(({ name, dtype, shape }) => ({ name, dtype, shape })),
    },
    max_context_tokens: dims.maxPositionEmbeddings,
    ...about,
    // The registry's 0–100 benchmark scale: next-token top-1 accuracy on the corpus, in percent.
    benchmark_scores: { next_token_top1: Math.round(metrics.next_token_top1_accuracy * 10000) / 100 },
    // Measured on the corpus with the lm_head's bigram table; the full model's perplexity is
    // within a few percent of it (the blocks only perturb the logits; the tests check this).
    metrics: { ...metrics },
    perplexity: metrics.perplexity,
    hyperparameters: { ...architectureFields(dims), seed: REFERENCE_DECODER_SEED },
    runtime_config: { halt_head_enabled: haltHead },
  };
}

export function buildReferenceDecoder(options: ReferenceDecoderOptions = {}): BuiltReferenceDecoder {
  const haltHead = options.haltHead ?? true;
  const dims = { ...REFERENCE_DECODER_DIMS };
  const tokenizer = buildReferenceDecoderTokenizer();
  const weights = buildReferenceDecoderWeights(tokenizer, REFERENCE_DECODER_CORPUS, dims, REFERENCE_DECODER_SEED);
  const spec = specOf(tokenizer, dims, haltHead);
  const onnx = buildReferenceDecoderGraph(dims, weights, {
    haltHead,
    docString: "modelgate ref-decoder: Llama-architecture decoder with a bigram lm_head, KV cache and halt head",
  });
  const registration = referenceDecoderRegistration(dims, weights.metrics, haltHead, {
    // The stack's one real decoder takes code and math requests too (`auto:code`, `auto:math`);
    // general is its primary category. No seed 002 benchmark is measured for it, so selection
    // scores it as unscored (0.5) times the category confidence.
    categories: ["general", "code", "math"],
    primary_category: "general",
    description:
      `Llama-architecture decoder (${dims.numLayers} layers, ${dims.numHeads} heads, ${dims.numKeyValueHeads} KV ` +
      `heads, head_dim ${dims.headDim}) in Optimum's KV-cache layout, with a byte-level BPE tokenizer ` +
      `(${dims.vocabSize} tokens; <s> ${spec.bosTokenId}, </s> ${spec.eosTokenId}, <pad> ${spec.padTokenId}, ` +
      `<bot> ${spec.botTokenId}, <eot> ${spec.eotTokenId}). Its lm_head is a token-bigram table counted from a ` +
      "built-in corpus about serving models, with small seeded attention and MLP weights on top" +
      (haltHead ? "; its halt head favours halting after '.', '!', '?', '}' and </s>." : "."),
  });

  return {
    name: REFERENCE_DECODER_NAME,
    onnx,
    tokenizerJson: tokenizer.tokenizerJson,
    tokenizerConfigJson: tokenizer.tokenizerConfigJson,
    configJson: jsonFile(hfConfig(dims, spec)),
    generationConfigJson: jsonFile({
      bos_token_id: spec.bosTokenId,
      eos_token_id: spec.eosTokenId,
      pad_token_id: spec.padTokenId,
    }),
    spec,
    registration,
    tokenizerFiles: {
      tokenizerJson: new TextEncoder().encode(tokenizer.tokenizerJson),
      tokenizerConfigJson: new TextEncoder().encode(tokenizer.tokenizerConfigJson),
      eosTokenIds: [spec.eosTokenId],
    },
  };
}
