/**
 * demo-lm: a byte-level bigram language model, small enough to build in milliseconds and real
 * enough that greedy and sampled generation produce readable (if silly) English. The
 * log-probability table is counted from a built-in corpus, so the model is reproducible from
 * source and its perplexity is a measured number rather than a made-up one.
 */

import { argmax } from "../inference/sampling.js";
import { roundTo } from "../numbers.js";
import { OnnxGraphBuilder } from "../onnx/onnx-graph-builder.js";
import type { BuiltReferenceModel } from "./index.js";

export const DEMO_LM_VOCAB_SIZE = 260;
export const DEMO_LM_BOS_TOKEN_ID = 256;
export const DEMO_LM_EOS_TOKEN_ID = 257;
export const DEMO_LM_BOT_TOKEN_ID = 258;
export const DEMO_LM_EOT_TOKEN_ID = 259;

/** The logit given to every token the model must never produce (non-printable bytes and specials). */
export const DEMO_LM_BLOCKED_LOGIT = -30;

/** Printable ASCII, space included: the only bytes the model generates. */
const FIRST_PRINTABLE = 0x20;
const LAST_PRINTABLE = 0x7e;
const PRINTABLE_COUNT = LAST_PRINTABLE - FIRST_PRINTABLE + 1;

/**
 * Dirichlet (add-k toward the unigram distribution) smoothing strength: each row gets this many
 * pseudo-counts spread like the unigram, so rare or unseen previous bytes back off to the unigram
 * instead of to a flat distribution over punctuation.
 */
const BIGRAM_PRIOR_STRENGTH = 1;
/** Add-k smoothing of the unigram itself, so that every printable byte keeps some mass. */
const UNIGRAM_ADD_K = 0.5;

/** Halt logits [continue, halt]: a sentence end makes halting likely, anything else unlikely. */
const HALT_AFTER_SENTENCE_END: readonly [number, number] = [0, 3];
const HALT_AFTER_CLAUSE_END: readonly [number, number] = [0, -1];
const HALT_OTHERWISE: readonly [number, number] = [0, -3];
const HALT_AFTER_EOS: readonly [number, number] = [0, 10];

/**
 * The training text: one sequence per paragraph (each is preceded by BOS when counting), all
 * printable ASCII. Changing a single character changes the model's bytes and its sha256.
 */
export const DEMO_LM_CORPUS: readonly string[] = [
  "Serving a model is the quiet part of machine learning that everyone notices when it breaks. " +
    "A request arrives at the edge, the edge checks the key, and then it has to decide which worker " +
    "should answer. The worker loads the weights from storage, checks the hash, and keeps the model " +
    "warm in the memory of the graphics card. When the next request comes in, the model is already " +
    "there, and the answer comes back in a few milliseconds.",
  "The registry keeps every version of every model. A new version starts in staging, where it can " +
    "be tested with real traffic from a few trusted clients. When the numbers look good, an operator " +
    "promotes it to production, and the old version is archived. Nothing is ever deleted in a hurry, " +
    "so a bad release can be rolled back in one command.",
  "Each worker reports its health, the models it has loaded, and the memory that is still free. " +
    "The edge uses these reports to route a request to the worker that already holds the model, or " +
    "to the one with the most room to load it. If a worker stops answering, the edge sends the next " +
    "request somewhere else and tries the quiet worker again later.",
  "A language model writes one token at a time. It reads the text so far, scores every possible " +
    "next token, and the server picks one of them, either the best one or a random one drawn with a " +
    "temperature. The new token is added to the text, and the loop goes on until the model says it " +
    "is done or the limit on new tokens is reached. Streaming sends each token to the client as soon " +
    "as it exists, so the reader never waits for the whole answer.",
  "Good serving is boring. The same request gives the same answer, the logs say what happened and " +
    "when, and the bill is easy to explain. Keep the models small when you can, measure before you " +
    "optimize, and write down why each setting has the value it has. Then the next person on call " +
    "can sleep through the night!",
];

function isPrintable(token: number): boolean {
  return token >= FIRST_PRINTABLE && token <= LAST_PRINTABLE;
}

/** UTF-8 bytes of each paragraph, preceded by BOS. */
function corpusSequences(corpus: readonly string[]): number[][] {
  const encoder = new TextEncoder();
  return corpus.map((paragraph) => {
    const bytes = [...encoder.encode(paragraph)];
    for (const byte of bytes) {
      if (!isPrintable(byte)) throw new RangeError(`demo-lm corpus must be printable ASCII (found byte ${byte})`);
    }
    return [DEMO_LM_BOS_TOKEN_ID, ...bytes];
  });
}

export interface DemoLmTables {
  /** [vocab, vocab] row-major: logits[prev * vocab + next]; log-probabilities for printable `next`. */
  logits: Float32Array;
  /** [vocab, 2] row-major: [continue, halt] for the last token seen. */
  haltLogits: Float32Array;
  metrics: { perplexity: number; bits_per_byte: number; next_byte_top1_accuracy: number; corpus_bytes: number };
}

/** Counts the corpus and turns the counts into the model's tables (pure, deterministic). */
export function computeDemoLmTables(corpus: readonly string[] = DEMO_LM_CORPUS): DemoLmTables {
  const vocab = DEMO_LM_VOCAB_SIZE;
  const sequences = corpusSequences(corpus);

  const unigramCounts = new Float64Array(vocab);
  const bigramCounts = new Float64Array(vocab * vocab);
  const rowTotals = new Float64Array(vocab);
  let unigramTotal = 0;
  for (const sequence of sequences) {
    for (let i = 1; i < sequence.length; i++) {
      const prev = sequence[i - 1] ?? 0;
      const next = sequence[i] ?? 0;
      unigramCounts[next] = (unigramCounts[next] ?? 0) + 1;
      bigramCounts[prev * vocab + next] = (bigramCounts[prev * vocab + next] ?? 0) + 1;
      rowTotals[prev] = (rowTotals[prev] ?? 0) + 1;
      unigramTotal += 1;
    }
  }

  const unigram = new Float64Array(vocab);
  for (let token = FIRST_PRINTABLE; token <= LAST_PRINTABLE; token++) {
    unigram[token] = ((unigramCounts[token] ?? 0) + UNIGRAM_ADD_K) / (unigramTotal + UNIGRAM_ADD_K * PRINTABLE_COUNT);
  }

  // Float64 log-probabilities for the metrics, rounded once to float32 for the graph.
  const logProb = new Float64Array(vocab * vocab).fill(DEMO_LM_BLOCKED_LOGIT);
  for (let prev = 0; prev < vocab; prev++) {
    const total = (rowTotals[prev] ?? 0) + BIGRAM_PRIOR_STRENGTH;
    for (let next = FIRST_PRINTABLE; next <= LAST_PRINTABLE; next++) {
      const count = bigramCounts[prev * vocab + next] ?? 0;
      logProb[prev * vocab + next] = Math.log((count + BIGRAM_PRIOR_STRENGTH * (unigram[next] ?? 0)) / total);
    }
  }
  const logits = Float32Array.from(logProb);

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
  const meanNll = -logLikelihood / unigramTotal;

  const haltLogits = new Float32Array(vocab * 2);
  for (let token = 0; token < vocab; token++) {
    const halt = haltLogitsAfter(token);
    haltLogits[token * 2] = halt[0];
    haltLogits[token * 2 + 1] = halt[1];
  }

  return {
    logits,
    haltLogits,
    metrics: {
      perplexity: roundTo(Math.exp(meanNll), 4),
      bits_per_byte: roundTo(meanNll / Math.LN2, 4),
      next_byte_top1_accuracy: roundTo(correct / unigramTotal, 4),
      corpus_bytes: unigramTotal,
    },
  };
}

function haltLogitsAfter(token: number): readonly [number, number] {
  if (token === DEMO_LM_EOS_TOKEN_ID) return HALT_AFTER_EOS;
  const char = isPrintable(token) ? String.fromCharCode(token) : "";
  if (char === "." || char === "!" || char === "?") return HALT_AFTER_SENTENCE_END;
  if (char === "," || char === ";" || char === ":") return HALT_AFTER_CLAUSE_END;
  return HALT_OTHERWISE;
}

export interface DemoLmOptions {
  /** Adds the `halt_logits` output (seed 000's halt head). Default true. */
  haltHead?: boolean;
}

export function buildDemoLm(options: DemoLmOptions = {}): BuiltReferenceModel {
  const haltHead = options.haltHead ?? true;
  const vocab = DEMO_LM_VOCAB_SIZE;
  const tables = computeDemoLmTables();

  const graph = new OnnxGraphBuilder({
    graphName: "demo_lm",
    docString: "modelgate demo-lm: byte-level bigram language model with an optional halt head",
  });
  graph.addInput("input_ids", "int64", [1, "sequence"]);
  graph.addFloatInitializer("bigram_logits", [vocab, vocab], tables.logits);
  // Row `prev` of the table is the next-token distribution, so a Gather by id is the whole model.
  graph.addNode({
    opType: "Gather",
    name: "next_token_logits",
    inputs: ["bigram_logits", "input_ids"],
    outputs: ["logits"],
    attributes: { axis: { int: 0 } },
  });
  graph.addOutput("logits", "float32", [1, "sequence", vocab]);

  if (haltHead) {
    graph.addFloatInitializer("halt_table", [vocab, 2], tables.haltLogits);
    // A scalar index of -1 selects the last position and drops the axis: [1, T] -> [1].
    graph.addInt64Initializer("last_position", [], [-1]);
    graph.addNode({
      opType: "Gather",
      name: "last_token",
      inputs: ["input_ids", "last_position"],
      outputs: ["last_token_id"],
      attributes: { axis: { int: 1 } },
    });
    graph.addNode({
      opType: "Gather",
      name: "halt_head",
      inputs: ["halt_table", "last_token_id"],
      outputs: ["halt_logits"],
      attributes: { axis: { int: 0 } },
    });
    graph.addOutput("halt_logits", "float32", [1, 2]);
  }

  return {
    name: "demo-lm",
    onnx: graph.serialize(),
    registration: {
      kind: "causal-lm",
      io: {
        inputs: [{ name: "input_ids", dtype: "int64", shape: [1, "sequence"] }],
        outputs: [
          { name: "logits", dtype: "float32", shape: [1, "sequence", vocab] },
          ...(haltHead ? [{ name: "halt_logits", dtype: "float32" as const, shape: [1, 2] }] : []),
        ],
      },
      tokenizer: {
        type: "byte-level",
        vocab_size: vocab,
        bos_token_id: DEMO_LM_BOS_TOKEN_ID,
        eos_token_id: DEMO_LM_EOS_TOKEN_ID,
      },
      categories: ["general"],
      primary_category: "general",
      // The registry's 0–100 benchmark scale: next-byte top-1 accuracy on the training corpus, in percent.
      benchmark_scores: { next_byte_top1: roundTo(tables.metrics.next_byte_top1_accuracy * 100, 2) },
      metrics: { ...tables.metrics },
      runtime_config: { halt_head_enabled: haltHead },
      description:
        "Byte-level bigram language model counted from a built-in English corpus about serving models " +
        "(ids 0-255 are UTF-8 bytes, 256 BOS, 257 EOS, 258 <bot>, 259 <eot>). Generates printable ASCII only" +
        (haltHead ? "; its halt head favours halting after '.', '!' and '?'." : "."),
    },
  };
}
