/**
 * An inference thread: owns the ONNX Runtime sessions it loaded and runs them. `session.run()`
 * is synchronous native work, so it lives here and never on the HTTP loop. Generations of one
 * model decode together through that model's DecodeScheduler; other jobs run between its steps.
 */
import { readFile } from "node:fs/promises";
import { parentPort } from "node:worker_threads";
import * as ort from "onnxruntime-node";
import { AutomatonTooLargeError } from "../engine/constraints/byte-nfa.js";
import { constraintFor } from "../engine/constraints/model-constraints.js";
import type { CausalDecoder } from "./decoder/causal-decoder.js";
import { DecodeScheduler } from "./decoder/decode-scheduler.js";
import { FullSequenceDecoder, float32Data } from "./decoder/full-sequence-decoder.js";
import { detectKvCacheLayout, KvCacheDecoder } from "./decoder/kv-cache-decoder.js";
import {
  type FromInferenceThread,
  type JobReply,
  type ThreadTensor,
  type ToInferenceThread,
  type TokenizerSource,
  transferablesOf,
} from "./thread-protocol.js";
import { createByteLevelTokenizer } from "./tokenizers/byte-level-tokenizer.js";
import { createHfTokenizer } from "./tokenizers/hf-tokenizer.js";
import type { TextTokenizer } from "./tokenizers/text-tokenizer.js";

interface LoadedModel {
  session: ort.InferenceSession;
  tokenizer: TextTokenizer | undefined;
  /** Causal LMs only. */
  scheduler: DecodeScheduler | undefined;
}

const HALT_OUTPUT = "halt_logits";
const models = new Map<string, LoadedModel>();
/** Running generations by job id, so a cancel message can stop one. */
const cancellations = new Map<number, AbortController>();

function post(message: FromInferenceThread): void {
  if (message.type === "inferred") parentPort?.postMessage(message, transferablesOf(message.outputs));
  else parentPort?.postMessage(message);
}

function modelFor(modelKey: string): LoadedModel {
  const model = models.get(modelKey);
  if (!model) throw new Error(`model ${modelKey} is not loaded on this thread`);
  return model;
}

async function createTokenizer(source: TokenizerSource): Promise<TextTokenizer> {
  if (source.type === "byte-level") return createByteLevelTokenizer(source.spec);
  const readJson = async (path: string) => JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
  return createHfTokenizer({
    tokenizerJson: await readJson(source.tokenizerJsonPath),
    tokenizerConfigJson: source.tokenizerConfigPath === undefined ? {} : await readJson(source.tokenizerConfigPath),
    eosTokenIds: source.eosTokenIds,
  });
}

/** A causal LM's decoder: KV cache + batching for Optimum exports, full recompute otherwise. */
function createDecoder(session: ort.InferenceSession): CausalDecoder {
  const halt = session.outputNames.includes(HALT_OUTPUT) ? HALT_OUTPUT : null;
  const logits = session.outputNames.includes("logits") ? "logits" : session.outputNames[0];
  if (logits === undefined) throw new Error("the model has no outputs");
  const layout = detectKvCacheLayout(session, { logits, halt });
  if (layout) return new KvCacheDecoder(session, layout);
  const inputIds = session.inputNames.includes("input_ids") ? "input_ids" : session.inputNames[0];
  if (inputIds === undefined) throw new Error("the model has no inputs");
  return new FullSequenceDecoder(session, { inputIds, logits, halt });
}

async function load(message: Extract<ToInferenceThread, { type: "load" }>): Promise<JobReply> {
  const started = performance.now();
  let model = models.get(message.modelKey);
  if (!model) {
    const session = await ort.InferenceSession.create(message.path, {
      intraOpNumThreads: message.settings.intraOpThreads,
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
      executionProviders: message.settings.executionProviders,
    });
    const tokenizer = message.tokenizer ? await createTokenizer(message.tokenizer) : undefined;
    const isGenerator = tokenizer !== undefined && !session.outputNames.includes("score");
    const scheduler = isGenerator
      ? new DecodeScheduler(createDecoder(session), tokenizer, message.settings.maxBatchSize)
      : undefined;
    model = { session, tokenizer, scheduler };
    models.set(message.modelKey, model);
  }
  return {
    type: "loaded",
    jobId: message.jobId,
    inputNames: [...model.session.inputNames],
    outputNames: [...model.session.outputNames],
    loadMs: performance.now() - started,
  };
}

async function unload(message: Extract<ToInferenceThread, { type: "unload" }>): Promise<JobReply> {
  const model = models.get(message.modelKey);
  models.delete(message.modelKey);
  await model?.session.release();
  return { type: "unloaded", jobId: message.jobId };
}

async function generate(message: Extract<ToInferenceThread, { type: "generate" }>): Promise<JobReply> {
  const { scheduler, tokenizer } = modelFor(message.modelKey);
  if (!scheduler || !tokenizer) throw new Error(`model ${message.modelKey} is not a causal LM`);
  const promptIds =
    message.prompt.kind === "text"
      ? tokenizer.encodePrompt(message.prompt.text)
      : tokenizer.encodeChat(message.prompt.messages, message.tools);
  const constraint = message.constraint === undefined ? undefined : constraintFor(tokenizer, message.constraint);
  if (constraint !== undefined && !constraint.ok) {
    return { type: "failed", jobId: message.jobId, code: "constraint_invalid", message: constraint.message };
  }
  let { maxNewTokens } = message.settings;
  const room = message.contextLimit === undefined ? maxNewTokens : message.contextLimit - promptIds.length;
  if (message.shrinkToFit && room >= 1) maxNewTokens = Math.min(maxNewTokens, room);
  if (maxNewTokens > room) {
    return {
      type: "failed",
      jobId: message.jobId,
      code: "context_overflow",
      message: `the prompt is ${promptIds.length} tokens; with max_new_tokens ${maxNewTokens} that is more than the model's ${message.contextLimit}-token context`,
    };
  }
  const jobId = message.jobId;
  const cancellation = new AbortController();
  cancellations.set(jobId, cancellation);
  try {
    const result = await scheduler.generate({
      settings: { ...message.settings, maxNewTokens, promptIds },
      signal: cancellation.signal,
      constraint: constraint?.value,
      ...(message.stream ? { onText: (text: string) => post({ type: "text", jobId, text }) } : {}),
    });
    if (result === "cancelled") return { type: "failed", jobId, code: "cancelled", message: "cancelled" };
    return { type: "generated", jobId, ...result, promptTokens: promptIds.length };
  } catch (error) {
    // The request's constraint, not the model, failed: the caller hears it as a bad request.
    if (error instanceof AutomatonTooLargeError)
      return { type: "failed", jobId, code: "constraint_invalid", message: error.message };
    throw error;
  } finally {
    cancellations.delete(jobId);
  }
}

/** A tensor model: typed arrays straight into onnxruntime tensors, outputs copied out to be transferred. */
async function infer(message: Extract<ToInferenceThread, { type: "infer" }>): Promise<JobReply> {
  const { session } = modelFor(message.modelKey);
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of message.inputs) feeds[input.name] = new ort.Tensor(input.type, input.data, input.dims);
  const started = performance.now();
  let results: ort.InferenceSession.ReturnType;
  try {
    results = await session.run(feeds, message.outputNames);
  } catch (error) {
    // The inputs fit the contract (checked before), so a node refusing them is about their values
    // (an index out of range, sizes a node cannot combine): the caller's to fix, named by node.
    const text = error instanceof Error ? error.message : String(error);
    const refused = /running (\S+) node\. Name:'([^']*)' Status Message: (.*)/s.exec(text);
    if (!refused) throw error;
    const reason = `${refused[1]} node '${refused[2]}': ${refused[3]?.trim() ?? ""}`;
    return { type: "failed", jobId: message.jobId, code: "invalid_input", message: reason.slice(0, 500) };
  }
  const inferenceTimeMs = performance.now() - started;
  const outputs = message.outputNames.map((name): ThreadTensor => {
    const value = results[name];
    if (!(value instanceof ort.Tensor)) throw new Error(`output ${name} is not a tensor`);
    // Copied: the runtime owns the output's memory, and the copy can be transferred.
    const data = Array.isArray(value.data)
      ? [...(value.data as string[])]
      : (value.data as ThreadTensor["data"]).slice();
    return { name, type: value.type as ThreadTensor["type"], dims: [...value.dims], data } as ThreadTensor;
  });
  return { type: "inferred", jobId: message.jobId, outputs, inferenceTimeMs };
}

/** A scorer model: the text's ids in, one `score` in [0, 1] out. */
async function score(message: Extract<ToInferenceThread, { type: "score" }>): Promise<JobReply> {
  const { session, tokenizer } = modelFor(message.modelKey);
  if (!tokenizer) throw new Error(`model ${message.modelKey} has no tokenizer`);
  const started = performance.now();
  const ids = tokenizer.encodePrompt(message.text);
  const inputName = session.inputNames.includes("input_ids") ? "input_ids" : (session.inputNames[0] ?? "input_ids");
  const outputs = await session.run(
    { [inputName]: new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [1, ids.length]) },
    ["score"],
  );
  const value = float32Data(outputs, "score")[0];
  if (value === undefined) throw new Error("the scorer returned no score");
  return { type: "scored", jobId: message.jobId, score: value, inferenceTimeMs: performance.now() - started };
}

async function handle(message: Exclude<ToInferenceThread, { type: "cancel" }>): Promise<JobReply> {
  switch (message.type) {
    case "load":
      return load(message);
    case "unload":
      return unload(message);
    case "generate":
      return generate(message);
    case "infer":
      return infer(message);
    case "score":
      return score(message);
  }
}

if (!parentPort) throw new Error("inference-thread.ts must run as a worker thread");
parentPort.on("message", (message: ToInferenceThread) => {
  if (message.type === "cancel") {
    cancellations.get(message.jobId)?.abort();
    return;
  }
  handle(message).then(post, (error: unknown) => {
    post({ type: "failed", jobId: message.jobId, message: error instanceof Error ? error.message : String(error) });
  });
});
post({ type: "ready" });
