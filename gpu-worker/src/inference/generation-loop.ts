/**
 * Autoregressive generation for a causal LM without a KV cache: every step runs the model on the
 * whole sequence and reads the last position's logits. Runs inside an inference thread.
 */
import { createSeededRandom, sampleToken } from "./sampling.js";

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
  seed: number;
  eosTokenId: number;
  /** Whether to read the halt head on the final sequence. */
  readHaltHead: boolean;
  forward(ids: readonly number[], options: { logits: boolean; halt: boolean }): Promise<ForwardResult>;
}

export interface GenerationOutput {
  tokenIds: number[];
  finishReason: "eos" | "length";
  haltLogits: [number, number] | null;
}

export async function generateTokens(input: GenerationInput): Promise<GenerationOutput> {
  const random = createSeededRandom(input.seed);
  const sequence = [...input.promptIds];
  const generated: number[] = [];
  let finishReason: GenerationOutput["finishReason"] = "length";
  while (generated.length < input.maxNewTokens) {
    const { nextTokenLogits } = await input.forward(sequence, { logits: true, halt: false });
    const next = sampleToken(nextTokenLogits, input.temperature, random);
    generated.push(next);
    sequence.push(next);
    if (next === input.eosTokenId) {
      finishReason = "eos";
      break;
    }
  }
  // The halt head judges the finished text, so it reads the full sequence once more.
  const haltLogits = input.readHaltHead
    ? (await input.forward(sequence, { logits: false, halt: true })).haltLogits
    : null;
  return { tokenIds: generated, finishReason, haltLogits };
}
