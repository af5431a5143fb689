/**
 * The worker's generation stream (`token`, `loop`, then one `done` or `error` event) translated
 * into OpenAI stream chunks as the events arrive: nothing is held back but an incomplete event.
 *
 * Without a judge there is one loop, so every token is content as it arrives. With a judge the
 * answer is only known at `done` (it is the passing loop, or the best-scoring one when the loop
 * budget runs out, which need not be the last), so drafts are never sent as content: each judged
 * loop sends an empty chunk carrying `modelgate: {loop}` (progress, and a keep-alive), and `done`
 * sends the answer's text. A stream that fails, or ends without `done`, ends with an error chunk.
 */
import { GenerateResponseSchema, ModelgateError, RefinementLoopSchema, TOOL_CALL_OPEN } from "@modelgate/shared";
import { z } from "zod";
import { streamErrorChunk, workerProblemAsError } from "./openai-errors.js";
import { withClientFieldNames } from "./openai-request.js";
import type { CompletionChunks } from "./openai-response.js";

export interface ServerSentEvent {
  event: string;
  data: string;
}

function parseEventBlock(block: string): ServerSentEvent[] {
  let event = "message";
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  return data.length === 0 ? [] : [{ event, data: data.join("\n") }];
}

/** An incremental `text/event-stream` parser: bytes in, whole events out. */
export class ServerSentEventParser {
  #buffer = "";
  readonly #decoder = new TextDecoder();

  push(bytes: Uint8Array): ServerSentEvent[] {
    this.#buffer += this.#decoder.decode(bytes, { stream: true });
    return this.#drain(false);
  }

  /** The events left when the stream has ended (a last one without its blank line counts). */
  end(): ServerSentEvent[] {
    this.#buffer += this.#decoder.decode();
    return this.#drain(true);
  }

  #drain(final: boolean): ServerSentEvent[] {
    let text = this.#buffer;
    // A CR at the very end may be the first half of a CRLF still on its way.
    const carry = !final && text.endsWith("\r") ? "\r" : "";
    if (carry) text = text.slice(0, -1);
    const blocks = text.replace(/\r\n?/g, "\n").split("\n\n");
    this.#buffer = (final ? "" : (blocks.pop() ?? "")) + carry;
    return blocks.flatMap(parseEventBlock);
  }
}

const TokenEventSchema = z.object({ loop: z.int(), text: z.string() });

export interface GenerationStreamOptions {
  chunks: CompletionChunks<unknown>;
  /** A judge refines: only the final answer is content (see the module comment). */
  judged: boolean;
  /**
   * The answer may be tool calls: text that could still become `<tool_call>` is held back until
   * it cannot (then it is content) or it does (then the calls are sent as `delta.tool_calls` once
   * the engine has parsed them, at `done`).
   */
  toolCalls?: boolean;
  includeUsage: boolean;
  /** To name fields in a worker's error the way the client wrote them. */
  fieldNames: Readonly<Record<string, string>>;
  /** The request path, the `instance` of error problems. */
  instance: string;
}

const encoder = new TextEncoder();
const dataLine = (data: unknown) => encoder.encode(`data: ${JSON.stringify(data)}\n\n`);

/** Translates a worker's event stream into OpenAI chunks, ending in `data: [DONE]` or an error chunk. */
export function translateGenerationStream(
  upstream: ReadableStream<Uint8Array>,
  options: GenerationStreamOptions,
): ReadableStream<Uint8Array> {
  const { chunks, judged, includeUsage } = options;
  const parser = new ServerSentEventParser();
  let ended = false;
  /** Without tools the answer is text from the start; with them, once it cannot be a call. */
  let answer: "undecided" | "text" | "calls" = options.toolCalls === true ? "undecided" : "text";
  let held = "";

  const fail = (controller: TransformStreamDefaultController<Uint8Array>, error: ModelgateError) => {
    ended = true;
    controller.enqueue(dataLine(streamErrorChunk(error, options.instance)));
  };

  const handle = (event: ServerSentEvent, controller: TransformStreamDefaultController<Uint8Array>) => {
    const send = (chunk: unknown) => controller.enqueue(dataLine(chunk));
    if (event.event === "token") {
      if (judged) return;
      const { text } = TokenEventSchema.parse(JSON.parse(event.data));
      if (text === "" || answer === "calls") return;
      if (answer === "undecided") {
        held += text;
        if (held.startsWith(TOOL_CALL_OPEN)) answer = "calls";
        else if (!TOOL_CALL_OPEN.startsWith(held)) {
          answer = "text";
          send(chunks.text(held));
        }
        return;
      }
      send(chunks.text(text));
    } else if (event.event === "loop") {
      if (judged) send(chunks.progress(RefinementLoopSchema.parse(JSON.parse(event.data))));
    } else if (event.event === "done") {
      const response = GenerateResponseSchema.parse(JSON.parse(event.data));
      if (response.tool_calls !== undefined) {
        for (const chunk of chunks.toolCalls(response.tool_calls)) send(chunk);
      } else if (judged || answer === "undecided" || (answer === "calls" && held !== "")) {
        // The whole answer (judged), or text that stayed a prefix of a call until it ended.
        if (response.text !== "") send(chunks.text(response.text));
      }
      send(chunks.finish(response));
      if (includeUsage) send(chunks.usage(response));
      controller.enqueue(encoder.encode("data: [DONE]\n\n"));
      ended = true;
    } else if (event.event === "error") {
      fail(controller, withClientFieldNames(workerProblemAsError(JSON.parse(event.data)), options.fieldNames));
    }
  };

  const handleAll = (events: ServerSentEvent[], controller: TransformStreamDefaultController<Uint8Array>) => {
    for (const event of events) {
      if (ended) return;
      try {
        handle(event, controller);
      } catch {
        fail(
          controller,
          new ModelgateError("upstream_failed", "The worker sent an event modelgate does not understand."),
        );
      }
    }
  };

  const translator = new TransformStream<Uint8Array, Uint8Array>({
    start(controller) {
      const opening = chunks.opening();
      if (opening !== undefined) controller.enqueue(dataLine(opening));
    },
    transform(bytes, controller) {
      if (!ended) handleAll(parser.push(bytes), controller);
    },
    flush(controller) {
      if (!ended) handleAll(parser.end(), controller);
      if (!ended) {
        fail(
          controller,
          new ModelgateError("upstream_failed", "The worker's stream ended before the generation finished."),
        );
      }
    },
  });
  // An upstream that breaks (rather than ends) must not abort the client's stream silently:
  // the writable side is closed instead, so `flush` sends the error chunk. A client that goes
  // away still cancels the upstream, which stops the generation on the worker.
  upstream
    .pipeTo(translator.writable, { preventAbort: true })
    .catch(() => translator.writable.close().catch(() => undefined));
  return translator.readable;
}
