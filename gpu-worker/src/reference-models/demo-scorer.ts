/**
 * demo-scorer: a reference `scorer` model for `{ type: "model" }` judges. It is not clever — it
 * rates how JSON-like a byte sequence looks — but it is a real ONNX graph that a worker loads and
 * runs like any scorer, deterministic, and small enough to build from source in a millisecond.
 *
 *   score = sigmoid(DEMO_SCORER_BIAS + mean over positions of weight[input_id])
 *
 * The per-token weights reward JSON structure (`{ } [ ] : , "`) and digits, are neutral on
 * whitespace and the special tokens, and penalise letters, other punctuation and non-ASCII bytes,
 * so `{"name": "Ada", "age": 36}` scores high and a sentence of prose scores low.
 */

import { roundTo } from "../numbers.js";
import { OnnxGraphBuilder } from "../onnx/onnx-graph-builder.js";
import { DEMO_LM_BOS_TOKEN_ID, DEMO_LM_EOS_TOKEN_ID, DEMO_LM_VOCAB_SIZE } from "./demo-lm.js";
import type { BuiltReferenceModel } from "./index.js";

/** The same byte-level vocabulary as demo-lm: bytes 0–255, BOS 256, EOS 257, 258/259 latent markers. */
export const DEMO_SCORER_VOCAB_SIZE = DEMO_LM_VOCAB_SIZE;
export const DEMO_SCORER_BIAS = 0;

/** Per-token weights, in logit units. */
const STRUCTURE_WEIGHT = 6;
const DIGIT_WEIGHT = 2;
const WHITESPACE_WEIGHT = 0;
const LETTER_WEIGHT = -2;
const OTHER_PRINTABLE_WEIGHT = -1;
const OTHER_BYTE_WEIGHT = -2;
/** BOS, EOS and the latent markers only dilute the mean; they say nothing about the answer. */
const SPECIAL_TOKEN_WEIGHT = 0;

const JSON_STRUCTURE = new Set([...'{}[]:,"'].map((char) => char.charCodeAt(0)));
const WHITESPACE = new Set([..." \t\n\r"].map((char) => char.charCodeAt(0)));

function weightOf(token: number): number {
  if (token >= 256) return SPECIAL_TOKEN_WEIGHT;
  if (JSON_STRUCTURE.has(token)) return STRUCTURE_WEIGHT;
  if (WHITESPACE.has(token)) return WHITESPACE_WEIGHT;
  if (token >= 0x30 && token <= 0x39) return DIGIT_WEIGHT;
  if ((token >= 0x41 && token <= 0x5a) || (token >= 0x61 && token <= 0x7a)) return LETTER_WEIGHT;
  if (token >= 0x20 && token <= 0x7e) return OTHER_PRINTABLE_WEIGHT;
  return OTHER_BYTE_WEIGHT;
}

/** The weight table the graph gathers from, one float per token id. */
export function demoScorerWeights(): Float32Array {
  return Float32Array.from({ length: DEMO_SCORER_VOCAB_SIZE }, (_, token) => weightOf(token));
}

/** `BOS + UTF-8 bytes + EOS`, the sequence the scorer is measured on. */
export function demoScorerIds(text: string): number[] {
  return [DEMO_LM_BOS_TOKEN_ID, ...new TextEncoder().encode(text), DEMO_LM_EOS_TOKEN_ID];
}

/** The graph's arithmetic in plain TypeScript (float64): the reference its output is tested against. */
export function demoScorerReferenceScore(ids: readonly number[]): number {
  if (ids.length === 0) throw new RangeError("demo-scorer needs at least one token");
  let sum = 0;
  for (const id of ids) sum += weightOf(id);
  return 1 / (1 + Math.exp(-(DEMO_SCORER_BIAS + sum / ids.length)));
}

/** Labelled examples the registered metrics are measured on. */
export const DEMO_SCORER_EXAMPLES: readonly { text: string; json: boolean }[] = [
  { text: '{"name": "Ada", "age": 36}', json: true },
  { text: "[1, 2, 3, 5, 8, 13]", json: true },
  { text: '{"ok": true, "items": [{"id": 1}, {"id": 2}]}', json: true },
  { text: '```json\n{"model": "demo-lm", "version": 3}\n```', json: true },
  { text: "Her name is Ada and she is thirty-six years old.", json: false },
  { text: "The first few Fibonacci numbers are one, two, three and five.", json: false },
  { text: "Sure! Everything is fine and there are two items.", json: false },
  { text: "The model is demo-lm, version three.", json: false },
];

/** Mean score per label and the share of (JSON, prose) pairs the scorer orders correctly. */
export function measureDemoScorer(): { json_mean_score: number; prose_mean_score: number; pairwise_accuracy: number } {
  const scored = DEMO_SCORER_EXAMPLES.map((example) => ({
    json: example.json,
    score: demoScorerReferenceScore(demoScorerIds(example.text)),
  }));
  const json = scored.filter((example) => example.json).map((example) => example.score);
  const prose = scored.filter((example) => !example.json).map((example) => example.score);
  const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  let correct = 0;
  for (const a of json) for (const b of prose) if (a > b) correct += 1;
  return {
    json_mean_score: roundTo(mean(json), 4),
    prose_mean_score: roundTo(mean(prose), 4),
    pairwise_accuracy: roundTo(correct / (json.length * prose.length), 4),
  };
}

export function buildDemoScorer(): BuiltReferenceModel {
  const vocab = DEMO_SCORER_VOCAB_SIZE;
  const graph = new OnnxGraphBuilder({
    graphName: "demo_scorer",
    docString: "modelgate demo-scorer: sigmoid(bias + mean per-token weight), rating how JSON-like a text looks",
  });
  graph.addInput("input_ids", "int64", [1, "sequence"]);
  graph.addFloatInitializer("token_weights", [vocab], demoScorerWeights());
  graph.addFloatInitializer("bias", [], [DEMO_SCORER_BIAS]);
  graph.addNode({
    opType: "Gather",
    name: "weight_per_token",
    inputs: ["token_weights", "input_ids"],
    outputs: ["token_logits"],
    attributes: { axis: { int: 0 } },
  });
  // Opset 17 still takes ReduceMean's axes as an attribute (an input from opset 18).
  graph.addNode({
    opType: "ReduceMean",
    name: "mean_over_sequence",
    inputs: ["token_logits"],
    outputs: ["mean_logit"],
    attributes: { axes: { ints: [1] }, keepdims: { int: 1 } },
  });
  graph.addNode({ opType: "Add", name: "add_bias", inputs: ["mean_logit", "bias"], outputs: ["score_logit"] });
  graph.addNode({ opType: "Sigmoid", name: "to_probability", inputs: ["score_logit"], outputs: ["score"] });
  graph.addOutput("score", "float32", [1, 1]);

  return {
    name: "demo-scorer",
    onnx: graph.serialize(),
    registration: {
      kind: "scorer",
      io: {
        inputs: [{ name: "input_ids", dtype: "int64", shape: [1, "sequence"] }],
        outputs: [{ name: "score", dtype: "float32", shape: [1, 1] }],
      },
      tokenizer: {
        type: "byte-level",
        vocab_size: vocab,
        bos_token_id: DEMO_LM_BOS_TOKEN_ID,
        eos_token_id: DEMO_LM_EOS_TOKEN_ID,
      },
      metrics: measureDemoScorer(),
      description:
        "Reference scorer for model judges: sigmoid of the mean per-byte weight, rewarding JSON structure " +
        "characters and digits and penalising letters, so JSON-looking text scores near 1 and prose near 0 " +
        "(byte-level ids as demo-lm: 0-255 UTF-8 bytes, 256 BOS, 257 EOS).",
    },
  };
}
