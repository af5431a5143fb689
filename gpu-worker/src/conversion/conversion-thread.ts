/**
 * The conversion thread: runs one job's pipeline (ONNX parsing, graph rewrites, onnxruntime
 * runs — all blocking work) away from the worker's HTTP loop, and posts progress as it goes.
 */
import { readFile } from "node:fs/promises";
import { parentPort } from "node:worker_threads";
import { runConversionPipeline } from "./conversion-pipeline.js";
import type { FromConversionThread, RunConversionMessage, ToConversionThread } from "./conversion-thread-protocol.js";

const port = parentPort;
if (port === null) throw new Error("conversion-thread.ts must run in a worker thread");

const post = (message: FromConversionThread, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

/** Thrown from the progress callback, which the pipeline calls at every step boundary. */
class PipelineCancelled extends Error {}

let cancelled = false;
let started = false;

async function run(message: RunConversionMessage): Promise<void> {
  try {
    const sourceBytes = new Uint8Array(await readFile(message.sourcePath));
    const tokenizerJson =
      message.tokenizerPath === undefined ? undefined : await readFile(message.tokenizerPath, "utf8");
    const input = {
      job: message.job,
      source: message.source,
      sourceBytes,
      ...(tokenizerJson === undefined ? {} : { tokenizerJson }),
      uriFor: (sha256: string) => `s3://${message.bucket}/artifacts/sha256/${sha256}`,
    };
    const output = await runConversionPipeline(input, (progress) => {
      if (cancelled) throw new PipelineCancelled();
      post({ type: "progress", ...progress });
    });
    if (cancelled) throw new PipelineCancelled();
    // Converted models are large: hand their buffers over instead of copying them.
    const buffers = new Set<ArrayBuffer>();
    for (const format of Object.values(output.formats)) {
      if (format?.model.buffer instanceof ArrayBuffer) buffers.add(format.model.buffer);
    }
    post({ type: "done", output }, [...buffers]);
  } catch (error) {
    if (error instanceof PipelineCancelled) post({ type: "cancelled" });
    else post({ type: "crashed", message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  } finally {
    // Closing the port ends the thread once its last native call has returned.
    port?.close();
  }
}

port.on("message", (message: ToConversionThread) => {
  if (message.type === "cancel") {
    cancelled = true;
    // Cancelled before it began: nothing will close the port, so close it here.
    if (!started) port.close();
  } else if (!started) {
    started = true;
    void run(message);
  }
});
