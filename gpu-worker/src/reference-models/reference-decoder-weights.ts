/**
 * The reference decoder's weights, engineered rather than trained.
 *
 * The token embedding is sqrt(hidden) times the identity (hidden_size = vocab_size), so the
 * residual stream starts as a one-hot vector of unit RMS. After the final RMSNorm that vector is
 * again sqrt(hidden) * one-hot, and the lm_head holds a token-bigram log-probability table
 * counted from the corpus below (divided by sqrt(hidden)), so with the blocks switched off the
 * model would be exactly that bigram model. The attention and MLP blocks get small seeded
 * Gaussian weights: real computation over the whole context (through RoPE and the KV cache)
 * whose contribution moves the log-probabilities by about 0.1 on average (up to about 1):
 * enough that any cache or masking bug shows up in the outputs, small enough that greedy text
 * stays the bigram's readable text and the perplexity stays within a percent of the table's.
 */

import { argmax } from "../inference/sampling.js";
import { roundTo } from "../numbers.js";
import { createSeededRandom } from "../random/seeded-random.js";
import type { ReferenceTokenizer } from "./reference-tokenizer.js";

/**
 * The text the tokenizer's merges and the bigram table are counted from: one sequence per
 * paragraph (wrapped in `<s>` ... `</s>` when counting), printable ASCII. Dialogue turns mark
 * latent reasoning as `<bot>...<eot>`, so the model learns to open a latent span after
 * `Assistant:`. Changing a single character changes the model's bytes and its sha256.
 */
export const REFERENCE_DECODER_CORPUS: readonly string[] = [
  "Serving a model is the quiet part of machine learning that everyone notices when it breaks. " +
    "A request arrives at the edge, the edge checks the key, and then it picks the worker that already " +
    "holds the model. The worker loads the weights from storage, checks the hash, and keeps the model " +
    "warm in the memory of the card. When the next request comes in, the model is ready, and the answer " +
    "comes back in a few milliseconds.",
  "A language model writes one token at a time. It reads the text so far, scores every possible next " +
    "token, and the server picks one of them. The new token is added to the text, and the loop goes on " +
    "until the model says it is done or the limit on new tokens is reached. The cache keeps the keys and " +
    "values of every token, so each step only reads the new token. Batching puts many requests on the " +
    "card at once, and the worker streams each token to the client as soon as it exists.",
  // JSON only ever appears as one canonical object that ends its paragraph, and its key and
  // values never occur in prose: a bigram model then writes it well-formed and stops after it,
  // so refinement with a json_schema judge has answers that can pass.
  "The worker answers a health check with a small JSON object. Clients parse the reply and read " +
    "the one field before anything else. A worker that is loading a model says so, and a " +
    'worker with free memory replies {"status": "idle"}',
  "User: Is this reply valid JSON? Assistant: <bot>check the schema, then count the braces<eot> Yes, " +
    "the reply is valid JSON. User: How many workers are ready? Assistant: <bot>read the health reports " +
    "and count the healthy ones<eot> Three workers are ready. User: Can you check the logs? Assistant: " +
    "<bot>find the errors first<eot> The logs show one timeout and no errors. User: What does the worker " +
    'return? Assistant: <bot>check the schema<eot> {"status": "ok"}',
  "User: Which model should serve this request? Assistant: <bot>read the request and check the memory of " +
    "each worker<eot> The worker that already holds the model should serve it. User: Is the new version " +
    "ready for production? Assistant: <bot>check the tests, then read the metrics<eot> Yes, the tests " +
    "pass and the numbers look good. User: Show me the health as JSON. Assistant: <bot>check the schema<eot> " +
    '{"status": "busy"}',
  'User: Show me the health as JSON. Assistant: {"status": "ok"}',
  'User: Is the worker free? Assistant: {"status": "idle"}',
  'User: Report the worker health as JSON. Assistant: {"status": "ok"}',
  'User: Show me the health as JSON. Assistant: {"status": "busy"}',
  'User: What is the worker health as JSON? Assistant: {"status": "idle"}',
  'User: Send the health as JSON. Assistant: {"status": "ok"}',
  'User: Is the worker ready? Answer as JSON. Assistant: {"status": "busy"}',
  "Good serving is boring. The same request gives the same answer, the logs say what happened and " +
    "when, and the bill is easy to explain. Before a hard answer the model may think in a latent span " +
    "that the server hides from the client. Keep the models small when you can, measure before you " +
    "optimize, and write down why each setting has the value it has. Then the next person on call can " +
    "sleep through the night!",
];

/** The log-probability every token the model must never produce gets (before centring). */
export const REFERENCE_DECODER_BLOCKED_LOG_PROB = -30;
/** Pseudo-counts per bigram row spread like the unigram (as demo-lm), so rare rows back off sensibly. */
const BIGRAM_PRIOR_STRENGTH = 1;
const UNIGRAM_ADD_K = 0.5;

/** Halt logits [continue, halt] by what the last token ends with (demo-lm's table, over BPE tokens). */
const HALT_AFTER_SENTENCE_END: readonly [number, number] = [0, 3];
const HALT_AFTER_CLOSING_BRACE: readonly [number, number] = [0, 3];
const HALT_AFTER_CLAUSE_END: readonly [number, number] = [0, -1];
const HALT_OTHERWISE: readonly [number, number] = [0, -3];
const HALT_AFTER_EOS: readonly [number, number] = [0, 10];

export interface ReferenceDecoderDims {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  maxPositionEmbeddings: number;
  rmsNormEps: number;
  ropeTheta: number;
}

/** Standard deviations of the seeded block weights: visible in the logits, small enough to keep the bigram text (the tests measure both). */
export interface BlockWeightScales {
  queryKey: number;
  value: number;
  output: number;
  mlpIn: number;
  mlpOut: number;
}

export const DEFAULT_BLOCK_WEIGHT_SCALES: Readonly<BlockWeightScales> = {
  queryKey: 0.08,
  value: 0.05,
  output: 0.004,
  mlpIn: 0.05,
  mlpOut: 0.004,
};

export interface LayerWeights {
  inputNorm: Float32Array;
  /** [hidden, heads * headDim], applied as x @ W (the transpose of PyTorch's Linear weight). */
  query: Float32Array;
  key: Float32Array;
  value: Float32Array;
  /** [heads * headDim, hidden] */
  output: Float32Array;
  postAttentionNorm: Float32Array;
  /** [hidden, intermediate] */
  gate: Float32Array;
  up: Float32Array;
  /** [intermediate, hidden] */
  down: Float32Array;
}

export interface ReferenceDecoderWeights {
  /** [vocab, hidden] */
  embedding: Float32Array;
  layers: LayerWeights[];
  finalNorm: Float32Array;
  /** [hidden, vocab] */
  lmHead: Float32Array;
  /** [hidden, 2] */
  haltHead: Float32Array;
  metrics: { perplexity: number; bits_per_token: number; next_token_top1_accuracy: number; corpus_tokens: number };
}

/** Corpus paragraphs as token ids, each wrapped in BOS ... EOS. */
export function encodeCorpus(tokenizer: ReferenceTokenizer, corpus: readonly string[]): number[][] {
  const bos = tokenizer.specialTokenIds["<s>"];
  const eos = tokenizer.specialTokenIds["</s>"];
  return corpus.map((paragraph) => {
    for (const char of paragraph) {
      const code = char.charCodeAt(0);
      if (code < 0x20 || code > 0x7e) throw new RangeError(`the corpus must be printable ASCII (found ${code})`);
    }
    const ids = tokenizer.tokenizer.encode(paragraph, { add_special_tokens: false }).ids;
    return [bos, ...ids, eos];
  });
}

/** Tokens the model may produce: printable byte tokens, every merge, EOS and the latent markers. */
function producibleTokens(tokenizer: ReferenceTokenizer): boolean[] {
  const { specialTokenIds } = tokenizer;
  const firstSpecial = tokenizer.vocabSize - Object.keys(specialTokenIds).length;
  return tokenizer.tokenTexts.map((_, id) => {
    if (id < 256) return id >= 0x20 && id <= 0x7e;
    if (id < firstSpecial) return true;
    return id === specialTokenIds["</s>"] || id === specialTokenIds["<bot>"] || id === specialTokenIds["<eot>"];
  });
}

export interface BigramTable {
  /** [vocab(prev), vocab(next)] natural-log probabilities, row-major. */
  logProb: Float64Array;
  metrics: ReferenceDecoderWeights["metrics"];
}

export function computeBigramTable(tokenizer: ReferenceTokenizer, sequences: readonly number[][]): BigramTable {
  const vocab = tokenizer.vocabSize;
  const producible = producibleTokens(tokenizer);
  const producibleCount = producible.filter(Boolean).length;
  const unigramCounts = new Float64Array(vocab);
  const bigramCounts = new Float64Array(vocab * vocab);
  const rowTotals = new Float64Array(vocab);
  let total = 0;
  for (const sequence of sequences) {
    for (let i = 1; i < sequence.length; i++) {
      const prev = sequence[i - 1] ?? 0;
      const next = sequence[i] ?? 0;
      unigramCounts[next] = (unigramCounts[next] ?? 0) + 1;
      bigramCounts[prev * vocab + next] = (bigramCounts[prev * vocab + next] ?? 0) + 1;
      rowTotals[prev] = (rowTotals[prev] ?? 0) + 1;
      total += 1;
    }
  }
  const unigram = new Float64Array(vocab);
  for (let token = 0; token < vocab; token++) {
    if (producible[token]) {
      unigram[token] = ((unigramCounts[token] ?? 0) + UNIGRAM_ADD_K) / (total + UNIGRAM_ADD_K * producibleCount);
    }
  }
  const logProb = new Float64Array(vocab * vocab).fill(REFERENCE_DECODER_BLOCKED_LOG_PROB);
  for (let prev = 0; prev < vocab; prev++) {
    const rowTotal = (rowTotals[prev] ?? 0) + BIGRAM_PRIOR_STRENGTH;
    for (let next = 0; next < vocab; next++) {
      if (!producible[next]) continue;
      const count = bigramCounts[prev * vocab + next] ?? 0;
      logProb[prev * vocab + next] = Math.log((count + BIGRAM_PRIOR_STRENGTH * (unigram[next] ?? 0)) / rowTotal);
    }
  }

  let logLikelihood = 0;
  let correct = 0;
  for (const sequence of sequences) {
    for (let i = 1; i < sequence.length; i++) {
      const prev = sequence[i - 1] ?? 0;
      const next = sequence[i] ?? 0;
      logLikelihood += logProb[prev * vocab + next] ?? 0;
      if (argmax(logProb, prev * vocab, vocab) === next) correct += 1;
    }
  }
  const meanNll = -logLikelihood / total;
  return {
    logProb,
    metrics: {
      perplexity: roundTo(Math.exp(meanNll), 4),
      bits_per_token: roundTo(meanNll / Math.LN2, 4),
      next_token_top1_accuracy: roundTo(correct / total, 4),
      corpus_tokens: total,
    },
  };
}

export function haltLogitsAfter(tokenizer: ReferenceTokenizer, token: number): readonly [number, number] {
  if (token === tokenizer.specialTokenIds["</s>"]) return HALT_AFTER_EOS;
  // Specials spell themselves (`<bot>`), so they fall through to "otherwise".
  const last = (tokenizer.tokenTexts[token] ?? "").slice(-1);
  if (last === "." || last === "!" || last === "?") return HALT_AFTER_SENTENCE_END;
  if (last === "}") return HALT_AFTER_CLOSING_BRACE;
  if (last === "," || last === ";" || last === ":") return HALT_AFTER_CLAUSE_END;
  return HALT_OTHERWISE;
}

function gaussianMatrix(random: ReturnType<typeof createSeededRandom>, count: number, scale: number): Float32Array {
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = random.gaussian() * scale;
  return values;
}

export function buildReferenceDecoderWeights(
  tokenizer: ReferenceTokenizer,
  corpus: readonly string[],
  dims: ReferenceDecoderDims,
  seed: number,
  scales: BlockWeightScales = DEFAULT_BLOCK_WEIGHT_SCALES,
): ReferenceDecoderWeights {
  const { vocabSize: vocab, hiddenSize: hidden } = dims;
  if (hidden !== vocab) throw new RangeError("the reference decoder needs hidden_size == vocab_size");
  if (tokenizer.vocabSize !== vocab) throw new RangeError("tokenizer and model vocabulary sizes differ");
  const oneHotScale = Math.sqrt(hidden);

  const embedding = new Float32Array(vocab * hidden);
  for (let token = 0; token < vocab; token++) embedding[token * hidden + token] = oneHotScale;

  const table = computeBigramTable(tokenizer, encodeCorpus(tokenizer, corpus));
  // lmHead[prev, next] = centred log p(next | prev) / sqrt(hidden). Centring each row is free
  // (softmax ignores a constant per context) and keeps the blocks' perturbation from being
  // dominated by the table's large common offset.
  const lmHead = new Float32Array(hidden * vocab);
  for (let prev = 0; prev < vocab; prev++) {
    let mean = 0;
    for (let next = 0; next < vocab; next++) mean += table.logProb[prev * vocab + next] ?? 0;
    mean /= vocab;
    for (let next = 0; next < vocab; next++) {
      lmHead[prev * vocab + next] = ((table.logProb[prev * vocab + next] ?? 0) - mean) / oneHotScale;
    }
  }
  const haltHead = new Float32Array(hidden * 2);
  for (let token = 0; token < vocab; token++) {
    const [keepGoing, halt] = haltLogitsAfter(tokenizer, token);
    haltHead[token * 2] = keepGoing / oneHotScale;
    haltHead[token * 2 + 1] = halt / oneHotScale;
  }

  const random = createSeededRandom(seed);
  const qWidth = dims.numHeads * dims.headDim;
  const kvWidth = dims.numKeyValueHeads * dims.headDim;
  const layers: LayerWeights[] = [];
  for (let layer = 0; layer < dims.numLayers; layer++) {
    layers.push({
      inputNorm: new Float32Array(hidden).fill(1),
      query: gaussianMatrix(random, hidden * qWidth, scales.queryKey),
      key: gaussianMatrix(random, hidden * kvWidth, scales.queryKey),
      value: gaussianMatrix(random, hidden * kvWidth, scales.value),
      output: gaussianMatrix(random, qWidth * hidden, scales.output),
      postAttentionNorm: new Float32Array(hidden).fill(1),
      gate: gaussianMatrix(random, hidden * dims.intermediateSize, scales.mlpIn),
      up: gaussianMatrix(random, hidden * dims.intermediateSize, scales.mlpIn),
      down: gaussianMatrix(random, dims.intermediateSize * hidden, scales.mlpOut),
    });
  }

  return {
    embedding,
    layers,
    finalNorm: new Float32Array(hidden).fill(1),
    lmHead,
    haltHead,
    metrics: table.metrics,
  };
}
