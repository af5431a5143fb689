import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AutoModelForCausalLM, AutoTokenizer, env, Tensor } from "@huggingface/transformers";
import { haltProbability, RegisterVersionRequestSchema } from "@modelgate/shared";
import * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { HF_MODEL_FOLDER_FILES, writeHfModelFolder } from "../../src/reference-models/hf-model-folder.js";
import {
  type BuiltReferenceDecoder,
  buildReferenceDecoder,
  buildReferenceDecoderTokenizer,
  REFERENCE_DECODER_DIMS,
  REFERENCE_DECODER_LATENT_PROMPT,
} from "../../src/reference-models/reference-decoder.js";
import {
  computeBigramTable,
  encodeCorpus,
  REFERENCE_DECODER_CORPUS,
} from "../../src/reference-models/reference-decoder-weights.js";
import type { ReferenceTokenizer } from "../../src/reference-models/reference-tokenizer.js";
import {
  argmax,
  floatData,
  leftPadBatch,
  maxAbsDifference,
  ReferenceDecoderRunner,
} from "./reference-decoder-runner.js";

const TOLERANCE = 1e-4;
const sha256 = (bytes: Uint8Array | string): string => createHash("sha256").update(bytes).digest("hex");

function folderHashes(model: BuiltReferenceDecoder): string[] {
  return [model.onnx, model.tokenizerJson, model.tokenizerConfigJson, model.configJson, model.generationConfigJson].map(
    sha256,
  );
}

function logSoftmax(logits: Float32Array): Float64Array {
  let max = Number.NEGATIVE_INFINITY;
  for (const value of logits) max = Math.max(max, value);
  let sum = 0;
  for (const value of logits) sum += Math.exp(value - max);
  const logZ = max + Math.log(sum);
  return Float64Array.from(logits, (value) => value - logZ);
}

describe("ref-decoder", () => {
  let model: BuiltReferenceDecoder;
  let tokenizer: ReferenceTokenizer;
  let runner: ReferenceDecoderRunner;
  const encode = (text: string): number[] => tokenizer.tokenizer.encode(text).ids;

  beforeAll(async () => {
    model = buildReferenceDecoder();
    tokenizer = buildReferenceDecoderTokenizer();
    runner = await ReferenceDecoderRunner.create(model.onnx, model.spec);
  });

  it("builds byte-identical folders from the same source", () => {
    const again = folderHashes(buildReferenceDecoder());
    expect(again).toEqual(folderHashes(model));
    const withoutHalt = buildReferenceDecoder({ haltHead: false });
    expect(sha256(withoutHalt.onnx)).not.toBe(sha256(model.onnx));
    expect(withoutHalt.tokenizerJson).toBe(model.tokenizerJson);
    // A few MB: small enough to build in a test and to load in milliseconds.
    expect(model.onnx.byteLength).toBeGreaterThan(1_000_000);
    expect(model.onnx.byteLength).toBeLessThan(8_000_000);
  });

  it("has Optimum's decoder inputs and outputs, as registered", async () => {
    const layers = REFERENCE_DECODER_DIMS.numLayers;
    const cacheNames = (prefix: string) =>
      Array.from({ length: layers }, (_, n) => [`${prefix}.${n}.key`, `${prefix}.${n}.value`]).flat();
    expect(runner.session.inputNames).toEqual([
      "input_ids",
      "attention_mask",
      "position_ids",
      ...cacheNames("past_key_values"),
    ]);
    expect(runner.session.outputNames).toEqual(["logits", ...cacheNames("present"), "halt_logits"]);
    const { io } = model.registration;
    expect(io.inputs.map((t) => t.name)).toEqual(runner.session.inputNames);
    expect(io.outputs.map((t) => t.name)).toEqual(runner.session.outputNames);
    expect(io.inputs.find((t) => t.name === "past_key_values.0.key")?.shape).toEqual([
      "batch_size",
      model.spec.numKeyValueHeads,
      "past_sequence_length",
      model.spec.headDim,
    ]);
    expect(io.inputs.find((t) => t.name === "attention_mask")?.shape).toEqual(["batch_size", "total_sequence_length"]);

    // Prefill with an empty past, then one decode step on top of it.
    const { spec } = model;
    const prompt = encode("The worker");
    const length = prompt.length;
    const prefill = await runner.forwardFull(prompt);
    expect(prefill.outputs.logits?.dims).toEqual([1, length, spec.vocabSize]);
    expect(prefill.outputs["present.1.value"]?.dims).toEqual([1, spec.numKeyValueHeads, length, spec.headDim]);
    expect(prefill.outputs.halt_logits?.dims).toEqual([1, 2]);
    const step = await runner.forward({
      inputIds: [[42]],
      attentionMask: [new Array<number>(length + 1).fill(1)],
      positionIds: [[length]],
      past: prefill.present,
    });
    expect(step.outputs.logits?.dims).toEqual([1, 1, spec.vocabSize]);
    expect(step.outputs["present.0.key"]?.dims).toEqual([1, spec.numKeyValueHeads, length + 1, spec.headDim]);
  });

  it("registers as a causal LM once its tokenizer files are uploaded", () => {
    const parsed = RegisterVersionRequestSchema.safeParse({
      ...model.registration,
      artifact: { uri: "s3://models/ref-decoder/1/model.onnx", sha256: sha256(model.onnx), bytes: 1, format: "onnx" },
      tokenizer: {
        type: "hf-tokenizer",
        tokenizer_json: {
          uri: "s3://models/ref-decoder/1/tokenizer.json",
          sha256: sha256(model.tokenizerJson),
          bytes: 1,
        },
        eos_token_ids: [model.spec.eosTokenId],
      },
    });
    expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
    expect(model.registration.max_context_tokens).toBe(REFERENCE_DECODER_DIMS.maxPositionEmbeddings);
    expect(model.registration.runtime_config).toEqual({ halt_head_enabled: true });
    expect(model.registration.metrics.perplexity).toBeGreaterThan(1);

    const config = JSON.parse(model.configJson) as Record<string, unknown>;
    expect(config).toMatchObject({
      model_type: "llama",
      architectures: ["LlamaForCausalLM"],
      vocab_size: model.spec.vocabSize,
      num_key_value_heads: model.spec.numKeyValueHeads,
      head_dim: model.spec.headDim,
      bos_token_id: model.spec.bosTokenId,
      eos_token_id: model.spec.eosTokenId,
      pad_token_id: model.spec.padTokenId,
      use_halt_head: true,
    });
  });

  it("gives the same greedy tokens with the KV cache as with full recompute", async () => {
    const prompt = encode("The worker loads the weights");
    const full = await runner.greedyFullRecompute(prompt, 40);
    const cached = await runner.greedyIncremental(prompt, 40);
    expect(full.ids).toHaveLength(40);
    expect(cached.ids).toEqual(full.ids);
    expect(maxAbsDifference(cached.lastLogits, full.lastLogits)).toBeLessThan(TOLERANCE);
  });

  it("reads the cache: a wrong past changes the logits", async () => {
    // Guards the KV-cache test above against a model whose attention does not matter.
    const prompt = encode("The worker loads the weights");
    const prefill = await runner.forwardFull(prompt);
    const step = { inputIds: [[42]], attentionMask: [[...prompt.map(() => 1), 1]], positionIds: [[prompt.length]] };
    const right = runner.logitsAt(await runner.forward({ ...step, past: prefill.present }), 0);
    // The cache of the same prompt with one early token swapped, as a stale or misrouted cache would be.
    const other = await runner.forwardFull(prompt.map((id, position) => (position === 1 ? 42 : id)));
    const wrong = runner.logitsAt(await runner.forward({ ...step, past: other.present }), 0);
    expect(maxAbsDifference(right, wrong)).toBeGreaterThan(0.01);
  });

  it("ignores left padding in a batch, for prefill and for a decode step", async () => {
    const prompts = [encode("The worker loads the weights from storage"), encode("A request")];
    const batch = leftPadBatch(prompts, model.spec.padTokenId);
    expect(batch.attentionMask[1]?.[0]).toBe(0);
    const batched = await runner.forward(batch);
    const singles = await Promise.all(prompts.map((prompt) => runner.forwardFull(prompt)));

    const next: number[] = [];
    for (const [row, single] of singles.entries()) {
      const expected = runner.logitsAt(single, 0);
      expect(maxAbsDifference(runner.logitsAt(batched, row), expected)).toBeLessThan(TOLERANCE);
      next.push(argmax(expected));
    }

    // Guard: with the padding unmasked the short row would change, so the check above is not vacuous.
    const unmasked = await runner.forward({
      ...batch,
      attentionMask: batch.attentionMask.map((mask) => mask.map(() => 1)),
    });
    expect(maxAbsDifference(runner.logitsAt(unmasked, 1), runner.logitsAt(singles[1] ?? batched, 0))).toBeGreaterThan(
      0.01,
    );

    const width = batch.inputIds[0]?.length ?? 0;
    const decoded = await runner.forward({
      inputIds: next.map((id) => [id]),
      attentionMask: batch.attentionMask.map((mask) => [...mask, 1]),
      positionIds: prompts.map((prompt) => [prompt.length]),
      past: batched.present,
    });
    expect(decoded.outputs["present.0.key"]?.dims[2]).toBe(width + 1);
    for (const [row, prompt] of prompts.entries()) {
      const single = await runner.forward({
        inputIds: [[next[row] ?? 0]],
        attentionMask: [[...prompt.map(() => 1), 1]],
        positionIds: [[prompt.length]],
        past: singles[row]?.present,
      });
      expect(maxAbsDifference(runner.logitsAt(decoded, row), runner.logitsAt(single, 0))).toBeLessThan(TOLERANCE);
      const halt = floatData(decoded.outputs.halt_logits).subarray(row * 2, row * 2 + 2);
      expect(maxAbsDifference(halt, floatData(single.outputs.halt_logits))).toBeLessThan(TOLERANCE);
    }
  });

  it("halts after a sentence, a closing brace and EOS, not mid-word", async () => {
    const haltAfter = async (ids: number[]): Promise<number> => {
      const halt = (await runner.forwardFull(ids)).halt;
      if (!halt) throw new Error("no halt_logits");
      return haltProbability([...halt]);
    };
    expect(await haltAfter(encode("The worker loads the weights."))).toBeGreaterThan(0.7);
    expect(await haltAfter(encode("Then the next person on call can sleep!"))).toBeGreaterThan(0.7);
    expect(await haltAfter(encode('The reply is {"status": "ok"}'))).toBeGreaterThan(0.7);
    expect(await haltAfter([...encode("The worker is ready."), model.spec.eosTokenId])).toBeGreaterThan(0.99);
    const midWord = encode("The worker lo");
    expect(tokenizer.tokenTexts[midWord.at(-1) ?? 0]).toBe(" lo");
    expect(await haltAfter(midWord)).toBeLessThan(0.3);
    expect(await haltAfter(encode("The worker loads the"))).toBeLessThan(0.3);

    const noHalt = await ort.InferenceSession.create(buildReferenceDecoder({ haltHead: false }).onnx);
    expect(noHalt.outputNames).not.toContain("halt_logits");
  });

  it("opens a latent span greedily from the documented prompt", async () => {
    const { ids } = await runner.greedyIncremental(encode(REFERENCE_DECODER_LATENT_PROMPT), 40);
    expect(ids).toContain(model.spec.botTokenId);
    const text = tokenizer.tokenizer.decode(ids, { skip_special_tokens: false });
    expect(text).toMatch(/^ <bot>[ -~]+/);
  });

  it("is the corpus bigram model plus a measurable perturbation from its blocks", async () => {
    const sequences = encodeCorpus(tokenizer, REFERENCE_DECODER_CORPUS);
    const table = computeBigramTable(tokenizer, sequences);
    const vocab = model.spec.vocabSize;
    let logLikelihood = 0;
    let predictions = 0;
    let drift = 0;
    for (const sequence of sequences) {
      const output = await runner.forwardFull(sequence);
      for (let position = 0; position + 1 < sequence.length; position++) {
        const logProbs = logSoftmax(runner.logitsAt(output, 0, position));
        const prev = sequence[position] ?? 0;
        logLikelihood += logProbs[sequence[position + 1] ?? 0] ?? 0;
        predictions += 1;
        // Distance from the bigram table on the tokens the corpus actually continues with.
        const next = sequence[position + 1] ?? 0;
        drift += Math.abs((logProbs[next] ?? 0) - (table.logProb[prev * vocab + next] ?? 0));
      }
    }
    const perplexity = Math.exp(-logLikelihood / predictions);
    const registered = model.registration.metrics.perplexity ?? Number.NaN;
    expect(Math.abs(perplexity / registered - 1)).toBeLessThan(0.05);
    expect(drift / predictions).toBeGreaterThan(0.01);
    expect(drift / predictions).toBeLessThan(0.5);
  });

  it("loads in transformers.js, which generates the same greedy tokens", async () => {
    const parent = await mkdtemp(join(tmpdir(), "modelgate-ref-decoder-"));
    try {
      const written = await writeHfModelFolder(join(parent, model.name), model);
      expect(written.map((file) => file.path)).toEqual([...HF_MODEL_FOLDER_FILES]);
      const onnxFile = await readFile(join(parent, model.name, "onnx", "model.onnx"));
      expect(sha256(onnxFile)).toBe(sha256(model.onnx));
      expect(written.at(-1)?.sha256).toBe(sha256(model.onnx));

      env.allowRemoteModels = false;
      env.allowLocalModels = true;
      env.localModelPath = `${parent}/`;
      const hfTokenizer = await AutoTokenizer.from_pretrained(model.name);
      const hfModel = await AutoModelForCausalLM.from_pretrained(model.name, { dtype: "fp32", device: "cpu" });
      const generate = async (texts: string[], maxNewTokens: number): Promise<number[][]> => {
        const inputs = hfTokenizer(texts, { padding: true });
        const output = await hfModel.generate({ ...inputs, max_new_tokens: maxNewTokens, do_sample: false });
        if (!(output instanceof Tensor)) throw new TypeError("generate() did not return a tensor");
        const width = inputs.input_ids.dims[1] ?? 0;
        return (output.tolist() as bigint[][]).map((row) => row.slice(width).map(Number));
      };

      const prompt = encode(REFERENCE_DECODER_LATENT_PROMPT);
      const own = await runner.greedyFullRecompute(prompt, 32);
      expect(await generate([REFERENCE_DECODER_LATENT_PROMPT], 32)).toEqual([own.ids]);

      // A left-padded batch (transformers.js builds position_ids from the mask itself).
      const texts = ["The worker loads the weights from storage", "A request"];
      const expected = await Promise.all(
        texts.map(async (text) => (await runner.greedyFullRecompute(encode(text), 8)).ids),
      );
      expect(await generate(texts, 8)).toEqual(expected);
      await hfModel.dispose();
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });
});
