/**
 * A worker's server-sent events, passed to the client chunk by chunk as they arrive. A stream
 * that ends without its `done` or `error` event (the worker died, the connection broke) is
 * finished with an explicit `error` event, so a client never mistakes a cut answer for a
 * complete one.
 */
import type { ProblemDetails } from "@modelgate/shared";

const TERMINAL_EVENT = /^event: ?(done|error)\r?$/m;
/** Enough of the previous chunk to find an `event:` line split across two chunks. */
const CARRY = 32;

export function guardEventStream(
  upstream: ReadableStream<Uint8Array>,
  problem: (reason: string) => ProblemDetails,
): ReadableStream<Uint8Array> {
  const reader = upstream.getReader();
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let tail = "";
  let finished = false;
  const errorEvent = (reason: string) => encoder.encode(`event: error\ndata: ${JSON.stringify(problem(reason))}\n\n`);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch {
        if (!finished) controller.enqueue(errorEvent("the worker's stream broke off"));
        controller.close();
        return;
      }
      if (chunk.done) {
        if (!finished) controller.enqueue(errorEvent("the worker's stream ended before its last event"));
        controller.close();
        return;
      }
      const text = tail + decoder.decode(chunk.value, { stream: true });
      if (TERMINAL_EVENT.test(text)) finished = true;
      tail = text.slice(-CARRY);
      controller.enqueue(chunk.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
