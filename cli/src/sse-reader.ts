/** One dispatched server-sent event: its name (`message` when the stream gave none) and its data lines joined. */
export interface ServerSentEvent {
  event: string;
  data: string;
}

const LINE_END = /\r\n|\r|\n/;

/**
 * Reads a `text/event-stream` body as the HTML spec's event-stream parser does, for the fields
 * the edge sends (`event`, `data`; `id`, `retry` and comments are skipped). An event is only
 * dispatched at the blank line that ends it, so a stream cut off mid-event yields nothing for
 * that event: the caller sees the stream end without it and can tell the answer is incomplete.
 */
export async function* readServerSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  // TextDecoderStream keeps multi-byte characters split across chunks intact and drops a BOM.
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = "";
  let data: string[] = [];
  try {
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) return;
      buffer += chunk.value;
      for (;;) {
        const end = LINE_END.exec(buffer);
        // A lone `\r` at the end may be the first half of `\r\n`: wait for the next chunk.
        if (!end || (end[0] === "\r" && end.index === buffer.length - 1)) break;
        const line = buffer.slice(0, end.index);
        buffer = buffer.slice(end.index + end[0].length);
        if (line === "") {
          if (data.length > 0) yield { event: event || "message", data: data.join("\n") };
          event = "";
          data = [];
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon === -1 ? line : line.slice(0, colon);
        const rawValue = colon === -1 ? "" : line.slice(colon + 1);
        const value = rawValue.startsWith(" ") ? rawValue.slice(1) : rawValue;
        if (field === "event") event = value;
        else if (field === "data") data.push(value);
      }
    }
  } finally {
    // Stopping early (an `error` event, a consumer that breaks out) must still close the connection.
    await reader.cancel().catch(() => undefined);
  }
}
