/**
 * Autoregressive generation for a causal LM without a KV cache: every step runs the model on the
 * whole sequence and reads the last position's logits. Runs inside an inference thread.
 */
import { applyRepetitionPenalty, createSeededRandom, sampleToken } from "./sampling.js";

export interface ForwardResult {
  /** Logits for the token after the last position, length = vocabulary size. */
  nextTokenLogits: Float32Array;
  /** [continue, halt] for the sequence, when requested and the model has a halt head. */
  haltLogits: [number, number] | null;
}

export interface GenerationInput {
  promptIds: readonly number[];
  maxNewTokens: number;
  temperature: number;
  /** Only for sampled decoding; greedy decoding ignores them. */
  topK?: number | undefined;
  topP?: number | undefined;
  /** 1 disables it; greedy decoding applies it too. */
  repetitionPenalty: number;
  /** Token id sequences of the stop strings; matched against the visible text only. */
  stopSequences: readonly (readonly number[])[];
  /** Ids below this are visible text; the others (BOS, EOS, latent markers) are not. */
  textTokenLimit: number;
  seed: number;
  eosTokenId: number;
  /** Whether to read the halt head on the final sequence. */
  readHaltHead: boolean;
  forward(ids: readonly number[], options: { logits: boolean; halt: boolean }): Promise<ForwardResult>;
}

export interface GenerationOutput {
  tokenIds: number[];
  finishReason: "eos" | "length" | "stop";
  haltLogits: [number, number] | null;
}

export async function generateTokens(input: GenerationInput): Promise<GenerationOutput> {
  const random = createSeededRandom(input.seed);
  const sequence = [...input.promptIds];
  const generated: number[] = [];
  // Where each visible token sits in `generated`, so stop strings match across special tokens.
  const textPositions: number[] = [];
  const filters = { topK: input.topK, topP: input.topP };
  let finishReason: GenerationOutput["finishReason"] = "length";
  while (generated.length < input.maxNewTokens) {
    const { nextTokenLogits } = await input.forward(sequence, { logits: true, halt: false });
    const logits = applyRepetitionPenalty(nextTokenLogits, sequence, input.repetitionPenalty);
    const next = sampleToken(logits, input.temperature, random, filters);
    generated.push(next);
    sequence.push(next);
    if (next === input.eosTokenId) {
      finishReason = "eos";
      break;
    }
    if (next < input.textTokenLimit) {
      textPositions.push(generated.length - 1);
      const stopStart = visibleStopStart(generated, textPositions, input.stopSequences);
      if (stopStart !== undefined) {
        // The stop string is not part of the answer: cut it (and anything after it) away.
        generated.length = stopStart;
        sequence.length = input.promptIds.length + stopStart;
        finishReason = "stop";
        break;
      }
    }
  }
  // The halt head judges the finished text, so it reads the full sequence once more.
  const haltLogits = input.readHaltHead
    ? (await input.forward(sequence, { logits: false, halt: true })).haltLogits
    : null;
  return { tokenIds: generated, finishReason, haltLogits };
}

/** Where in `generated` a stop sequence that the visible text now ends with begins, if any. */
function visibleStopStart(
  generated: readonly number[],
  textPositions: readonly number[],
  stopSequences: readonly (readonly number[])[],
): number | undefined {
  for (const stop of stopSequences) {
    const offset = textPositions.length - stop.length;
    if (stop.length === 0 || offset < 0) continue;
    if (stop.every((id, j) => generated[textPositions[offset + j] ?? -1] === id)) return textPositions[offset];
  }
  return undefined;
}
