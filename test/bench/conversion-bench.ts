/**
 * The conversion benchmark (issue 6), in this process on the CPU: ref-decoder-large (≈54 MB
 * fp32, its MLP matrices dominating as in a real decoder) converted to fp16, int8 and int4 with
 * the same `convertModel` the worker's pipeline runs. Per target: conversion time, size vs fp32,
 * top-1 next-token agreement with fp32 teacher-forced over the reference corpus (909 positions;
 * strict, plus agreement up to near-ties of the fp32 logits), and CPU inference speed (prefill of
 * 128 tokens, and 64 greedy tokens with the KV cache) side by side with the fp32 original.
 */
import { type ConversionTarget, convertModel } from "../../gpu-worker/src/conversion/convert-model.js";
import { compareLogits } from "../../gpu-worker/src/conversion/top1-agreement.js";
import { buildLargeReferenceDecoder } from "../../gpu-worker/src/reference-models/reference-decoder-large.js";
import { REFERENCE_DECODER_CORPUS } from "../../gpu-worker/src/reference-models/reference-decoder-weights.js";
import {
  ReferenceDecoderRunner,
  teacherForcedLogits,
} from "../../gpu-worker/test/reference-models/reference-decoder-runner.js";
import { type BenchRow, fmt, mark, median } from "./bench-stats.js";

const TARGETS: readonly ConversionTarget[] = ["fp16", "int8", "int4"];
const SIZE_TARGET: Record<ConversionTarget, number> = { fp16: 0.55, int8: 0.3, int4: 0.2 };
const AGREEMENT_TARGET: Record<ConversionTarget, number> = { fp16: 0.999, int8: 0.99, int4: 0.95 };
/** Near-tie margin for the secondary agreement figure: fp32's own top-2 gaps at the flips are below it. */
const TIE_MARGIN = 0.05;
const SPEED_RUNS = 5;
const PREFILL_TOKENS = 128;
const DECODE_TOKENS = 64;

interface Speed {
  prefillMs: number;
  decodeTokensPerSecond: number;
}

/** Median prefill time of 128 tokens and greedy decode rate over 64 tokens with the KV cache. */
async function measureSpeed(runner: ReferenceDecoderRunner, prompt: readonly number[]): Promise<Speed> {
  await runner.forwardFull(prompt.slice(0, PREFILL_TOKENS));
  await runner.greedyIncremental(prompt.slice(0, 8), 4);
  const prefill: number[] = [];
  const decode: number[] = [];
  for (let run = 0; run < SPEED_RUNS; run++) {
    let started = performance.now();
    await runner.forwardFull(prompt.slice(0, PREFILL_TOKENS));
    prefill.push(performance.now() - started);
    started = performance.now();
    await runner.greedyIncremental(prompt.slice(0, 8), DECODE_TOKENS);
    decode.push(DECODE_TOKENS / ((performance.now() - started) / 1000));
  }
  return { prefillMs: median(prefill), decodeTokensPerSecond: median(decode) };
}

export async function benchConversion(): Promise<{ rows: BenchRow[]; notes: string[] }> {
  const rows: BenchRow[] = [];
  const model = buildLargeReferenceDecoder();
  const encode = (text: string) => model.tokenizer.tokenizer.encode(text, { add_special_tokens: false }).ids;
  const sequences = REFERENCE_DECODER_CORPUS.map((paragraph) => [model.spec.bosTokenId, ...encode(paragraph)]);
  const positions = sequences.reduce((total, sequence) => total + sequence.length, 0);
  const prompt = sequences.flat();
  const original = await ReferenceDecoderRunner.create(model.onnx, model.spec);
  const reference = await teacherForcedLogits(original, sequences);
  const baseline = await measureSpeed(original, prompt);
  const megabytes = (bytes: number) => `${fmt(bytes / 1e6, 1)} MB`;
  rows.push([
    `ref-decoder-large fp32: ${megabytes(model.onnx.byteLength)}; prefill ${PREFILL_TOKENS} tokens / greedy decode with KV cache`,
    `${fmt(baseline.prefillMs)} ms / ${fmt(baseline.decodeTokensPerSecond, 0)} tok/s`,
    "(baseline)",
  ]);
  for (const target of TARGETS) {
    const outcome = convertModel(model.onnx, target);
    if (!outcome.ok) throw new Error(`${target} conversion failed: ${outcome.reason}`);
    const runner = await ReferenceDecoderRunner.create(outcome.bytes, model.spec);
    const comparison = compareLogits(
      reference,
      await teacherForcedLogits(runner, sequences),
      positions,
      model.spec.vocabSize,
      TIE_MARGIN,
    );
    const speed = await measureSpeed(runner, prompt);
    rows.push(
      [`${target}: conversion time (convertModel, one run)`, `${fmt(outcome.stats.durationMs / 1000, 2)} s`, "—"],
      [
        `${target}: size vs fp32`,
        `${fmt(outcome.stats.sizeRatio, 3)}× (${megabytes(outcome.bytes.byteLength)})`,
        `≤ ${SIZE_TARGET[target]}× ${mark(outcome.stats.sizeRatio <= SIZE_TARGET[target])}`,
      ],
      [
        `${target}: top-1 next-token agreement with fp32, ${comparison.comparedPositions} corpus positions (up to near-ties ≤ ${TIE_MARGIN})`,
        `${fmt(comparison.top1Agreement * 100, 2)} % (${fmt(comparison.tieAwareAgreement * 100, 2)} %), max |Δlogit| ${fmt(comparison.maxAbsDiff, 3)}`,
        `≥ ${AGREEMENT_TARGET[target] * 100} % ${mark(comparison.top1Agreement >= AGREEMENT_TARGET[target])}`,
      ],
      [
        `${target}: CPU prefill ${PREFILL_TOKENS} tokens / greedy decode (vs fp32)`,
        `${fmt(speed.prefillMs)} ms / ${fmt(speed.decodeTokensPerSecond, 0)} tok/s`,
        `${fmt(baseline.prefillMs / speed.prefillMs, 2)}× / ${fmt(speed.decodeTokensPerSecond / baseline.decodeTokensPerSecond, 2)}× fp32's speed`,
      ],
    );
  }
  const notes = [
    "Conversion: ref-decoder-large (2 layers, hidden 512, MLP 4096, vocab 512, halt head), converted in this process by the worker's convertModel; speed with onnxruntime-node on the CPU execution provider, one session each, median of 5.",
    "On the CPU, ORT wraps fp16 arithmetic in casts to fp32 (it has fp16 kernels only for data movement and normalisation), so fp16 saves memory and bandwidth here, not compute; MatMulNBits (int4) and DequantizeLinear (int8) dequantize weights at run time.",
  ];
  return { rows, notes };
}
