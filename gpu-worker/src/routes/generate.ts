/**
 * `POST /v1/generate`: a causal-LM generation (with refinement when a judge is given) for a
 * version the edge already resolved. With `stream: true` the answer is server-sent events:
 * `token` ({loop, text}) as visible text appears, `loop` after each refinement loop is
 * scored, then exactly one `done` (the full response) or `error` (a problem object).
 */
import { GenerateResponseSchema, ModelgateError, WorkerGenerateRequestSchema } from "@modelgate/shared";
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { WorkerAppEnv } from "../http/app-env.js";
import { readVerifiedJson } from "../http/json-body.js";
import type { InferenceEngine } from "../inference/inference-service.js";

export function generateRoutes(inference: InferenceEngine) {
  return new Hono<WorkerAppEnv>().post("/v1/generate", async (c) => {
    const request = readVerifiedJson(c, WorkerGenerateRequestSchema, "request body");
    // Bad requests are answered 4xx before anything is streamed or run.
    const checked = inference.checkGenerate(request);
    if (!checked.ok) throw checked.error;
    // The client going away stops the generation and frees its place in the batch.
    const signal = c.req.raw.signal;
    if (request.stream !== true) {
      const result = await inference.generate(request, undefined, signal);
      if (!result.ok) throw result.error;
      // Parsing the way out too keeps the worker honest about the shared response contract.
      return c.json(GenerateResponseSchema.parse(result.value));
    }
    const logger = c.get("logger");
    return streamSSE(c, async (stream) => {
      const stopped = new AbortController();
      stream.onAbort(() => stopped.abort());
      const result = await inference.generate(
        request,
        (event) => {
          void stream.writeSSE(
            event.type === "text"
              ? { event: "token", data: JSON.stringify({ loop: event.loop, text: event.text }) }
              : { event: "loop", data: JSON.stringify(event.loop) },
          );
        },
        AbortSignal.any([signal, stopped.signal]),
      );
      if (stream.aborted) return;
      if (result.ok) {
        await stream.writeSSE({ event: "done", data: JSON.stringify(GenerateResponseSchema.parse(result.value)) });
        return;
      }
      const error =
        result.error.status >= 500 ? new ModelgateError(result.error.code, result.error.message) : result.error;
      if (error.status >= 500) logger.error("streamed generation failed", { error: result.error.message });
      await stream.writeSSE({ event: "error", data: JSON.stringify(error.toProblem(c.req.path)) });
    });
  });
}
