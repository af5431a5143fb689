/**
 * The reference decoder's ONNX graph: a Llama decoder (RMSNorm, RoPE, grouped-query attention
 * with a KV cache, SwiGLU MLP) in Hugging Face Optimum's decoder I/O layout, so that
 * transformers.js and the engine drive it exactly like an exported Llama. Standard opset-17 ops
 * only; no contrib ops.
 */
import { type Dimension, type ElementType, OnnxGraphBuilder } from "../onnx/onnx-graph-builder.js";
import type { LayerWeights, ReferenceDecoderDims, ReferenceDecoderWeights } from "./reference-decoder-weights.js";

/** Optimum's symbolic dimension names (transformers.js sizes an empty cache by `batch_size`). */
export const BATCH_DIM = "batch_size";
export const SEQUENCE_DIM = "sequence_length";
export const PAST_SEQUENCE_DIM = "past_sequence_length";
export const TOTAL_SEQUENCE_DIM = "total_sequence_length";

/**
 * Added to the scores of keys a query must not see. Finite (not -inf) so that a fully masked
 * row (a left-padding query) softmaxes to a uniform row instead of NaN; exp() of it underflows
 * to exactly 0, so masked keys contribute nothing to any real row.
 */
const MASKED_SCORE = -1e9;

export interface DecoderTensorSpec {
  name: string;
  dtype: ElementType;
  shape: Dimension[];
}

export function referenceDecoderIo(
  dims: ReferenceDecoderDims,
  haltHead: boolean,
): { inputs: DecoderTensorSpec[]; outputs: DecoderTensorSpec[] } {
  const cacheShape = (sequence: string): Dimension[] => [BATCH_DIM, dims.numKeyValueHeads, sequence, dims.headDim];
  const inputs: DecoderTensorSpec[] = [
    { name: "input_ids", dtype: "int64", shape: [BATCH_DIM, SEQUENCE_DIM] },
    { name: "attention_mask", dtype: "int64", shape: [BATCH_DIM, TOTAL_SEQUENCE_DIM] },
    { name: "position_ids", dtype: "int64", shape: [BATCH_DIM, SEQUENCE_DIM] },
  ];
  const outputs: DecoderTensorSpec[] = [
    { name: "logits", dtype: "float32", shape: [BATCH_DIM, SEQUENCE_DIM, dims.vocabSize] },
  ];
  for (let layer = 0; layer < dims.numLayers; layer++) {
    for (const kind of ["key", "value"]) {
      inputs.push({ name: `past_key_values.${layer}.${kind}`, dtype: "float32", shape: cacheShape(PAST_SEQUENCE_DIM) });
      outputs.push({ name: `present.${layer}.${kind}`, dtype: "float32", shape: cacheShape(TOTAL_SEQUENCE_DIM) });
    }
  }
  if (haltHead) outputs.push({ name: "halt_logits", dtype: "float32", shape: [BATCH_DIM, 2] });
  return { inputs, outputs };
}

/** Shared per-forward values every layer reads: the attention bias and the rotary tables. */
interface AttentionContext {
  /** [B, 1, 1, T, S] additive mask for the 5-D grouped scores. */
  scoreBias: string;
  /** [B, 1, T, D] for keys; [B, 1, 1, T, D] for grouped queries. */
  cosKey: string;
  sinKey: string;
  cosQuery: string;
  sinQuery: string;
  /** [D, D]: x @ rotateHalf == concat(-x2, x1). */
  rotateHalf: string;
}

class DecoderGraph {
  readonly graph: OnnxGraphBuilder;
  private readonly dims: ReferenceDecoderDims;
  private readonly ints = new Map<string, string>();
  private rmsEps: string | undefined;

  constructor(graph: OnnxGraphBuilder, dims: ReferenceDecoderDims) {
    this.graph = graph;
    this.dims = dims;
  }

  /** An int64 constant, shared by value. */
  int64(values: readonly number[], scalar = false): string {
    const key = `${scalar ? "s" : "v"}:${values.join(",")}`;
    const existing = this.ints.get(key);
    if (existing !== undefined) return existing;
    const name = this.graph.addInt64Initializer(`const_i64_${this.ints.size}`, scalar ? [] : [values.length], values);
    this.ints.set(key, name);
    return name;
  }

  float(name: string, dims: readonly number[], values: Float32Array | readonly number[]): string {
    return this.graph.addFloatInitializer(name, dims, values);
  }

  op(opType: string, inputs: readonly string[], attributes?: Parameters<OnnxGraphBuilder["op"]>[2]): string {
    return this.graph.op(opType, inputs, attributes);
  }

  rmsNorm(input: string, weight: string): string {
    const meanSquare = this.op("ReduceMean", [this.op("Mul", [input, input])], {
      axes: { ints: [-1] },
      keepdims: { int: 1 },
    });
    this.rmsEps ??= this.float("rms_norm_eps", [], [this.dims.rmsNormEps]);
    const eps = this.rmsEps;
    const rms = this.op("Sqrt", [this.op("Add", [meanSquare, eps])]);
    return this.op("Mul", [this.op("Div", [input, rms]), weight]);
  }

  /** x * cos + rotate_half(x) * sin (Llama's apply_rotary_pos_emb). */
  rotary(input: string, cos: string, sin: string, rotateHalf: string): string {
    const rotated = this.op("MatMul", [input, rotateHalf]);
    return this.op("Add", [this.op("Mul", [input, cos]), this.op("Mul", [rotated, sin])]);
  }

  attentionContext(): AttentionContext {
    const { headDim } = this.dims;
    // Lengths: T from input_ids, S (past + T) from attention_mask, so P = S - T.
    const idsShape = this.op("Shape", ["input_ids"]);
    const maskShape = this.op("Shape", ["attention_mask"]);
    const sequence = this.op("Gather", [idsShape, this.int64([1], true)], { axis: { int: 0 } });
    const total = this.op("Gather", [maskShape, this.int64([1], true)], { axis: { int: 0 } });
    const past = this.op("Sub", [total, sequence]);
    const one = this.int64([1], true);
    const keyPositions = this.op("Range", [this.int64([0], true), total, one]);
    const queryPositions = this.op("Range", [past, total, one]);
    // causal[t, s] = key s is at or before query t's absolute position (past + t).
    const causal = this.op("LessOrEqual", [
      this.op("Unsqueeze", [keyPositions, this.int64([0])]),
      this.op("Unsqueeze", [queryPositions, this.int64([1])]),
    ]);
    const keyIsReal = this.op("Unsqueeze", [
      this.op("Cast", ["attention_mask"], { to: { int: 9 /* BOOL */ } }),
      this.int64([1, 2]),
    ]);
    const allowed = this.op("And", [causal, keyIsReal]); // [B, 1, T, S]
    const zero = this.float("mask_zero", [], [0]);
    const masked = this.float("mask_value", [], [MASKED_SCORE]);
    const bias = this.op("Where", [allowed, zero, masked]);
    const scoreBias = this.op("Unsqueeze", [bias, this.int64([1])]); // [B, 1, 1, T, S]

    // Rotary tables from position_ids: angle[b, t, d] = position * inv_freq[d mod D/2].
    const half = headDim / 2;
    const invFreq = new Float32Array(headDim);
    for (let i = 0; i < half; i++) {
      const frequency = 1 / this.dims.ropeTheta ** ((2 * i) / headDim);
      invFreq[i] = frequency;
      invFreq[i + half] = frequency;
    }
    const positions = this.op("Unsqueeze", [
      this.op("Cast", ["position_ids"], { to: { int: 1 /* FLOAT */ } }),
      this.int64([2]),
    ]);
    const angles = this.op("Mul", [positions, this.float("rope_inv_freq", [headDim], invFreq)]); // [B, T, D]
    const cos = this.op("Cos", [angles]);
    const sin = this.op("Sin", [angles]);
    const rotateHalf = new Float32Array(headDim * headDim);
    for (let column = 0; column < half; column++) {
      rotateHalf[(column + half) * headDim + column] = -1;
      rotateHalf[column * headDim + column + half] = 1;
    }
    return {
      scoreBias,
      cosKey: this.op("Unsqueeze", [cos, this.int64([1])]),
      sinKey: this.op("Unsqueeze", [sin, this.int64([1])]),
      cosQuery: this.op("Unsqueeze", [cos, this.int64([1, 2])]),
      sinQuery: this.op("Unsqueeze", [sin, this.int64([1, 2])]),
      rotateHalf: this.float("rope_rotate_half", [headDim, headDim], rotateHalf),
    };
  }

  attention(layer: number, input: string, weights: LayerWeights, context: AttentionContext): string {
    const { hiddenSize: hidden, numHeads, numKeyValueHeads: kvHeads, headDim } = this.dims;
    const groups = numHeads / kvHeads;
    const prefix = `model.layers.${layer}.self_attn`;
    const q = this.op("MatMul", [input, this.float(`${prefix}.q_proj`, [hidden, numHeads * headDim], weights.query)]);
    const k = this.op("MatMul", [input, this.float(`${prefix}.k_proj`, [hidden, kvHeads * headDim], weights.key)]);
    const v = this.op("MatMul", [input, this.float(`${prefix}.v_proj`, [hidden, kvHeads * headDim], weights.value)]);

    // Queries as [B, KV, G, T, D]: query head h = kv * G + g reads key/value head kv (Llama's GQA).
    const queries = this.op("Transpose", [this.op("Reshape", [q, this.int64([0, 0, kvHeads, groups, headDim])])], {
      perm: { ints: [0, 2, 3, 1, 4] },
    });
    const toHeads = (x: string) =>
      this.op("Transpose", [this.op("Reshape", [x, this.int64([0, 0, kvHeads, headDim])])], {
        perm: { ints: [0, 2, 1, 3] },
      });
    const queriesRotated = this.rotary(queries, context.cosQuery, context.sinQuery, context.rotateHalf);
    const keysRotated = this.rotary(toHeads(k), context.cosKey, context.sinKey, context.rotateHalf);

    const presentKey = `present.${layer}.key`;
    const presentValue = `present.${layer}.value`;
    this.graph.addNode({
      opType: "Concat",
      name: `${prefix}.cache_key`,
      inputs: [`past_key_values.${layer}.key`, keysRotated],
      outputs: [presentKey],
      attributes: { axis: { int: 2 } },
    });
    this.graph.addNode({
      opType: "Concat",
      name: `${prefix}.cache_value`,
      inputs: [`past_key_values.${layer}.value`, toHeads(v)],
      outputs: [presentValue],
      attributes: { axis: { int: 2 } },
    });

    // [B, KV, 1, D, S] so that one MatMul broadcasts each kv head over its G query heads.
    const keysT = this.op("Transpose", [this.op("Unsqueeze", [presentKey, this.int64([2])])], {
      perm: { ints: [0, 1, 2, 4, 3] },
    });
    const scale = this.float(`${prefix}.scale`, [], [1 / Math.sqrt(headDim)]);
    const scores = this.op("Add", [
      this.op("Mul", [this.op("MatMul", [queriesRotated, keysT]), scale]),
      context.scoreBias,
    ]);
    const probs = this.op("Softmax", [scores], { axis: { int: -1 } });
    const mixed = this.op("MatMul", [probs, this.op("Unsqueeze", [presentValue, this.int64([2])])]); // [B, KV, G, T, D]
    const merged = this.op("Reshape", [
      this.op("Transpose", [mixed], { perm: { ints: [0, 3, 1, 2, 4] } }),
      this.int64([0, 0, numHeads * headDim]),
    ]);
    return this.op("MatMul", [merged, this.float(`${prefix}.o_proj`, [numHeads * headDim, hidden], weights.output)]);
  }

  mlp(layer: number, input: string, weights: LayerWeights): string {
    const { hiddenSize: hidden, intermediateSize: inner } = this.dims;
    const prefix = `model.layers.${layer}.mlp`;
    const gate = this.op("MatMul", [input, this.float(`${prefix}.gate_proj`, [hidden, inner], weights.gate)]);
    const up = this.op("MatMul", [input, this.float(`${prefix}.up_proj`, [hidden, inner], weights.up)]);
    const silu = this.op("Mul", [gate, this.op("Sigmoid", [gate])]);
    return this.op("MatMul", [
      this.op("Mul", [silu, up]),
      this.float(`${prefix}.down_proj`, [inner, hidden], weights.down),
    ]);
  }
}

export interface DecoderGraphOptions {
  haltHead: boolean;
  docString: string;
}

export function buildReferenceDecoderGraph(
  dims: ReferenceDecoderDims,
  weights: ReferenceDecoderWeights,
  options: DecoderGraphOptions,
): Uint8Array {
  if (dims.numHeads % dims.numKeyValueHeads !== 0) throw new RangeError("num_heads must be a multiple of kv heads");
  if (dims.headDim % 2 !== 0) throw new RangeError("head_dim must be even for rotary embeddings");
  const builder = new OnnxGraphBuilder({ graphName: "ref_decoder", docString: options.docString });
  const io = referenceDecoderIo(dims, options.haltHead);
  for (const input of io.inputs) builder.addInput(input.name, input.dtype, input.shape);
  const g = new DecoderGraph(builder, dims);
  const { vocabSize: vocab, hiddenSize: hidden } = dims;

  let residual = g.op("Gather", [g.float("model.embed_tokens", [vocab, hidden], weights.embedding), "input_ids"], {
    axis: { int: 0 },
  });
  const context = g.attentionContext();
  weights.layers.forEach((layer, index) => {
    const prefix = `model.layers.${index}`;
    const attentionIn = g.rmsNorm(residual, g.float(`${prefix}.input_layernorm`, [hidden], layer.inputNorm));
    residual = g.op("Add", [residual, g.attention(index, attentionIn, layer, context)]);
    const mlpIn = g.rmsNorm(residual, g.float(`${prefix}.post_attention_layernorm`, [hidden], layer.postAttentionNorm));
    residual = g.op("Add", [residual, g.mlp(index, mlpIn, layer)]);
  });
  const finalHidden = g.rmsNorm(residual, g.float("model.norm", [hidden], weights.finalNorm));
  builder.addNode({
    opType: "MatMul",
    name: "lm_head",
    inputs: [finalHidden, g.float("lm_head", [hidden, vocab], weights.lmHead)],
    outputs: ["logits"],
  });
  if (options.haltHead) {
    // A scalar index of -1 picks the last position and drops the axis: [B, T, H] -> [B, H].
    const last = g.op("Gather", [finalHidden, g.int64([-1], true)], { axis: { int: 1 } });
    builder.addNode({
      opType: "MatMul",
      name: "halt_head",
      inputs: [last, g.float("halt_head", [hidden, 2], weights.haltHead)],
      outputs: ["halt_logits"],
    });
  }
  for (const output of io.outputs) builder.addOutput(output.name, output.dtype, output.shape);
  return builder.serialize();
}
