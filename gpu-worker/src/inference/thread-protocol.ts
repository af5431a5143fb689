/** Messages between the HTTP process and its inference threads (structured-clone friendly). */
import type {
  ConstraintSpec,
  NumericTensorValues,
  TensorDtype,
  TokenizerSpec,
  ToolDefinition,
} from "@modelgate/shared";
import type { ExecutionProvider } from "../config.js";
import type { PromptForm } from "../engine/refinement.js";
import type { BatchExecutions, GenerationTiming } from "../metrics/worker-metrics.js";
import type { SequenceSettings } from "./generation-sequence.js";

export interface SessionSettings {
  intraOpThreads: number;
  executionProviders: ExecutionProvider[];
  /** Most sequences of one model decoding in one batch. */
  maxBatchSize: number;
}

/** How the thread builds a model's tokenizer: the spec, plus local paths of its files. */
export type TokenizerSource =
  | { type: "byte-level"; spec: Extract<TokenizerSpec, { type: "byte-level" }> }
  | { type: "hf-tokenizer"; tokenizerJsonPath: string; tokenizerConfigPath: string | undefined; eosTokenIds: number[] };

/** A tensor as it crosses to and from an inference thread: onnxruntime's type name, dims and elements. */
export interface ThreadTensor {
  name: string;
  type: TensorDtype;
  dims: number[];
  /** Typed arrays are transferred, not copied; BYTES (`string`) tensors are string arrays. */
  data: NumericTensorValues | string[];
}

/** The ArrayBuffers to transfer with `tensors`, each once (a buffer may back several views). */
export function transferablesOf(tensors: readonly ThreadTensor[]): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const tensor of tensors) if (!Array.isArray(tensor.data)) buffers.add(tensor.data.buffer);
  return [...buffers];
}

/** Why a job failed, when the caller can act on it. */
export type JobFailureCode = "context_overflow" | "cancelled" | "constraint_invalid" | "invalid_input";

export type ToInferenceThread =
  | {
      type: "load";
      jobId: number;
      modelKey: string;
      path: string;
      settings: SessionSettings;
      /** Causal LMs and scorers: how text becomes ids. */
      tokenizer: TokenizerSource | undefined;
    }
  | { type: "unload"; jobId: number; modelKey: string }
  | {
      type: "generate";
      jobId: number;
      modelKey: string;
      prompt: PromptForm;
      settings: Omit<SequenceSettings, "promptIds">;
      /** Constrained decoding: the thread compiles it (cached) against the model's vocabulary. */
      constraint: ConstraintSpec | undefined;
      /** Rendered by the chat template (its `tools` variable) with `messages`. */
      tools: ToolDefinition[] | undefined;
      /** Prompt + new tokens may not exceed this (the model's context length). */
      contextLimit: number | undefined;
      /** Lower max new tokens to what the context has room for, rather than failing. */
      shrinkToFit: boolean;
      /** Send `text` progress messages as visible text appears. */
      stream: boolean;
    }
  | {
      /** A tensor model: these inputs in, the named outputs out (one `session.run`). */
      type: "infer";
      jobId: number;
      modelKey: string;
      inputs: ThreadTensor[];
      outputNames: string[];
    }
  | { type: "score"; jobId: number; modelKey: string; text: string }
  /** Stop a running generation (the caller went away); it then fails with code "cancelled". */
  | { type: "cancel"; jobId: number };

export type FromInferenceThread =
  | { type: "ready" }
  | { type: "loaded"; jobId: number; inputNames: string[]; outputNames: string[]; loadMs: number }
  | { type: "unloaded"; jobId: number }
  | { type: "text"; jobId: number; text: string }
  | {
      type: "generated";
      jobId: number;
      tokenIds: number[];
      text: string;
      finishReason: "eos" | "length" | "stop";
      haltLogits: [number, number] | null;
      promptTokens: number;
      latentSpansUsed: number;
      inferenceTimeMs: number;
      timing: GenerationTiming;
      executions: BatchExecutions[];
    }
  | { type: "inferred"; jobId: number; outputs: ThreadTensor[]; inferenceTimeMs: number }
  | { type: "scored"; jobId: number; score: number; inferenceTimeMs: number }
  | { type: "failed"; jobId: number; message: string; code?: JobFailureCode };

export type JobReply = Exclude<FromInferenceThread, { type: "ready" } | { type: "text" }>;
export type JobProgress = Extract<FromInferenceThread, { type: "text" }>;

interface ReplyByJob {
  load: Extract<JobReply, { type: "loaded" }>;
  unload: Extract<JobReply, { type: "unloaded" }>;
  generate: Extract<JobReply, { type: "generated" }>;
  infer: Extract<JobReply, { type: "inferred" }>;
  score: Extract<JobReply, { type: "scored" }>;
}

/** The reply type each job kind expects on success. */
export type ReplyFor<T extends JobRequest["type"]> = ReplyByJob[T];

/** Job messages without the id the pool assigns (cancel is not a job: it names one). */
type WithoutJobId<T> = T extends unknown ? Omit<T, "jobId"> : never;
export type JobRequest = WithoutJobId<Exclude<ToInferenceThread, { type: "cancel" }>>;
