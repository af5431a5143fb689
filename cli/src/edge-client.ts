import {
  type AliasRemoved,
  AliasRemovedSchema,
  type AliasSet,
  AliasSetSchema,
  ApiKeyRecordSchema,
  type ApiKeyView,
  type BestVersion,
  BestVersionSchema,
  CategoryPerformanceSchema,
  type CompleteUploadRequest,
  type ConversionJob,
  ConversionJobSchema,
  type ConversionRequest,
  type CreateApiKeyRequest,
  type CreateUploadRequest,
  type Deleted,
  DeletedSchema,
  type EnrolmentIssued,
  EnrolmentIssuedSchema,
  type EnrolWorkerRequest,
  type EvaluationJob,
  EvaluationJobSchema,
  type EvaluationJobStatus,
  type EvaluationReport,
  EvaluationReportSchema,
  type EvaluationRequest,
  type EvaluationResult,
  type GenerateRequest,
  type GenerateResponse,
  GenerateResponseSchema,
  type MetadataRevision,
  MetadataRevisionSchema,
  type ModelHistory,
  ModelHistorySchema,
  ModelsPerCategorySchema,
  type ModelVersion,
  ModelVersionSchema,
  type ModelView,
  ModelViewSchema,
  MultiCategorySchema,
  type PolicyResponse,
  PolicyResponseSchema,
  type PredictRequest,
  type PredictResponse,
  PredictResponseSchema,
  parseEvaluationResults,
  type RegisteredVersion,
  RegisteredVersionSchema,
  type RegistryPolicy,
  type ReplicaTestReport,
  ReplicaTestReportSchema,
  type RolloutRequestInput,
  type RolloutView,
  RolloutViewSchema,
  type SelectionAnalysis,
  type StageChangeRequest,
  type StageChangeResponse,
  StageChangeResponseSchema,
  type UploadResponse,
  UploadResponseSchema,
  type VersionMetadataPatch,
  type VersionSearchPage,
  VersionSearchPageSchema,
  type VersionVerificationView,
  VersionVerificationViewSchema,
  type VersionWithAliases,
  VersionWithAliasesSchema,
  WorkerControlSchema,
  WorkerDrainStateSchema,
  WorkerIdentityViewSchema,
  type WorkerListEntry,
  WorkerListEntrySchema,
} from "@modelgate/shared";
import { z } from "zod";
import {
  EdgeProblemError,
  EdgeProtocolError,
  EdgeUnreachableError,
  networkReason,
  problemFromResponse,
} from "./edge-errors.js";
import { type GenerationStream, generationEvents, IdleTimeout } from "./generation-stream.js";

export { EdgeProblemError, EdgeProtocolError, EdgeUnreachableError } from "./edge-errors.js";
export type { GenerationEvent, GenerationStream, GenerationToken } from "./generation-stream.js";

// `GET /health` has no schema in shared yet; this mirrors edge/src/routes/health.ts.
/** A key as the edge lists it (no secret, no hash). */
export const ApiKeyViewSchema = ApiKeyRecordSchema.omit({ sha256: true });
/** A key as created or rotated: the one response that carries the secret. */
export const CreatedApiKeySchema = ApiKeyViewSchema.extend({ key: z.string() });
export type CreatedApiKey = z.infer<typeof CreatedApiKeySchema>;
const ApiKeyListSchema = z.object({ keys: z.array(ApiKeyViewSchema) });
const EvaluationListSchema = z.object({ jobs: z.array(EvaluationJobSchema) });

export const HealthResponseSchema = z.object({ status: z.string(), service: z.string(), time: z.string() });
export type HealthResponse = z.infer<typeof HealthResponseSchema>;

const WorkerListSchema = z.object({ workers: z.array(WorkerListEntrySchema) });
const WorkerControlAnswerSchema = z.object({
  worker_id: z.string(),
  control: WorkerControlSchema,
  drain_state: WorkerDrainStateSchema,
});
export type WorkerControlAnswer = z.infer<typeof WorkerControlAnswerSchema>;
const WorkerRevokedSchema = z.object({ worker_id: z.string(), identity: WorkerIdentityViewSchema });
export type WorkerRevoked = z.infer<typeof WorkerRevokedSchema>;

/** Each `GET /v1/analytics/<analysis>` answer's schema. */
const SELECTION_ANALYSIS_SCHEMAS = {
  "models-per-category": ModelsPerCategorySchema,
  "multi-category": MultiCategorySchema,
  "category-performance": CategoryPerformanceSchema,
} as const satisfies Record<SelectionAnalysis, z.ZodType>;
export type SelectionAnalysisResult<A extends SelectionAnalysis> = z.output<(typeof SELECTION_ANALYSIS_SCHEMAS)[A]>;

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

/** Job routes answer with the job, or with `{ job }` where more travels along. */
const JobAnswerSchema = z.union([
  ConversionJobSchema,
  z.strictObject({ job: ConversionJobSchema }).transform((answer) => answer.job),
]);

function queryString(params: Record<string, string | number | boolean | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** The edge answered with an error status; `problem` is its problem+json (or one made up for a non-problem body). */
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

  async startRollout(name: string, request: RolloutRequestInput): Promise<RolloutView> {
    return (await this.request("POST", `/v1/models/${segment(name)}/rollouts`, RolloutViewSchema, request)).body;
  }

  async getRollout(name: string): Promise<RolloutView> {
    return (await this.request("GET", `/v1/models/${segment(name)}/rollouts/current`, RolloutViewSchema)).body;
  }

  async controlRollout(name: string, control: "pause" | "resume" | "abort", reason?: string): Promise<RolloutView> {
    const path = `/v1/models/${segment(name)}/rollouts/current/${control}`;
    return (await this.request("POST", path, RolloutViewSchema, reason === undefined ? {} : { reason })).body;
  }

  async patchMetadata(name: string, version: number, patch: VersionMetadataPatch): Promise<ModelVersion> {
    const path = `/v1/models/${segment(name)}/versions/${version}`;
    return (await this.request("PATCH", path, ModelVersionSchema, patch)).body;
  }

  /** One smoke request on every live replica of a version (admin), each reported. */
  async testReplicas(name: string, ref: string | number): Promise<ReplicaTestReport> {
    const path = `/v1/models/${segment(name)}/versions/${segment(String(ref))}/replica-tests`;
    return (await this.request("POST", path, ReplicaTestReportSchema)).body;
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

  /** Queues a conversion job (`202`); poll it with `getConversion`. */
  async createConversion(name: string, version: number, request: ConversionRequest): Promise<ConversionJob> {
    const path = `/v1/models/${segment(name)}/versions/${version}/conversions`;
    return (await this.request("POST", path, JobAnswerSchema, request)).body;
  }

  async getConversion(id: string): Promise<ConversionJob> {
    return (await this.request("GET", `/v1/conversions/${segment(id)}`, JobAnswerSchema)).body;
  }

  async cancelConversion(id: string): Promise<ConversionJob> {
    return (await this.request("POST", `/v1/conversions/${segment(id)}/cancel`, JobAnswerSchema)).body;
  }

  /** Queues an evaluation job (`202`); poll it with `getEvaluation`. */
  async createEvaluation(request: EvaluationRequest): Promise<EvaluationJob> {
    return (await this.request("POST", "/v1/evaluations", EvaluationJobSchema, request)).body;
  }

  /** The newest evaluations first, optionally of one status. */
  async listEvaluations(filter: { status?: EvaluationJobStatus; limit?: number } = {}): Promise<EvaluationJob[]> {
    const query = new URLSearchParams();
    if (filter.status !== undefined) query.set("status", filter.status);
    if (filter.limit !== undefined) query.set("limit", String(filter.limit));
    const path = `/v1/evaluations${query.size > 0 ? `?${query}` : ""}`;
    return (await this.request("GET", path, EvaluationListSchema)).body.jobs;
  }

  async getEvaluation(id: string): Promise<EvaluationJob> {
    return (await this.request("GET", `/v1/evaluations/${segment(id)}`, EvaluationJobSchema)).body;
  }

  async getEvaluationReport(id: string): Promise<EvaluationReport> {
    return (await this.request("GET", `/v1/evaluations/${segment(id)}/report`, EvaluationReportSchema)).body;
  }

  /** The results file, one row per line and target, each checked against the shared schema. */
  async getEvaluationResults(id: string): Promise<EvaluationResult[]> {
    const path = `/v1/evaluations/${segment(id)}/results`;
    const response = await this.send(
      "GET",
      path,
      undefined,
      AbortSignal.timeout(this.timeoutMs),
      "application/x-ndjson",
    );
    const text = await response.text();
    if (!response.ok) throw new EdgeProblemError(problemFromResponse(response, text));
    try {
      return parseEvaluationResults(text);
    } catch (error) {
      throw new EdgeProtocolError(
        `GET ${path} answered rows the CLI does not understand (${String(error).slice(0, 200)}).`,
      );
    }
  }

  async getVerification(name: string, version: number): Promise<VersionVerificationView> {
    const path = `/v1/models/${segment(name)}/versions/${version}/verification`;
    return (await this.request("GET", path, VersionVerificationViewSchema)).body;
  }

  async listWorkers(): Promise<WorkerListEntry[]> {
    return listOf((await this.request("GET", "/v1/workers", WorkerListSchema)).body, "workers");
  }

  /** A one-time enrolment token for a worker id (admin). */
  async enrolWorker(id: string, request: EnrolWorkerRequest): Promise<EnrolmentIssued> {
    const path = `/v1/workers/${encodeURIComponent(id)}/enrolment`;
    return (await this.request("POST", path, EnrolmentIssuedSchema, request)).body;
  }

  async revokeWorker(id: string): Promise<WorkerRevoked> {
    return (await this.request("POST", `/v1/workers/${encodeURIComponent(id)}/revoke`, WorkerRevokedSchema)).body;
  }

  /** Cordon, uncordon or drain (with how long a drain may wait for work in flight). */
  async controlWorker(
    id: string,
    action: "cordon" | "uncordon" | "drain",
    timeoutSeconds?: number,
  ): Promise<WorkerControlAnswer> {
    const path = `/v1/workers/${encodeURIComponent(id)}/${action}`;
    const body =
      action === "drain" ? (timeoutSeconds === undefined ? {} : { timeout_seconds: timeoutSeconds }) : undefined;
    return (await this.request("POST", path, WorkerControlAnswerSchema, body)).body;
  }

  /** One of seed 002's selection analyses over `[from, to)` (edge defaults: the last 24 hours). */
  async selectionAnalysis<A extends SelectionAnalysis>(
    analysis: A,
    window: { from?: string | undefined; to?: string | undefined } = {},
  ): Promise<SelectionAnalysisResult<A>> {
    const path = `/v1/analytics/${analysis}${queryString({ from: window.from, to: window.to })}`;
    // Indexing the map with a generic key loses the correlation TypeScript cannot track; the schema is A's.
    return (await this.request("GET", path, SELECTION_ANALYSIS_SCHEMAS[analysis])).body as SelectionAnalysisResult<A>;
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
