import {
  ApiKeyRecordSchema,
  type ApiKeyView,
  type CreateApiKeyRequest,
  type FieldProblem,
  type GenerateRequest,
  type GenerateResponse,
  GenerateResponseSchema,
  type ModelRecord,
  ModelRecordSchema,
  type ModelVersion,
  ModelVersionSchema,
  type PredictRequest,
  type PredictResponse,
  PredictResponseSchema,
  type ProblemDetails,
  ProblemDetailsSchema,
  type StageChangeRequest,
  type WorkerListEntry,
  WorkerListEntrySchema,
} from "@modelgate/shared";
import { z } from "zod";

// `GET /health` has no schema in shared yet; this mirrors edge/src/routes/health.ts.
/** A key as the edge lists it (no secret, no hash). */
export const ApiKeyViewSchema = ApiKeyRecordSchema.omit({ sha256: true });
/** A key as created or rotated: the one response that carries the secret. */
export const CreatedApiKeySchema = ApiKeyViewSchema.extend({ key: z.string() });
export type CreatedApiKey = z.infer<typeof CreatedApiKeySchema>;
const ApiKeyListSchema = z.object({ keys: z.array(ApiKeyViewSchema) });

export const HealthResponseSchema = z.object({ status: z.string(), service: z.string(), time: z.string() });
export type HealthResponse = z.infer<typeof HealthResponseSchema>;

const ModelListSchema = z.object({ models: z.array(ModelRecordSchema) });
const WorkerListSchema = z.object({ workers: z.array(WorkerListEntrySchema) });
export const StageChangeResponseSchema = z.object({ version: ModelVersionSchema, model: ModelRecordSchema });
export type StageChangeResponse = z.infer<typeof StageChangeResponseSchema>;

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

  async listModels(): Promise<ModelRecord[]> {
    return (await this.request("GET", "/v1/models", ModelListSchema)).body.models;
  }

  async getModel(name: string): Promise<ModelRecord> {
    return (await this.request("GET", `/v1/models/${encodeURIComponent(name)}`, ModelRecordSchema)).body;
  }

  async getVersion(name: string, version: number): Promise<ModelVersion> {
    const path = `/v1/models/${encodeURIComponent(name)}/versions/${version}`;
    return (await this.request("GET", path, ModelVersionSchema)).body;
  }

  /** The registration is sent as the caller wrote it, so the edge validates exactly that document. */
  async registerVersion(name: string, registration: unknown): Promise<ModelVersion> {
    const path = `/v1/models/${encodeURIComponent(name)}/versions`;
    return (await this.request("POST", path, ModelVersionSchema, registration)).body;
  }

  async changeStage(
    name: string,
    version: number,
    change: Partial<StageChangeRequest> & Pick<StageChangeRequest, "stage">,
  ): Promise<StageChangeResponse> {
    const path = `/v1/models/${encodeURIComponent(name)}/versions/${version}/stage`;
    return (await this.request("POST", path, StageChangeResponseSchema, change)).body;
  }

  async listWorkers(): Promise<WorkerListEntry[]> {
    return (await this.request("GET", "/v1/workers", WorkerListSchema)).body.workers;
  }

  async createKey(request: CreateApiKeyRequest): Promise<CreatedApiKey> {
    return (await this.request("POST", "/v1/keys", CreatedApiKeySchema, request)).body;
  }

  async listKeys(): Promise<ApiKeyView[]> {
    return (await this.request("GET", "/v1/keys", ApiKeyListSchema)).body.keys;
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

  private async request<S extends z.ZodType>(
    method: "GET" | "POST" | "DELETE",
    path: string,
    schema: S,
    body?: unknown,
  ): Promise<{ body: z.output<S>; headers: Headers }> {
    const url = `${this.baseUrl}${path}`;
    const headers: Record<string, string> = { accept: "application/json, application/problem+json" };
    if (this.key !== undefined) headers.authorization = `Bearer ${this.key}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new EdgeUnreachableError(this.baseUrl, networkReason(error));
    }
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
    return { body: parsed.data, headers: response.headers };
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
