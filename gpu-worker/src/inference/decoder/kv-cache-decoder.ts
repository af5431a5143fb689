/**
 * Decoder for Hugging Face Optimum decoder exports (`input_ids`, `attention_mask`,
 * `position_ids`, `past_key_values.N.key/value` → `logits`, `present.N.key/value`), with a KV
 * cache and continuous batching.
 *
 * Sequences decoding together share one batched cache [batch, heads, P, head_dim], each row
 * left-padded to the longest sequence and its padding masked out by `attention_mask`. While
 * the batch's members stay the same, each step's `present.*` outputs become the next step's
 * `past_key_values.*` as they are, with no copying: ONNX Runtime writes them straight into
 * preallocated buffers (two per tensor, used in turn), so a step allocates no cache memory.
 * Only when a sequence joins (after its own prefill) or leaves is the cache rebuilt, and then
 * trimmed to the longest member.
 */
import * as ort from "onnxruntime-node";
import { type CausalDecoder, type DecoderSequence, haltPairAt, type StepOutput } from "./causal-decoder.js";
import { float32Data } from "./full-sequence-decoder.js";

export interface KvCacheLayout {
  inputIds: string;
  attentionMask: string | null;
  positionIds: string | null;
  /** Per layer: past input and present output names for keys and values. */
  layers: { pastKey: string; pastValue: string; presentKey: string; presentValue: string }[];
  kvHeads: number;
  headDim: number;
  logits: string;
  halt: string | null;
}

const PAST_PATTERN = /^past_key_values\.(\d+)\.(key|value)$/;

/**
 * The Optimum layout of a session, read from its input/output metadata; undefined when the
 * model has no KV-cache inputs (it is then decoded by full recompute).
 */
export function detectKvCacheLayout(
  session: Pick<ort.InferenceSession, "inputNames" | "outputNames" | "inputMetadata">,
  names: { logits: string; halt: string | null },
): KvCacheLayout | undefined {
  const layerCount = session.inputNames.filter((name) => PAST_PATTERN.test(name)).length / 2;
  if (layerCount < 1 || !Number.isInteger(layerCount)) return undefined;
  const layers = Array.from({ length: layerCount }, (_, n) => ({
    pastKey: `past_key_values.${n}.key`,
    pastValue: `past_key_values.${n}.value`,
    presentKey: `present.${n}.key`,
    presentValue: `present.${n}.value`,
  }));
  for (const layer of layers) {
    for (const name of [layer.pastKey, layer.pastValue]) {
      if (!session.inputNames.includes(name)) throw new Error(`KV-cache model lacks input ${name}`);
    }
    for (const name of [layer.presentKey, layer.presentValue]) {
      if (!session.outputNames.includes(name)) throw new Error(`KV-cache model lacks output ${name}`);
    }
  }
  const pastMetadata = session.inputMetadata.find((m) => m.name === "past_key_values.0.key");
  if (!pastMetadata?.isTensor) throw new Error("past_key_values.0.key has no tensor metadata");
  if (pastMetadata.type !== "float32") {
    throw new Error(`KV cache of type ${pastMetadata.type} is not supported (float32 only)`);
  }
  const [, kvHeads, , headDim] = pastMetadata.shape;
  if (typeof kvHeads !== "number" || typeof headDim !== "number") {
    throw new Error(
      "past_key_values.0.key must declare fixed head count and head size ([batch, heads, past, head_dim])",
    );
  }
  return {
    inputIds: "input_ids",
    attentionMask: session.inputNames.includes("attention_mask") ? "attention_mask" : null,
    positionIds: session.inputNames.includes("position_ids") ? "position_ids" : null,
    layers,
    kvHeads,
    headDim,
    logits: names.logits,
    halt: names.halt,
  };
}

/** Where a sequence's cache is: row `row` of [rows, heads, width, head_dim] tensors, from `column` on. */
interface CachePlace {
  tensors: Float32Array[];
  row: number;
  width: number;
  column: number;
}

interface KvSequence extends DecoderSequence {
  /** Tokens the cache holds (prompt + fed tokens); also the next token's position. */
  length: number;
  /** Its cache between prefill and joining the batch (a row of the prefill's present.*). */
  own: CachePlace | undefined;
}

/**
 * Two buffers per past tensor: the batch cache lives in one while the next cache (a step's
 * `present.*`, or a rebuild) is written into the other; then they trade places.
 */
class CacheArenas {
  readonly #buffers: [Float32Array[], Float32Array[]];
  #current: 0 | 1 = 0;

  constructor(tensorCount: number) {
    const empty = () => Array.from({ length: tensorCount }, () => new Float32Array(0));
    this.#buffers = [empty(), empty()];
  }

  /** Views of `size` floats in the buffers that do not hold the current cache, grown when too small. */
  spare(size: number): Float32Array[] {
    const spare = this.#buffers[this.#current === 0 ? 1 : 0];
    return spare.map((buffer, t) => {
      let target = buffer;
      // Half again as much room: a growing cache reallocates now and then, not every step.
      if (target.length < size) {
        target = new Float32Array(Math.ceil(size * 1.5));
        spare[t] = target;
      }
      return target.subarray(0, size);
    });
  }

  /** The spare buffers now hold the current cache. */
  swap(): void {
    this.#current = this.#current === 0 ? 1 : 0;
  }
}

interface BatchCache {
  members: KvSequence[];
  /** One [members, heads, width, head_dim] array per past tensor (key and value of each layer). */
  tensors: Float32Array[];
  width: number;
}

export class KvCacheDecoder implements CausalDecoder {
  readonly batches = true;
  readonly #session: ort.InferenceSession;
  readonly #layout: KvCacheLayout;
  /** `present.*` names in tensor order. */
  readonly #presentNames: string[];
  readonly #arenas: CacheArenas;
  #batch: BatchCache = { members: [], tensors: [], width: 0 };
  #nextId = 1;

  constructor(session: ort.InferenceSession, layout: KvCacheLayout) {
    this.#session = session;
    this.#layout = layout;
    this.#arenas = new CacheArenas(layout.layers.length * 2);
    this.#presentNames = layout.layers.flatMap((l) => [l.presentKey, l.presentValue]);
  }

  /**
   * Prefills the prompts in as few calls as the padding budget allows, each left-padded to its
   * longest prompt (padding masked out, positions counting real tokens only), so a burst of new
   * requests costs one model run rather than one each.
   */
  async prefill(
    prompts: ReadonlyArray<readonly number[]>,
  ): Promise<Array<{ sequence: DecoderSequence; output: StepOutput }>> {
    const prefilled: Array<{ sequence: DecoderSequence; output: StepOutput }> = [];
    for (const group of groupsWithinPaddingBudget(prompts)) prefilled.push(...(await this.#prefillGroup(group)));
    return prefilled;
  }

  async #prefillGroup(
    prompts: ReadonlyArray<readonly number[]>,
  ): Promise<Array<{ sequence: DecoderSequence; output: StepOutput }>> {
    const rows = prompts.length;
    const width = Math.max(...prompts.map((p) => p.length));
    const tokens = new BigInt64Array(rows * width);
    const mask = new BigInt64Array(rows * width);
    const positions = new BigInt64Array(rows * width);
    prompts.forEach((prompt, row) => {
      const pad = width - prompt.length;
      prompt.forEach((id, i) => {
        tokens[row * width + pad + i] = BigInt(id);
        mask[row * width + pad + i] = 1n;
        positions[row * width + pad + i] = BigInt(i);
      });
    });
    const empty = this.#layout.layers.flatMap(() => [new Float32Array(0), new Float32Array(0)]);
    const outputs = await this.#run({
      tokens,
      rows,
      steps: width,
      past: empty,
      pastWidth: 0,
      mask,
      positions,
      readHalt: true,
    });
    return prompts.map((prompt, row) => {
      const own = { tensors: outputs.present, row, width, column: width - prompt.length };
      const sequence: KvSequence = { id: this.#nextId++, length: prompt.length, own };
      return { sequence, output: outputs.rows[row] ?? { logits: new Float32Array(0), halt: null } };
    });
  }

  async step(
    rows: ReadonlyArray<{ sequence: DecoderSequence; token: number }>,
    readHalt: boolean,
  ): Promise<StepOutput[]> {
    const members = rows.map((row) => row.sequence as KvSequence);
    if (!sameMembers(this.#batch.members, members)) this.#rebuild(members);
    const { width } = this.#batch;
    const count = members.length;
    const mask = new BigInt64Array(count * (width + 1));
    const positions = new BigInt64Array(count);
    members.forEach((member, row) => {
      // Left padding: the first (width - length) columns of the row hold no token.
      mask.fill(1n, row * (width + 1) + (width - member.length), (row + 1) * (width + 1));
      positions[row] = BigInt(member.length);
    });
    const { kvHeads, headDim } = this.#layout;
    const outputs = await this.#run({
      tokens: BigInt64Array.from(rows, (row) => BigInt(row.token)),
      rows: count,
      steps: 1,
      past: this.#batch.tensors,
      pastWidth: width,
      mask,
      positions,
      presentInto: this.#arenas.spare(count * kvHeads * (width + 1) * headDim),
      readHalt,
    });
    // The outputs are the cache for the next step, one column wider.
    this.#arenas.swap();
    this.#batch = { members, tensors: outputs.present, width: width + 1 };
    for (const member of members) member.length += 1;
    return outputs.rows;
  }

  release(sequence: DecoderSequence): void {
    (sequence as KvSequence).own = undefined;
  }

  /** Copies every member's cache (from its own prefill or the old batch) into a new batch. */
  #rebuild(members: KvSequence[]): void {
    const { kvHeads, headDim } = this.#layout;
    const old = this.#batch;
    const width = Math.max(...members.map((m) => m.length));
    const rebuilt = this.#arenas.spare(members.length * kvHeads * width * headDim);
    members.forEach((member, row) => {
      const oldRow = old.members.indexOf(member);
      const source: CachePlace | undefined =
        oldRow >= 0
          ? { tensors: old.tensors, row: oldRow, width: old.width, column: old.width - member.length }
          : member.own;
      if (!source) throw new Error(`sequence ${member.id} has no cache to join the batch with`);
      const targetColumn = width - member.length;
      rebuilt.forEach((target, t) => {
        const from = source.tensors[t];
        if (!from) throw new Error(`sequence ${member.id} has no cache tensor ${t}`);
        for (let head = 0; head < kvHeads; head++) {
          const src = ((source.row * kvHeads + head) * source.width + source.column) * headDim;
          const dst = ((row * kvHeads + head) * width + targetColumn) * headDim;
          target.set(from.subarray(src, src + member.length * headDim), dst);
        }
      });
      member.own = undefined;
    });
    this.#arenas.swap();
    this.#batch = { members, tensors: rebuilt, width };
  }

  async #run(input: {
    tokens: BigInt64Array;
    rows: number;
    steps: number;
    past: Float32Array[];
    pastWidth: number;
    mask: BigInt64Array;
    positions: BigInt64Array;
    /** Where ONNX Runtime writes `present.*` (one view per tensor, of exactly its size); it allocates when absent. */
    presentInto?: Float32Array[];
    readHalt: boolean;
  }): Promise<{ rows: StepOutput[]; present: Float32Array[] }> {
    const layout = this.#layout;
    const { rows, steps } = input;
    const feeds: Record<string, ort.Tensor> = {
      [layout.inputIds]: new ort.Tensor("int64", input.tokens, [rows, steps]),
    };
    if (layout.attentionMask) {
      feeds[layout.attentionMask] = new ort.Tensor("int64", input.mask, [rows, input.pastWidth + steps]);
    }
    if (layout.positionIds) feeds[layout.positionIds] = new ort.Tensor("int64", input.positions, [rows, steps]);
    const pastDims = [rows, layout.kvHeads, input.pastWidth, layout.headDim];
    layout.layers.forEach((layer, n) => {
      feeds[layer.pastKey] = new ort.Tensor("float32", input.past[2 * n] ?? new Float32Array(0), pastDims);
      feeds[layer.pastValue] = new ort.Tensor("float32", input.past[2 * n + 1] ?? new Float32Array(0), pastDims);
    });
    const presentDims = [rows, layout.kvHeads, input.pastWidth + steps, layout.headDim];
    const haltName = input.readHalt ? layout.halt : null;
    const fetches: Record<string, ort.Tensor | null> = { [layout.logits]: null };
    if (haltName) fetches[haltName] = null;
    for (const name of this.#presentNames) fetches[name] = null;
    input.presentInto?.forEach((view, t) => {
      const name = this.#presentNames[t];
      if (name !== undefined) fetches[name] = new ort.Tensor("float32", view, presentDims);
    });
    const outputs = await this.#session.run(feeds, fetches);
    const logits = float32Data(outputs, layout.logits);
    const vocab = logits.length / (rows * steps);
    const halt = haltName ? float32Data(outputs, haltName) : undefined;
    const rowOutputs = Array.from({ length: rows }, (_, row) => {
      // The last position of each row: [rows, steps, vocab].
      const end = (row * steps + steps) * vocab;
      return { logits: logits.slice(end - vocab, end), halt: halt ? haltPairAt(halt, row, rows) : null };
    });
    const present = input.presentInto ?? this.#presentNames.map((name) => float32Data(outputs, name));
    return { rows: rowOutputs, present };
  }
}

/** Padded tokens one batched prefill may run; a longer burst is split (a lone long prompt runs alone). */
const PREFILL_PADDED_TOKEN_BUDGET = 4096;

/** Consecutive prompts grouped so that rows × longest prompt stays within the budget. */
function groupsWithinPaddingBudget(prompts: ReadonlyArray<readonly number[]>): Array<Array<readonly number[]>> {
  const groups: Array<Array<readonly number[]>> = [];
  let group: Array<readonly number[]> = [];
  let longest = 0;
  for (const prompt of prompts) {
    const widest = Math.max(longest, prompt.length);
    if (group.length > 0 && (group.length + 1) * widest > PREFILL_PADDED_TOKEN_BUDGET) {
      groups.push(group);
      group = [];
      longest = 0;
    }
    group.push(prompt);
    longest = Math.max(longest, prompt.length);
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

function sameMembers(current: readonly KvSequence[], next: readonly KvSequence[]): boolean {
  return current.length === next.length && current.every((member, i) => member === next[i]);
}
