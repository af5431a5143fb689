/**
 * The conversion thread: runs one job's pipeline (ONNX parsing, graph rewrites, onnxruntime
 * runs — all blocking work) away from the worker's HTTP loop, and posts progress as it goes.
 */
import { readFile } from "node:fs/promises";
import { parentPort } from "node:worker_threads";
import { runConversionPipeline } from "./conversion-pipeline.js";
import type { FromConversionThread, RunConversionMessage } from "./conversion-thread-protocol.js";

const port = parentPort;
if (port === null) throw new Error("conversion-thread.ts must run in a worker thread");

const post = (message: FromConversionThread, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

port.once("message", async (message: RunConversionMessage) => {
  try {
    const sourceBytes = new Uint8Array(await readFile(message.sourcePath));
    const input = {
      job: message.job,
      source: message.source,
      sourceBytes,
      uriFor: (sha256: string) => `s3://${message.bucket}/artifacts/sha256/${sha256}`,
    };
    const output = await runConversionPipeline(input, (progress) => post({ type: "progress", ...progress }));
    // Converted models are large: hand their buffers over instead of copying them.
    const buffers = new Set<ArrayBuffer>();
    for (const format of Object.values(output.formats)) {
      if (format?.model.buffer instanceof ArrayBuffer) buffers.add(format.model.buffer);
    }
    post({ type: "done", output }, [...buffers]);
  } catch (error) {
    post({ type: "crashed", message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
});
