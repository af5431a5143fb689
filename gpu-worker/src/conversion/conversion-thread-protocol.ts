/** Messages between the job runner (main thread) and the conversion thread. */
import type { ConversionJob, ConversionStep, ModelVersion } from "@modelgate/shared";
import type { PipelineOutput } from "./conversion-pipeline.js";

export interface RunConversionMessage {
  type: "run";
  job: ConversionJob;
  source: ModelVersion;
  /** The verified source artifact in the local cache. */
  sourcePath: string;
  /** The verified tokenizer.json in the local cache, for models with a Hugging Face tokenizer. */
  tokenizerPath?: string;
  /** The bucket the runner will store files in (the manifest names each file's final URI). */
  bucket: string;
}

/**
 * Stop at the next step boundary. A thread is never terminated from outside while it works:
 * terminating one inside a native onnxruntime call aborts the whole worker process.
 */
export interface CancelConversionMessage {
  type: "cancel";
}

export type ToConversionThread = RunConversionMessage | CancelConversionMessage;

export interface PipelineProgress {
  step: ConversionStep;
  step_detail?: string;
  /** 0–1 over the whole pipeline. */
  progress: number;
  message?: string;
}

export type FromConversionThread =
  | ({ type: "progress" } & PipelineProgress)
  | { type: "done"; output: PipelineOutput }
  /** Stopped after a cancel message, at a step boundary. */
  | { type: "cancelled" }
  /** Something the pipeline did not expect (a bug, out of memory): the job fails with it. */
  | { type: "crashed"; message: string };
