import {
  DEFAULT_RUNTIME_CONFIG,
  type ErrorCode,
  GenerateRequestSchema,
  type GenerateResponse,
  ModelgateError,
  type ModelKind,
  type ModelRecord,
  type ModelVersion,
  PROBLEM_CONTENT_TYPE,
  PredictRequestSchema,
  type PredictResponse,
  parseModelReference,
  RegisterVersionRequestSchema,
  resolveModelReference,
  StageChangeRequestSchema,
  validationError,
  type WorkerListEntry,
} from "@modelgate/shared";
import type { z } from "zod";
import { type RecordedRequest, type Reply, startHttpServer, type TestServer } from "./http-server.js";

export const ADMIN_KEY = "mg_admin_test_key";
/** A valid key without the admin scope: `/v1/workers` and writes answer 403. */
export const READER_KEY = "mg_reader_test_key";

export interface FakeEdgeOptions {
  models: ModelRecord[];
  workers: WorkerListEntry[];
  /** Inference answers 503 no_worker_available, as the edge does with an empty pool. */
  noLiveWorkers?: boolean;
}

const problem = (error: ModelgateError, path: string): Reply => ({
  status: error.status,
  body: error.toProblem(path),
  contentType: PROBLEM_CONTENT_TYPE,
});

const fail = (code: ErrorCode, detail: string): never => {
  throw new ModelgateError(code, detail);
};

function parseBody<S extends z.ZodType>(request: RecordedRequest, schema: S, what: string): z.output<S> {
  if (!request.contentType?.startsWith("application/json")) fail("unsupported_media_type", `Send the ${what} as JSON.`);
  const parsed = schema.safeParse(request.body);
  if (!parsed.success) throw validationError(parsed.error, what);
  return parsed.data;
}

/**
 * Plays the edge's documented HTTP contract (edge/src/routes/*.ts): bearer auth with 401/403,
 * registry reads and writes, stage changes that archive the old Production, inference with
 * routing headers, and problem+json for every error.
 */
export async function startFakeEdge(options: FakeEdgeOptions): Promise<TestServer> {
  const models = options.models;

  function authorize(request: RecordedRequest, needsAdmin: boolean): void {
    const token = /^Bearer\s+(\S+)$/i.exec(request.authorization ?? "")?.[1];
    if (!token) fail("unauthorized", "Send an API key as `Authorization: Bearer <key>`.");
    if (token !== ADMIN_KEY && token !== READER_KEY) fail("unauthorized", "The API key is not valid.");
    if (needsAdmin && token !== ADMIN_KEY) fail("forbidden", "This key lacks the `admin` scope.");
  }

  function findModel(name: string): ModelRecord {
    return models.find((m) => m.name === name) ?? fail("not_found", `No model named ${name}.`);
  }

  function resolveTarget(reference: string, kind: ModelKind): ModelVersion {
    const parsed = parseModelReference(reference) ?? fail("validation_failed", "not a model reference");
    const target =
      resolveModelReference(findModel(parsed.name), parsed) ??
      fail("not_found", `Model ${parsed.name} has no such version.`);
    if (target.kind !== kind) {
      throw new ModelgateError("bad_request", `${target.name}@${target.version} is a ${target.kind} model.`, [
        { field: "model", message: `expected a ${kind} model` },
      ]);
    }
    return target;
  }

  const routed = (body: unknown): Reply => ({
    status: 200,
    body,
    headers: { "x-modelgate-worker": "gpu-box-1", "x-modelgate-route-reason": "least loaded live worker" },
  });

  function route(request: RecordedRequest): Reply {
    const { method, path } = request;
    if (method === "GET" && path === "/health") {
      return { status: 200, body: { status: "ok", service: "modelgate-edge", time: "2026-01-12T10:30:00.000Z" } };
    }
    const isWrite = method === "POST" && path.startsWith("/v1/models");
    authorize(request, isWrite || path === "/v1/workers");

    if (method === "GET" && path === "/v1/models") return { status: 200, body: { models } };
    if (method === "GET" && path === "/v1/workers") return { status: 200, body: { workers: options.workers } };

    const modelPath = /^\/v1\/models\/([^/]+)(?:\/versions(?:\/(\d+)(\/stage)?)?)?$/.exec(path);
    if (modelPath) {
      const [, name = "", versionText, stage] = modelPath;
      const hasVersions = path.includes("/versions");
      if (method === "GET" && !hasVersions) return { status: 200, body: findModel(name) };
      if (method === "POST" && hasVersions && versionText === undefined) {
        const registration = parseBody(request, RegisterVersionRequestSchema, "version registration");
        const record = findModel(name);
        const { runtime_config: _runtime, memory_mb: _memory, ...fields } = registration;
        const created: ModelVersion = {
          ...fields,
          name,
          version: record.versions.length + 1,
          stage: "None",
          memory_mb: 64,
          created_at: "2026-01-13T08:00:00.000Z",
          created_by: "admin",
          stage_history: [],
        };
        record.versions.push(created);
        return { status: 201, body: created };
      }
      const target = findModel(name).versions.find((v) => String(v.version) === versionText);
      if (!target) return fail("not_found", `Model ${name} has no version ${versionText}.`);
      if (method === "GET" && stage === undefined) return { status: 200, body: target };
      if (method === "POST" && stage !== undefined) {
        const change = parseBody(request, StageChangeRequestSchema, "stage change");
        const record = findModel(name);
        const at = "2026-01-13T09:00:00.000Z";
        if (change.stage === "Production" && change.archive_existing) {
          for (const other of record.versions.filter((v) => v.stage === "Production" && v !== target)) {
            other.stage_history.push({ from: "Production", to: "Archived", at, by: "admin" });
            other.stage = "Archived";
          }
        }
        target.stage_history.push({ from: target.stage, to: change.stage, at, by: "admin", reason: change.reason });
        target.stage = change.stage;
        return { status: 200, body: { version: target, model: record } };
      }
    }

    if (method === "POST" && path === "/v1/generate") {
      const generate = parseBody(request, GenerateRequestSchema, "generate request");
      const target = resolveTarget(generate.model, "causal-lm");
      if (options.noLiveWorkers)
        fail("no_worker_available", `Cannot serve ${target.name}@${target.version}: no live worker.`);
      const response: GenerateResponse = {
        model: target.name,
        version: target.version,
        worker_id: "gpu-box-1",
        text: `echo: ${generate.prompt}`,
        token_ids: [101, 102, 103],
        tokens_generated: 3,
        prompt_tokens: generate.prompt.length,
        finish_reason: "halt",
        halt_logits: [0.1, 1.2],
        halt_probability: 0.75,
        refinement_loops: 1,
        latent_spans_used: 0,
        ces_tokens_total: generate.prompt.length + 3,
        seed: generate.seed ?? 1234,
        inference_time_ms: 4.2,
        tokens_per_second: 714.3,
        runtime_config: DEFAULT_RUNTIME_CONFIG,
      };
      return routed(response);
    }
    if (method === "POST" && path === "/v1/predict") {
      const predict = parseBody(request, PredictRequestSchema, "predict request");
      const target = resolveTarget(predict.model, "tensor");
      if (options.noLiveWorkers)
        fail("no_worker_available", `Cannot serve ${target.name}@${target.version}: no live worker.`);
      const response: PredictResponse = {
        predictions: predict.data.map((row) => ((row[0] ?? 0) > 0.5 ? 1 : 0)),
        probabilities: predict.data.map((row) => ((row[0] ?? 0) > 0.5 ? [0.1, 0.9] : [0.8, 0.2])),
        model_version: `${target.name}@${target.version}`,
        model: target.name,
        version: target.version,
        worker_id: "gpu-box-1",
        inference_time_ms: 0.8,
      };
      return routed(response);
    }
    return fail("not_found", `No route for ${method} ${path}.`);
  }

  return startHttpServer((request) => {
    try {
      return route(request);
    } catch (error) {
      if (error instanceof ModelgateError) return problem(error, request.path);
      throw error;
    }
  });
}
