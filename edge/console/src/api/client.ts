/**
 * The console's one way to the API: same origin, the signed-in key as a bearer token, JSON in and
 * out, and every failure as an `ApiError` carrying the problem+json the edge answered (its
 * `detail` and field `errors` are what error states show). The console is a client of the public
 * API only, like the CLI.
 */
import type { FieldProblem, ProblemDetails } from "@modelgate/shared";

export class ApiError extends Error {
  readonly status: number;
  readonly problem: ProblemDetails | undefined;

  constructor(status: number, message: string, problem?: ProblemDetails) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
  }

  get fieldErrors(): FieldProblem[] {
    return this.problem?.errors ?? [];
  }
}

export type Query = Record<string, string | number | boolean | undefined | null>;

export interface RequestOptions {
  body?: unknown;
  query?: Query;
  signal?: AbortSignal;
}

/** What a routed answer said about itself (`x-modelgate-*` headers). */
export interface RouteInfo {
  worker: string | null;
  model: string | null;
  reason: string | null;
  requestId: string | null;
}

function withQuery(path: string, query: Query | undefined): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(name, String(value));
  }
  const text = params.toString();
  return text === "" ? path : `${path}?${text}`;
}

async function errorFrom(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => "");
  try {
    const problem = JSON.parse(text) as ProblemDetails;
    if (typeof problem.title === "string") {
      return new ApiError(response.status, problem.detail ?? problem.title, problem);
    }
  } catch {
    // Not a problem document (a proxy's page, a cut connection): say what we know.
  }
  return new ApiError(response.status, `The edge answered ${response.status} ${response.statusText}`.trim());
}

export function routeInfoOf(response: Response): RouteInfo {
  return {
    worker: response.headers.get("x-modelgate-worker"),
    model: response.headers.get("x-modelgate-model"),
    reason: response.headers.get("x-modelgate-route-reason"),
    requestId: response.headers.get("x-request-id"),
  };
}

export class ApiClient {
  constructor(private readonly key: string) {}

  /** The raw answer (for streams and headers); throws an ApiError for any non-2xx. */
  async send(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.key}` };
    if (options.body !== undefined) headers["content-type"] = "application/json";
    let response: Response;
    try {
      response = await fetch(withQuery(path, options.query), {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: options.signal,
      });
    } catch (error) {
      if (error instanceof DOMException && error.name === "AbortError") throw error;
      throw new ApiError(0, "The edge could not be reached. Is it running?");
    }
    if (!response.ok) throw await errorFrom(response);
    return response;
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.send(method, path, options);
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }

  get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
    return this.request<T>("GET", path, { query, signal });
  }
}

/** One server-sent event as the edge and the worker write them. */
export interface ServerSentEvent {
  event: string;
  data: string;
}

/** Reads an `text/event-stream` body event by event (EventSource cannot POST or send a key). */
export async function* readEventStream(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let boundary = buffer.indexOf("\n\n");
    while (boundary >= 0) {
      const block = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length > 0) yield { event, data: data.join("\n") };
      boundary = buffer.indexOf("\n\n");
    }
  }
}
