/** Messages between the HTTP process and its inference threads (structured-clone friendly). */
import type { ExecutionProvider } from "../config.js";

export interface SessionSettings {
  intraOpThreads: number;
  executionProviders: ExecutionProvider[];
}

export type ToInferenceThread =
  | { type: "load"; jobId: number; modelKey: string; path: string; settings: SessionSettings }
  | {
      type: "generate";
      jobId: number;
      modelKey: string;
      inputName: string;
      logitsName: string;
      /** Null when the model has no halt head or the request disabled it. */
      haltName: string | null;
      promptIds: number[];
      maxNewTokens: number;
      temperature: number;
      topK: number | undefined;
      topP: number | undefined;
      repetitionPenalty: number;
      /** Stop strings as token ids, and the limit below which ids are visible text. */
      stopSequences: number[][];
      textTokenLimit: number;
      seed: number;
      eosTokenId: number;
    }
  | {
      type: "predict";
      jobId: number;
      modelKey: string;
      inputName: string;
      outputName: string;
      rows: number;
      features: number;
      /** Row-major [rows, features]; transferred, not copied. */
      values: Float32Array<ArrayBuffer>;
    };

export type FromInferenceThread =
  | { type: "ready" }
  | { type: "loaded"; jobId: number; inputNames: string[]; outputNames: string[]; loadMs: number }
  | {
      type: "generated";
      jobId: number;
      tokenIds: number[];
      finishReason: "eos" | "length" | "stop";
      haltLogits: [number, number] | null;
      inferenceTimeMs: number;
    }
  | { type: "predicted"; jobId: number; dims: number[]; values: Float32Array<ArrayBuffer>; inferenceTimeMs: number }
  | { type: "failed"; jobId: number; message: string };

export type JobReply = Exclude<FromInferenceThread, { type: "ready" }>;

/** The reply type each job kind expects on success. */
export type ReplyFor<T extends ToInferenceThread["type"]> = T extends "load"
  ? Extract<JobReply, { type: "loaded" }>
  : T extends "generate"
    ? Extract<JobReply, { type: "generated" }>
    : Extract<JobReply, { type: "predicted" }>;

/** Job messages without the id the pool assigns. */
type WithoutJobId<T> = T extends unknown ? Omit<T, "jobId"> : never;
export type JobRequest = WithoutJobId<ToInferenceThread>;
