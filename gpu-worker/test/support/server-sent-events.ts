/** Reads a whole `text/event-stream` response into events with parsed JSON data. */
export interface ServerSentEvent {
  event: string;
  data: unknown;
}

export async function readServerSentEvents(response: Response): Promise<ServerSentEvent[]> {
  const text = await response.text();
  const events: ServerSentEvent[] = [];
  for (const block of text.split("\n\n")) {
    if (block.trim() === "") continue;
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    events.push({ event, data: JSON.parse(data.join("\n")) });
  }
  return events;
}
