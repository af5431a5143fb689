/**
 * A streamed generation (`POST /v1/generate` with `stream: true`): server-sent events parsed
 * with the shared schemas, an idle timeout restarted by every event, and a stream that stops
 * without `done` or `error` reported as the 502 it would have been.
 */
import {
  type GenerateResponse,
  GenerateResponseSchema,
  type ProblemDetails,
  ProblemDetailsSchema,
  type RefinementLoop,
  RefinementLoopSchema,
} from "@modelgate/shared";
import { z } from "zod";
import { EdgeProblemError, EdgeProtocolError, networkReason } from "./edge-errors.js";
import { readServerSentEvents, type ServerSentEvent } from "./sse-reader.js";

/** A `token` event: text of refinement loop `loop` as it appears. */
export const GenerationTokenSchema = z.object({ loop: z.int().min(1), text: z.string() });
export type GenerationToken = z.infer<typeof GenerationTokenSchema>;

/** One event of a streamed generation, parsed (`data`) and as the edge sent it (`raw`, for NDJSON). */
export type GenerationEvent =
  | { event: "token"; data: GenerationToken; raw: unknown }
  | { event: "loop"; data: RefinementLoop; raw: unknown }
  | { event: "done"; data: GenerateResponse; raw: unknown }
  | { event: "error"; data: ProblemDetails; raw: unknown };

export interface GenerationStream {
  worker: string | undefined;
  routeReason: string | undefined;
  /** Ends after the `done` or `error` event; a stream that stops before either throws EdgeProblemError (502). */
  events: AsyncIterable<GenerationEvent>;
}

/**
 * A stream that stops without `done` or `error` (worker crash, proxy timeout, reset) is a failed
 * answer from upstream, so it is reported as the 502 it would have been had it not been streamed.
 */
function streamEndedProblem(reason: string): ProblemDetails {
  return {
    type: "https://modelgate.dev/problems/stream-ended-early",
    title: "Stream ended early",
    status: 502,
    code: "stream_ended_early",
    detail: `The stream ended early: ${reason}; the answer is incomplete.`,
  };
}

/** Aborts a request when nothing has arrived for `ms`; restarted on every event. */
export class IdleTimeout {
  private readonly controller = new AbortController();
  private readonly ms: number;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(ms: number) {
    this.ms = ms;
    this.restart();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  restart(): void {
    this.clear();
    this.timer = setTimeout(() => this.controller.abort(new DOMException("timed out", "TimeoutError")), this.ms);
    // The open connection keeps the process alive while it matters; a stray timer must not.
    this.timer.unref();
  }

  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function parseEventData<T>(sse: ServerSentEvent, raw: unknown, schema: z.ZodType<T>): T {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const first = parsed.error.issues[0];
  const where = first ? `${first.path.map(String).join(".") || "(data)"}: ${first.message}` : "unknown issue";
  throw new EdgeProtocolError(
    `The generation stream sent a ${sse.event} event the CLI does not understand (${where}).`,
  );
}

function parseGenerationEvent(sse: ServerSentEvent): GenerationEvent | undefined {
  // Events this CLI does not know are skipped, so the edge can add some without breaking it.
  if (!["token", "loop", "done", "error"].includes(sse.event)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(sse.data);
  } catch {
    throw new EdgeProtocolError(`The generation stream sent a ${sse.event} event whose data is not JSON.`);
  }
  switch (sse.event) {
    case "token":
      return { event: "token", data: parseEventData(sse, raw, GenerationTokenSchema), raw };
    case "loop":
      return { event: "loop", data: parseEventData(sse, raw, RefinementLoopSchema), raw };
    case "done":
      return { event: "done", data: parseEventData(sse, raw, GenerateResponseSchema), raw };
    default:
      return { event: "error", data: parseEventData(sse, raw, ProblemDetailsSchema), raw };
  }
}

export async function* generationEvents(
  body: ReadableStream<Uint8Array>,
  idle: IdleTimeout,
): AsyncGenerator<GenerationEvent> {
  try {
    for await (const sse of readServerSentEvents(body)) {
      idle.restart();
      const event = parseGenerationEvent(sse);
      if (event === undefined) continue;
      yield event;
      if (event.event === "done" || event.event === "error") return;
    }
  } catch (error) {
    if (error instanceof EdgeProtocolError) throw error;
    throw new EdgeProblemError(streamEndedProblem(`reading it failed (${networkReason(error)})`));
  } finally {
    idle.clear();
  }
  throw new EdgeProblemError(streamEndedProblem("the edge closed it without a done or error event"));
}
