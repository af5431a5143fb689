import {
  type AliasRemoved,
  AliasRemovedSchema,
  type AliasSet,
  AliasSetSchema,
  ApiKeyRecordSchema,
  type ApiKeyView,
  type BestVersion,
  BestVersionSchema,
  type CompleteUploadRequest,
  type CreateApiKeyRequest,
  type CreateUploadRequest,
  type Deleted,
  DeletedSchema,
  type FieldProblem,
  type GenerateRequest,
  type GenerateResponse,
  GenerateResponseSchema,
  type MetadataRevision,
  MetadataRevisionSchema,
  type ModelHistory,
  ModelHistorySchema,
  type ModelVersion,
  ModelVersionSchema,
  type ModelView,
  ModelViewSchema,
  type PolicyResponse,
  PolicyResponseSchema,
  type PredictRequest,
  type PredictResponse,
  PredictResponseSchema,
  type ProblemDetails,
  ProblemDetailsSchema,
  type RefinementLoop,
  RefinementLoopSchema,
  type RegisteredVersion,
  RegisteredVersionSchema,
  type RegistryPolicy,
  type StageChangeRequest,
  type StageChangeResponse,
  StageChangeResponseSchema,
  type UploadResponse,
  UploadResponseSchema,
  type VersionMetadataPatch,
  type VersionSearchPage,
  VersionSearchPageSchema,
  type VersionWithAliases,
  VersionWithAliasesSchema,
  type WorkerListEntry,
  WorkerListEntrySchema,
} from "@modelgate/shared";
import { z } from "zod";
import { readServerSentEvents, type ServerSentEvent } from "./sse-reader.js";

// `GET /health` has no schema in shared yet; this mirrors edge/src/routes/health.ts.
/** A key as the edge lists it (no secret, no hash). */
export const ApiKeyViewSchema = ApiKeyRecordSchema.omit({ sha256: true });
/** A key as created or rotated: the one response that carries the secret. */
export const CreatedApiKeySchema = ApiKeyViewSchema.extend({ key: z.string() });
export type CreatedApiKey = z.infer<typeof CreatedApiKeySchema>;
const ApiKeyListSchema = z.object({ keys: z.array(ApiKeyViewSchema) });

export const HealthResponseSchema = z.object({ status: z.string(), service: z.string(), time: z.string() });
export type HealthResponse = z.infer<typeof HealthResponseSchema>;

const WorkerListSchema = z.object({ workers: z.array(WorkerListEntrySchema) });

/** `GET /v1/models` filters, as the edge names them; undefined ones are not sent. */
export type VersionSearchParams = Partial<
  Record<
    "name" | "role" | "group" | "stage" | "kind" | "tag" | "backend" | "location" | "category" | "q" | "sort" | "order",
    string
  >
> & { limit?: number; cursor?: string };

export interface DeleteOptions {
  purge?: boolean;
  force?: boolean;
  reason?: string | undefined;
}

/**
 * The body each parsed answer came from, so `--json` can print exactly what the edge sent
 * (parsing reorders keys and fills defaults). Keyed by the parsed object itself.
 */
const rawBodies = new WeakMap<object, unknown>();

/** The edge's JSON body behind a value an EdgeClient method returned, if there is one. */
export function rawBodyOf(value: unknown): unknown {
  return typeof value === "object" && value !== null && rawBodies.has(value) ? rawBodies.get(value) : undefined;
}

/** A list answer's array, still printing as the whole `{ "<field>": [...] }` body with --json. */
function listOf<K extends string, T>(body: Record<K, T[]>, field: K): T[] {
  const list = body[field];
  rawBodies.set(list, rawBodies.get(body));
  return list;
}

const segment = (value: string | number) => encodeURIComponent(String(value));

function queryString(params: Record<string, string | number | boolean | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** The edge answered with an error status; `problem` is its problem+json (or one made up for a non-problem body). */
export class EdgeProblemError extends Error {
  readonly problem: ProblemDetails;

  constructor(problem: ProblemDetails) {
    super(problem.detail ?? problem.title);
    this.name = "EdgeProblemError";
    this.problem = problem;
  }

  get status(): number {
    return this.problem.status;
  }

  get code(): string {
    return this.problem.code;
  }

  get fieldErrors(): FieldProblem[] {
    return this.problem.errors ?? [];
  }
}

/** No HTTP answer at all: connection refused, DNS failure, reset, or our own timeout. */
export class EdgeUnreachableError extends Error {
  readonly url: string;
  readonly reason: string;

  constructor(url: string, reason: string) {
    super(`Cannot reach the edge at ${url}: ${reason}.`);
    this.name = "EdgeUnreachableError";
    this.url = url;
    this.reason = reason;
  }
}

/** A 2xx answer the CLI cannot read: the edge and the CLI disagree about the contract. */
export class EdgeProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EdgeProtocolError";
  }
}

/** Inference answers carry the routing decision in headers, not in the body. */
export interface RoutedResponse<T> {
  body: T;
  worker: string | undefined;
  routeReason: string | undefined;
}

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

export interface EdgeClientOptions {
  baseUrl: string;
  key?: string | undefined;
  /** Generation on a cold worker can take a while, so the default is generous. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

const DEFAULT_TIMEOUT_MS = 120_000;

/** Node's fetch hides the socket error in `cause` (an AggregateError when both ::1 and 127.0.0.1 fail). */
function networkReason(error: unknown): string {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) return "timed out";
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause instanceof Error) {
    const code = "code" in cause && typeof cause.code === "string" ? cause.code : undefined;
    if (code === "ECONNREFUSED") return "connection refused";
    if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "host not found";
    return code ? `${code} (${cause.message})` : cause.message;
  }
  return error instanceof Error ? error.message : String(error);
}

/** A typed client of the edge's public API; every 2xx body is parsed with the shared schema. */
export class EdgeClient {
  readonly baseUrl: string;
  private readonly key: string | undefined;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(options: EdgeClientOptions) {
    // A trailing slash would double up with the paths below; a path prefix (behind a proxy) is kept.
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.key = options.key;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.fetchImpl = options.fetch ?? fetch;
  }

  async health(): Promise<HealthResponse> {
    return (await this.request("GET", "/health", HealthResponseSchema)).body;
  }

  /** One page of versions matching the filters (`GET /v1/models`). */
  async searchVersions(params: VersionSearchParams = {}): Promise<VersionSearchPage> {
    return (await this.request("GET", `/v1/models${queryString(params)}`, VersionSearchPageSchema)).body;
  }

  async getModel(name: string): Promise<ModelView> {
    return (await this.request("GET", `/v1/models/${segment(name)}`, ModelViewSchema)).body;
  }

  /** `ref`: a version number, `latest`, `production`, `staging` or an alias. */
  async getVersion(name: string, ref: string | number): Promise<VersionWithAliases> {
    const path = `/v1/models/${segment(name)}/versions/${segment(ref)}`;
    return (await this.request("GET", path, VersionWithAliasesSchema)).body;
  }

  /** The registration is sent as the caller wrote it, so the edge validates exactly that document. */
  async registerVersion(name: string, registration: unknown): Promise<RegisteredVersion> {
    const path = `/v1/models/${segment(name)}/versions`;
    return (await this.request("POST", path, RegisteredVersionSchema, registration)).body;
  }

  async changeStage(
    name: string,
    version: number,
    change: Partial<StageChangeRequest> & Pick<StageChangeRequest, "stage">,
  ): Promise<StageChangeResponse> {
    const path = `/v1/models/${segment(name)}/versions/${version}/stage`;
    return (await this.request("POST", path, StageChangeResponseSchema, change)).body;
  }

  async patchMetadata(name: string, version: number, patch: VersionMetadataPatch): Promise<ModelVersion> {
    const path = `/v1/models/${segment(name)}/versions/${version}`;
    return (await this.request("PATCH", path, ModelVersionSchema, patch)).body;
  }

  async getMetadataRevision(name: string, version: number, revision?: number): Promise<MetadataRevision> {
    const path = `/v1/models/${segment(name)}/versions/${version}/metadata${queryString({ revision })}`;
    return (await this.request("GET", path, MetadataRevisionSchema)).body;
  }

  async history(name: string): Promise<ModelHistory> {
    return (await this.request("GET", `/v1/models/${segment(name)}/history`, ModelHistorySchema)).body;
  }

  async bestVersion(
    name: string,
    query: { metric?: string | undefined; order?: string | undefined; stage?: string | undefined },
  ): Promise<BestVersion> {
    const path = `/v1/models/${segment(name)}/best${queryString(query)}`;
    return (await this.request("GET", path, BestVersionSchema)).body;
  }

  /** Deletes one version, or the whole model when `version` is undefined. */
  async deleteModel(name: string, version: number | undefined, options: DeleteOptions): Promise<Deleted> {
    const query = queryString({
      purge: options.purge ? "true" : undefined,
      force: options.force ? "true" : undefined,
      reason: options.reason,
    });
    const target = version === undefined ? "" : `/versions/${version}`;
    return (await this.request("DELETE", `/v1/models/${segment(name)}${target}${query}`, DeletedSchema)).body;
  }

  async setAlias(name: string, alias: string, version: number, reason?: string): Promise<AliasSet> {
    const path = `/v1/models/${segment(name)}/aliases/${segment(alias)}`;
    const body = { version, ...(reason === undefined ? {} : { reason }) };
    return (await this.request("PUT", path, AliasSetSchema, body)).body;
  }

  async removeAlias(name: string, alias: string, reason?: string): Promise<AliasRemoved> {
    const path = `/v1/models/${segment(name)}/aliases/${segment(alias)}${queryString({ reason })}`;
    return (await this.request("DELETE", path, AliasRemovedSchema)).body;
  }

  async setPolicy(name: string, policy: RegistryPolicy, reason?: string): Promise<PolicyResponse> {
    const path = `/v1/models/${segment(name)}/policy`;
    const body = { policy, ...(reason === undefined ? {} : { reason }) };
    return (await this.request("PUT", path, PolicyResponseSchema, body)).body;
  }

  async createUpload(request: CreateUploadRequest): Promise<UploadResponse> {
    return (await this.request("POST", "/v1/uploads", UploadResponseSchema, request)).body;
  }

  async completeUpload(id: string, request: CompleteUploadRequest = {}): Promise<UploadResponse> {
    const path = `/v1/uploads/${encodeURIComponent(id)}/complete`;
    return (await this.request("POST", path, UploadResponseSchema, request)).body;
  }

  async listWorkers(): Promise<WorkerListEntry[]> {
    return listOf((await this.request("GET", "/v1/workers", WorkerListSchema)).body, "workers");
  }

  async createKey(request: CreateApiKeyRequest): Promise<CreatedApiKey> {
    return (await this.request("POST", "/v1/keys", CreatedApiKeySchema, request)).body;
  }

  async listKeys(): Promise<ApiKeyView[]> {
    return listOf((await this.request("GET", "/v1/keys", ApiKeyListSchema)).body, "keys");
  }

  async revokeKey(id: string): Promise<ApiKeyView> {
    return (await this.request("DELETE", `/v1/keys/${encodeURIComponent(id)}`, ApiKeyViewSchema)).body;
  }

  async rotateKey(id: string): Promise<CreatedApiKey> {
    return (await this.request("POST", `/v1/keys/${encodeURIComponent(id)}/rotate`, CreatedApiKeySchema)).body;
  }

  async generate(request: GenerateRequest): Promise<RoutedResponse<GenerateResponse>> {
    return this.routed(await this.request("POST", "/v1/generate", GenerateResponseSchema, request));
  }

  async predict(request: PredictRequest): Promise<RoutedResponse<PredictResponse>> {
    return this.routed(await this.request("POST", "/v1/predict", PredictResponseSchema, request));
  }

  private routed<T>(result: { body: T; headers: Headers }): RoutedResponse<T> {
    return {
      body: result.body,
      worker: result.headers.get("x-modelgate-worker") ?? undefined,
      routeReason: result.headers.get("x-modelgate-route-reason") ?? undefined,
    };
  }

  /**
   * `POST /v1/generate` with `stream: true`. Resolves once the edge has answered 2xx with an
   * event stream (a 4xx/5xx before streaming throws EdgeProblemError as `generate` does); the
   * events are read as they are iterated. The timeout counts from the last event, not from the
   * start, so a long generation that keeps producing text is never cut off.
   */
  async generateStream(request: GenerateRequest): Promise<GenerationStream> {
    const idle = new IdleTimeout(this.timeoutMs);
    let response: Response;
    try {
      response = await this.send(
        "POST",
        "/v1/generate",
        { ...request, stream: true },
        idle.signal,
        "text/event-stream",
      );
    } catch (error) {
      idle.clear();
      throw error;
    }
    const contentType = response.headers.get("content-type") ?? "";
    if (!response.ok || !contentType.startsWith("text/event-stream") || response.body === null) {
      const text = await response.text().finally(() => idle.clear());
      if (!response.ok) throw new EdgeProblemError(problemFromResponse(response, text));
      throw new EdgeProtocolError(`POST /v1/generate with stream: true answered ${contentType || "no content type"}.`);
    }
    return {
      worker: response.headers.get("x-modelgate-worker") ?? undefined,
      routeReason: response.headers.get("x-modelgate-route-reason") ?? undefined,
      events: generationEvents(response.body, idle),
    };
  }

  private async request<S extends z.ZodType>(
    method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
    path: string,
    schema: S,
    body?: unknown,
  ): Promise<{ body: z.output<S>; headers: Headers }> {
    const response = await this.send(method, path, body, AbortSignal.timeout(this.timeoutMs));
    const text = await response.text();
    if (!response.ok) throw new EdgeProblemError(problemFromResponse(response, text));
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      throw new EdgeProtocolError(`${method} ${path} answered ${response.status} with a body that is not JSON.`);
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      const where = first ? `${first.path.map(String).join(".") || "(body)"}: ${first.message}` : "unknown issue";
      throw new EdgeProtocolError(`${method} ${path} answered with a body the CLI does not understand (${where}).`);
    }
    if (typeof parsed.data === "object" && parsed.data !== null) rawBodies.set(parsed.data, raw);
    return { body: parsed.data, headers: response.headers };
  }

  /** Sends one request; any answer (2xx or not) is returned, no answer at all is EdgeUnreachableError. */
  private async send(
    method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
    path: string,
    body: unknown,
    signal: AbortSignal,
    accept = "application/json",
  ): Promise<Response> {
    const headers: Record<string, string> = { accept: `${accept}, application/problem+json` };
    if (this.key !== undefined) headers.authorization = `Bearer ${this.key}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    try {
      return await this.fetchImpl(`${this.baseUrl}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal,
      });
    } catch (error) {
      throw new EdgeUnreachableError(this.baseUrl, networkReason(error));
    }
  }
}

/**
 * The edge always answers errors with problem+json, but a proxy or a crashed worker in front
 * of it may not; such bodies still become a problem so one code path reports every failure.
 */
function problemFromResponse(response: Response, text: string): ProblemDetails {
  try {
    const parsed = ProblemDetailsSchema.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data;
  } catch {
    // Not JSON: fall through to a problem built from the status line.
  }
  const snippet = text.trim().slice(0, 200);
  return {
    type: "about:blank",
    title: response.statusText || `HTTP ${response.status}`,
    status: response.status,
    code: `http_${response.status}`,
    ...(snippet ? { detail: snippet } : {}),
  };
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
class IdleTimeout {
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

async function* generationEvents(body: ReadableStream<Uint8Array>, idle: IdleTimeout): AsyncGenerator<GenerationEvent> {
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
