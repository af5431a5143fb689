/**
 * Decoder for models that take only `input_ids` (no KV cache inputs), such as demo-lm: every
 * step runs the whole sequence again and reads the last position. Sequences run one by one.
 */
import * as ort from "onnxruntime-node";
import { type CausalDecoder, type DecoderSequence, haltPairAt, type StepOutput } from "./causal-decoder.js";

export interface FullSequenceNames {
  inputIds: string;
  logits: string;
  halt: string | null;
}

interface FullSequence extends DecoderSequence {
  ids: number[];
}

export class FullSequenceDecoder implements CausalDecoder {
  readonly batches = false;
  readonly #session: ort.InferenceSession;
  readonly #names: FullSequenceNames;
  #nextId = 1;

  constructor(session: ort.InferenceSession, names: FullSequenceNames) {
    this.#session = session;
    this.#names = names;
  }

  async prefill(
    prompts: ReadonlyArray<readonly number[]>,
  ): Promise<Array<{ sequence: DecoderSequence; output: StepOutput }>> {
    const prefilled: Array<{ sequence: DecoderSequence; output: StepOutput }> = [];
    for (const promptIds of prompts) {
      const sequence: FullSequence = { id: this.#nextId++, ids: [...promptIds] };
      prefilled.push({ sequence, output: await this.#run(sequence.ids, true) });
    }
    return prefilled;
  }

  async step(
    rows: ReadonlyArray<{ sequence: DecoderSequence; token: number }>,
    readHalt: boolean,
  ): Promise<StepOutput[]> {
    const outputs: StepOutput[] = [];
    for (const { sequence, token } of rows) {
      const full = sequence as FullSequence;
      full.ids.push(token);
      outputs.push(await this.#run(full.ids, readHalt));
    }
    return outputs;
  }

  release(): void {}

  async #run(ids: readonly number[], readHalt: boolean): Promise<StepOutput> {
    const inputIds = new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [1, ids.length]);
    const halt = readHalt ? this.#names.halt : null;
    const fetches = [this.#names.logits, ...(halt ? [halt] : [])];
    const outputs = await this.#session.run({ [this.#names.inputIds]: inputIds }, fetches);
    const logits = float32Data(outputs, this.#names.logits);
    const vocab = outputs[this.#names.logits]?.dims.at(-1) ?? 0;
    // [1, seq, vocab] (or [1, vocab] for models that emit only the last position): the last row.
    const last = logits.slice(logits.length - vocab);
    return { logits: last, halt: halt ? haltPairAt(float32Data(outputs, halt), 0, 1) : null };
  }
}

export function float32Data(outputs: ort.InferenceSession.OnnxValueMapType, name: string): Float32Array {
  const value = outputs[name];
  if (!(value instanceof ort.Tensor) || !(value.data instanceof Float32Array)) {
    throw new Error(`model output ${name} is missing or not float32`);
  }
  return value.data;
}
