/**
 * An inference thread: owns the ONNX Runtime sessions it loaded and runs them one job at a time.
 * `session.run()` is synchronous native work, so it lives here and never on the HTTP loop.
 */
import { parentPort } from "node:worker_threads";
import * as ort from "onnxruntime-node";
import { type ForwardResult, generateTokens } from "./generation-loop.js";
import type { FromInferenceThread, JobReply, ToInferenceThread } from "./thread-protocol.js";

const sessions = new Map<string, ort.InferenceSession>();

function post(message: FromInferenceThread): void {
  if (message.type === "predicted") parentPort?.postMessage(message, [message.values.buffer]);
  else parentPort?.postMessage(message);
}

function sessionFor(modelKey: string): ort.InferenceSession {
  const session = sessions.get(modelKey);
  if (!session) throw new Error(`model ${modelKey} is not loaded on this thread`);
  return session;
}

function float32Output(outputs: ort.InferenceSession.OnnxValueMapType, name: string): ort.Tensor {
  const value = outputs[name];
  if (!(value instanceof ort.Tensor) || !(value.data instanceof Float32Array)) {
    throw new Error(`model output ${name} is missing or not float32`);
  }
  return value;
}

async function load(message: Extract<ToInferenceThread, { type: "load" }>): Promise<JobReply> {
  const started = performance.now();
  let session = sessions.get(message.modelKey);
  if (!session) {
    session = await ort.InferenceSession.create(message.path, {
      intraOpNumThreads: message.settings.intraOpThreads,
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
      executionProviders: message.settings.executionProviders,
    });
    sessions.set(message.modelKey, session);
  }
  return {
    type: "loaded",
    jobId: message.jobId,
    inputNames: [...session.inputNames],
    outputNames: [...session.outputNames],
    loadMs: performance.now() - started,
  };
}

async function generate(message: Extract<ToInferenceThread, { type: "generate" }>): Promise<JobReply> {
  const session = sessionFor(message.modelKey);
  const started = performance.now();
  const forward = async (ids: readonly number[], want: { logits: boolean; halt: boolean }): Promise<ForwardResult> => {
    const inputIds = new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [1, ids.length]);
    const fetches = [
      ...(want.logits ? [message.logitsName] : []),
      ...(want.halt && message.haltName ? [message.haltName] : []),
    ];
    const outputs = await session.run({ [message.inputName]: inputIds }, fetches);
    let nextTokenLogits = new Float32Array(0);
    if (want.logits) {
      const logits = float32Output(outputs, message.logitsName);
      const vocab = logits.dims[logits.dims.length - 1] ?? 0;
      const data = logits.data as Float32Array;
      // [1, seq, vocab] (or [1, vocab] for models that emit only the last position): the last row.
      nextTokenLogits = data.slice(data.length - vocab);
    }
    let haltLogits: [number, number] | null = null;
    if (want.halt && message.haltName) {
      const halt = float32Output(outputs, message.haltName).data as Float32Array;
      const [zContinue, zHalt] = halt.slice(halt.length - 2);
      if (zContinue !== undefined && zHalt !== undefined) haltLogits = [zContinue, zHalt];
    }
    return { nextTokenLogits, haltLogits };
  };
  const output = await generateTokens({
    promptIds: message.promptIds,
    maxNewTokens: message.maxNewTokens,
    temperature: message.temperature,
    topK: message.topK,
    topP: message.topP,
    repetitionPenalty: message.repetitionPenalty,
    stopSequences: message.stopSequences,
    textTokenLimit: message.textTokenLimit,
    seed: message.seed,
    eosTokenId: message.eosTokenId,
    readHaltHead: message.haltName !== null,
    forward,
  });
  return { type: "generated", jobId: message.jobId, ...output, inferenceTimeMs: performance.now() - started };
}

async function predict(message: Extract<ToInferenceThread, { type: "predict" }>): Promise<JobReply> {
  const session = sessionFor(message.modelKey);
  const started = performance.now();
  const input = new ort.Tensor("float32", message.values, [message.rows, message.features]);
  const outputs = await session.run({ [message.inputName]: input }, [message.outputName]);
  const output = float32Output(outputs, message.outputName);
  return {
    type: "predicted",
    jobId: message.jobId,
    dims: [...output.dims],
    values: (output.data as Float32Array).slice(),
    inferenceTimeMs: performance.now() - started,
  };
}

async function handle(message: ToInferenceThread): Promise<JobReply> {
  switch (message.type) {
    case "load":
      return load(message);
    case "generate":
      return generate(message);
    case "predict":
      return predict(message);
  }
}

if (!parentPort) throw new Error("inference-thread.ts must run as a worker thread");
parentPort.on("message", (message: ToInferenceThread) => {
  handle(message).then(post, (error: unknown) => {
    post({ type: "failed", jobId: message.jobId, message: error instanceof Error ? error.message : String(error) });
  });
});
post({ type: "ready" });
