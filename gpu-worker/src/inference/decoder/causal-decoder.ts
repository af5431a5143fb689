/**
 * How the generation engine runs a causal LM, whatever its export looks like: a prompt is
 * prefilled once, then each step feeds one token per sequence. Implementations decide whether
 * the steps of several sequences run as one batch.
 */

export interface StepOutput {
  /** Logits for the token after the last fed position (vocabulary-sized). */
  logits: Float32Array;
  /** [continue, halt] for the sequence so far, when the model has a halt head and it was asked for. */
  halt: [number, number] | null;
}

/** A sequence the decoder holds state for (its KV cache, or its ids). */
export interface DecoderSequence {
  readonly id: number;
}

export interface CausalDecoder {
  /** Whether `step` runs many sequences in one model call (continuous batching). */
  readonly batches: boolean;
  /**
   * Runs the prompts (in one batched call when the model allows) and answers, in the same
   * order, a sequence to step and the output for its first new token.
   */
  prefill(prompts: ReadonlyArray<readonly number[]>): Promise<Array<{ sequence: DecoderSequence; output: StepOutput }>>;
  /**
   * Feeds one token to each sequence; answers in the same order. The halt head is read only
   * when `readHalt` is set: ONNX Runtime then skips it, which is a measurable share of a small
   * model's step.
   */
  step(rows: ReadonlyArray<{ sequence: DecoderSequence; token: number }>, readHalt: boolean): Promise<StepOutput[]>;
  /** Frees what the decoder holds for a sequence that is done. */
  release(sequence: DecoderSequence): void;
}

/** The [continue, halt] pair of row `row` in a [batch, 2] (or longer) halt tensor. */
export function haltPairAt(data: Float32Array, row: number, rows: number): [number, number] | null {
  const width = data.length / rows;
  const zContinue = data[row * width + width - 2];
  const zHalt = data[row * width + width - 1];
  return zContinue === undefined || zHalt === undefined ? null : [zContinue, zHalt];
}
