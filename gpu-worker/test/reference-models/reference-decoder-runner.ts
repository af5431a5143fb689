/**
 * Drives the reference decoder through onnxruntime-node in the Optimum layout: full recompute
 * (empty past every step) and incremental decoding (past_key_values from the previous present.*),
 * for single prompts and left-padded batches.
 */
import * as ort from "onnxruntime-node";
import type { ReferenceDecoderSpec } from "../../src/reference-models/reference-decoder.js";

export type PastKeyValues = Record<string, ort.Tensor>;

export interface ForwardInput {
  /** [B][T] */
  inputIds: readonly (readonly number[])[];
  /** [B][P + T] */
  attentionMask: readonly (readonly number[])[];
  /** [B][T] */
  positionIds: readonly (readonly number[])[];
  past?: PastKeyValues;
}

export interface ForwardOutput {
  /** [B, T, V] row-major. */
  logits: Float32Array;
  sequenceLength: number;
  /** `past_key_values.N.*` for the next step, taken from `present.N.*`. */
  present: PastKeyValues;
  /** [B, 2], or undefined when the model has no halt head. */
  halt: Float32Array | undefined;
  outputs: ort.InferenceSession.OnnxValueMapType;
}

export interface GreedyResult {
  /** Generated ids only (the prompt excluded), ending at EOS if it was produced. */
  ids: number[];
  /** Logits of the last step (the distribution the last generated id was picked from). */
  lastLogits: Float32Array;
}

function int64Tensor(rows: readonly (readonly number[])[]): ort.Tensor {
  const width = rows[0]?.length ?? 0;
  if (rows.some((row) => row.length !== width)) throw new RangeError("ragged int64 batch");
  return new ort.Tensor(
    "int64",
    BigInt64Array.from(rows.flat(), (value) => BigInt(value)),
    [rows.length, width],
  );
}

export function floatData(tensor: ort.Tensor | undefined): Float32Array {
  if (!tensor || !(tensor.data instanceof Float32Array)) throw new TypeError("expected a float32 tensor");
  return tensor.data;
}

export function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if ((values[i] ?? 0) > (values[best] ?? 0)) best = i;
  return best;
}

export function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new RangeError(`length ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
  return max;
}

const range = (start: number, end: number): number[] => Array.from({ length: end - start }, (_, i) => start + i);

export class ReferenceDecoderRunner {
  readonly session: ort.InferenceSession;
  readonly spec: ReferenceDecoderSpec;

  constructor(session: ort.InferenceSession, spec: ReferenceDecoderSpec) {
    this.session = session;
    this.spec = spec;
  }

  static async create(onnx: Uint8Array, spec: ReferenceDecoderSpec): Promise<ReferenceDecoderRunner> {
    return new ReferenceDecoderRunner(await ort.InferenceSession.create(onnx), spec);
  }

  emptyPast(batch: number): PastKeyValues {
    const past: PastKeyValues = {};
    for (let layer = 0; layer < this.spec.numLayers; layer++) {
      for (const kind of ["key", "value"]) {
        past[`past_key_values.${layer}.${kind}`] = new ort.Tensor("float32", new Float32Array(0), [
          batch,
          this.spec.numKeyValueHeads,
          0,
          this.spec.headDim,
        ]);
      }
    }
    return past;
  }

  async forward(input: ForwardInput): Promise<ForwardOutput> {
    const batch = input.inputIds.length;
    const outputs = await this.session.run({
      input_ids: int64Tensor(input.inputIds),
      attention_mask: int64Tensor(input.attentionMask),
      position_ids: int64Tensor(input.positionIds),
      ...(input.past ?? this.emptyPast(batch)),
    });
    const present: PastKeyValues = {};
    for (const [name, tensor] of Object.entries(outputs)) {
      if (name.startsWith("present.")) present[name.replace("present.", "past_key_values.")] = tensor;
    }
    return {
      logits: floatData(outputs.logits),
      sequenceLength: input.inputIds[0]?.length ?? 0,
      present,
      halt: outputs.halt_logits ? floatData(outputs.halt_logits) : undefined,
      outputs,
    };
  }

  /** The logits row of position `position` (default the last) of batch row `row`. */
  logitsAt(output: ForwardOutput, row: number, position = output.sequenceLength - 1): Float32Array {
    const vocab = this.spec.vocabSize;
    const start = (row * output.sequenceLength + position) * vocab;
    return output.logits.slice(start, start + vocab);
  }

  /** One unpadded sequence, no cache: positions 0..n-1. */
  async forwardFull(ids: readonly number[]): Promise<ForwardOutput> {
    return this.forward({ inputIds: [ids], attentionMask: [ids.map(() => 1)], positionIds: [range(0, ids.length)] });
  }

  /** Greedy decoding that feeds the whole sequence with an empty past at every step. */
  async greedyFullRecompute(prompt: readonly number[], steps: number): Promise<GreedyResult> {
    const ids = [...prompt];
    const generated: number[] = [];
    let lastLogits: Float32Array = new Float32Array(0);
    for (let step = 0; step < steps; step++) {
      lastLogits = this.logitsAt(await this.forwardFull(ids), 0);
      const next = argmax(lastLogits);
      ids.push(next);
      generated.push(next);
      if (next === this.spec.eosTokenId) break;
    }
    return { ids: generated, lastLogits };
  }

  /** Greedy decoding with the KV cache: one prefill, then one token per step. */
  async greedyIncremental(prompt: readonly number[], steps: number): Promise<GreedyResult> {
    let output = await this.forwardFull(prompt);
    let length = prompt.length;
    const generated: number[] = [];
    let lastLogits = this.logitsAt(output, 0);
    for (let step = 0; step < steps; step++) {
      const next = argmax(lastLogits);
      generated.push(next);
      if (next === this.spec.eosTokenId || step === steps - 1) break;
      output = await this.forward({
        inputIds: [[next]],
        attentionMask: [range(0, length + 1).map(() => 1)],
        positionIds: [[length]],
        past: output.present,
      });
      length += 1;
      lastLogits = this.logitsAt(output, 0);
    }
    return { ids: generated, lastLogits };
  }
}

/**
 * Left-pads prompts to one length the way Hugging Face does: mask 0 on padding, positions
 * `cumsum(mask) - 1` with padding positions set to 1.
 */
export function leftPadBatch(
  prompts: readonly (readonly number[])[],
  padId: number,
): { inputIds: number[][]; attentionMask: number[][]; positionIds: number[][] } {
  const width = Math.max(...prompts.map((prompt) => prompt.length));
  const inputIds = prompts.map((prompt) => [...new Array<number>(width - prompt.length).fill(padId), ...prompt]);
  const attentionMask = prompts.map((prompt) => [
    ...new Array<number>(width - prompt.length).fill(0),
    ...new Array<number>(prompt.length).fill(1),
  ]);
  const positionIds = attentionMask.map((mask) => {
    let seen = 0;
    return mask.map((bit) => {
      seen += bit;
      return bit === 0 ? 1 : seen - 1;
    });
  });
  return { inputIds, attentionMask, positionIds };
}

/** Teacher-forced logits of each sequence from its start, concatenated: [positions, vocab]. */
export async function teacherForcedLogits(
  runner: ReferenceDecoderRunner,
  sequences: readonly (readonly number[])[],
): Promise<Float32Array> {
  const rows: Float32Array[] = [];
  for (const sequence of sequences) rows.push((await runner.forwardFull(sequence)).logits);
  const all = new Float32Array(rows.reduce((total, row) => total + row.length, 0));
  let offset = 0;
  for (const row of rows) {
    all.set(row, offset);
    offset += row.length;
  }
  return all;
}
