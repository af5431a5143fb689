/**
 * What the generation engine is measured against, run in this process on the same ONNX bytes:
 *
 * - transformers.js `generate()` (greedy), the peer a Node user would otherwise reach for;
 * - the engine's own `KvCacheDecoder` driven directly, against full recompute of the same model
 *   (the whole sequence with an empty past every step), to show what the KV cache buys.
 *
 * Every session gets the worker's settings: one intra-op thread, sequential, all graph
 * optimizations.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { AutoModelForCausalLM, AutoTokenizer, env, type Tensor } from "@huggingface/transformers";
import { detectKvCacheLayout, KvCacheDecoder } from "@modelgate/gpu-worker/inference/decoder/kv-cache-decoder";
import { argmax } from "@modelgate/gpu-worker/inference/sampling";
import { writeHfModelFolder } from "@modelgate/gpu-worker/reference-models/hf-model-folder";
import type { BuiltReferenceDecoder } from "@modelgate/gpu-worker/reference-models/reference-decoder";
import * as ort from "onnxruntime-node";
import { timeIt } from "./bench-stats.js";

/** The worker's session settings (gpu-worker inference-thread.ts), with its intra-op thread count. */
export const sessionSettings = (intraOpThreads: number) =>
  ({
    intraOpNumThreads: intraOpThreads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  }) as const;

/**
 * Runs `load` while recording the options every onnxruntime-node session is created with.
 * transformers.js loads onnxruntime-node with `require`, the same module instance as ours, so
 * this sees what its `session_options` really became.
 */
async function recordSessionOptions<T>(load: () => Promise<T>): Promise<[ort.InferenceSession.SessionOptions[], T]> {
  const seen: ort.InferenceSession.SessionOptions[] = [];
  const original = ort.InferenceSession.create;
  const recording = (...args: unknown[]) => {
    const options = args.find((arg): arg is ort.InferenceSession.SessionOptions => {
      return typeof arg === "object" && arg !== null && !(arg instanceof Uint8Array) && !(arg instanceof ArrayBuffer);
    });
    seen.push(options ?? {});
    return Reflect.apply(original, ort.InferenceSession, args) as Promise<ort.InferenceSession>;
  };
  Object.defineProperty(ort.InferenceSession, "create", { value: recording, configurable: true, writable: true });
  try {
    return [seen, await load()];
  } finally {
    Object.defineProperty(ort.InferenceSession, "create", { value: original, configurable: true, writable: true });
  }
}

export interface TransformersPeer {
  /** Greedy `generate()`; the new ids and the wall time of the call. */
  generate(prompt: string, maxNewTokens: number): Promise<{ ids: number[]; ms: number }>;
  /** `intraOpNumThreads` of each session transformers.js created, as onnxruntime-node received it. */
  intraOpThreadsSeen: (number | undefined)[];
  release(): Promise<void>;
}

/** transformers.js on the HF folder of `built`, written to a temporary directory. */
export async function openTransformersPeer(
  built: BuiltReferenceDecoder,
  intraOpThreads: number,
): Promise<TransformersPeer> {
  const parent = await mkdtemp(join(os.tmpdir(), "modelgate-tjs-"));
  await writeHfModelFolder(join(parent, built.name), built);
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = `${parent}/`;
  const tokenizer = await AutoTokenizer.from_pretrained(built.name);
  // `session_options` is spread into onnxruntime-node's InferenceSession.create options
  // (transformers.js 4.3 src/models/session.js, backends/onnx.js); recorded to prove it.
  const [seen, model] = await recordSessionOptions(() =>
    AutoModelForCausalLM.from_pretrained(built.name, {
      dtype: "fp32",
      device: "cpu",
      session_options: sessionSettings(intraOpThreads),
    }),
  );
  return {
    intraOpThreadsSeen: seen.map((options) => options.intraOpNumThreads),
    async generate(prompt, maxNewTokens) {
      const inputs = tokenizer(prompt);
      const promptLength = (inputs.input_ids as Tensor).dims[1] ?? 0;
      const [ms, output] = await timeIt(
        async () => (await model.generate({ ...inputs, max_new_tokens: maxNewTokens, do_sample: false })) as Tensor,
      );
      const ids = Array.from(output.data as BigInt64Array, Number).slice(promptLength);
      return { ids, ms };
    },
    async release() {
      await model.dispose();
      await rm(parent, { recursive: true, force: true });
    },
  };
}

export interface InProcessDecoders {
  /** Greedy ids with the engine's KV-cache decoder (prefill, then one token per step). */
  withCache(promptIds: readonly number[], newTokens: number): Promise<number[]>;
  /** Greedy ids by full recompute: every step runs the whole sequence with an empty past. */
  fullRecompute(promptIds: readonly number[], newTokens: number): Promise<number[]>;
  release(): Promise<void>;
}

export async function openInProcessDecoders(onnx: Uint8Array, intraOpThreads: number): Promise<InProcessDecoders> {
  const session = await ort.InferenceSession.create(onnx, sessionSettings(intraOpThreads));
  const layout = detectKvCacheLayout(session, { logits: "logits", halt: null });
  if (!layout) throw new Error("the model has no KV-cache inputs");
  const emptyPast = new ort.Tensor("float32", new Float32Array(0), [1, layout.kvHeads, 0, layout.headDim]);
  const int64Row = (values: readonly number[]) =>
    new ort.Tensor("int64", BigInt64Array.from(values, BigInt), [1, values.length]);
  return {
    async withCache(promptIds, newTokens) {
      const decoder = new KvCacheDecoder(session, layout);
      const [prefilled] = await decoder.prefill([promptIds]);
      if (!prefilled) throw new Error("prefill answered nothing");
      let logits = prefilled.output.logits;
      const ids: number[] = [];
      for (let step = 0; step < newTokens; step++) {
        const token = argmax(logits);
        ids.push(token);
        if (step === newTokens - 1) break;
        const [output] = await decoder.step([{ sequence: prefilled.sequence, token }], false);
        if (!output) throw new Error("the decoder returned no row");
        logits = output.logits;
      }
      decoder.release(prefilled.sequence);
      return ids;
    },
    async fullRecompute(promptIds, newTokens) {
      const sequence = [...promptIds];
      const ids: number[] = [];
      for (let step = 0; step < newTokens; step++) {
        const feeds: Record<string, ort.Tensor> = {
          input_ids: int64Row(sequence),
          attention_mask: int64Row(sequence.map(() => 1)),
          position_ids: int64Row(sequence.map((_, i) => i)),
        };
        for (const layer of layout.layers) {
          feeds[layer.pastKey] = emptyPast;
          feeds[layer.pastValue] = emptyPast;
        }
        const outputs = await session.run(feeds, ["logits"]);
        const logits = outputs.logits?.data;
        if (!(logits instanceof Float32Array)) throw new Error("the model returned no float32 logits");
        const vocab = logits.length / sequence.length;
        // The last position's row of [1, length, vocab] (argmax answers an index within the row).
        const token = argmax(logits, logits.length - vocab, vocab);
        ids.push(token);
        sequence.push(token);
      }
      return ids;
    },
    release: () => session.release(),
  };
}
