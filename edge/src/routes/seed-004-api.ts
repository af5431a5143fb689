/**
 * Seed 004's inference API at the edge: `GET /models`, `POST /predict`, `POST /reload-model`
 * (`GET /health` is routes/health.ts). The bodies keep the seed's field names; errors are
 * modelgate's problem+json like every other route outside `/v2`.
 *
 * The default model: seed 004's server serves one production model, so a request without
 * `model` goes to the one tensor model that has a Production version. With none, or several,
 * the request must name one (404 / 400 naming `model`) rather than be routed by a guess.
 *
 * Any tensor model with one input: `data` is that input as nested arrays (tensors/seed-004-predict.ts).
 * A classifier answers the seed's `{predictions, probabilities}`; any other model `outputs`.
 *
 * Reloading: the edge keeps no copy of any model, only an isolate's short-lived cache of model
 * records (routing-caches.ts). `POST /reload-model` drops that cache, re-resolves the Production
 * version from R2 now and warms it: all-zeros inputs (one row) are run on the
 * worker routing would choose, which loads the new artifact there, so the first real request
 * does not pay the load. It answers which version is now served and what the warm-up cost.
 */
import {
  isWorkerLive,
  ModelgateError,
  type ModelVersion,
  PredictRequestSchema,
  StageSchema,
  selectWorkerForModel,
  V2DatatypeSchema,
  type VersionSearchItem,
  VersionSearchQuerySchema,
  type WorkerState,
} from "@modelgate/shared";
import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../env.js";
import { readJsonBody } from "../http/json-body.js";
import { requireScope } from "../middleware/authenticate.js";
import { workerPoolStub } from "../pool/worker-pool-object.js";
import { parseQuery, registryCoordinator } from "../registry/registry-access.js";
import { unwrapWire } from "../registry/wire-result.js";
import { resolveTargetVersion } from "../routing/resolve-target.js";
import { forgetRoutingState } from "../routing/routing-caches.js";
import { predictAnswer, predictInput, predictOutputs, warmUpInputs } from "../tensors/seed-004-predict.js";
import { forwardTensors } from "../tensors/tensor-forwarding.js";

/** Seed 004's request: `{"data": [[...]], "model_version"?: "3"}`, plus modelgate's optional `model`. */
export const Seed004PredictRequestSchema = z.strictObject({
  data: z
    .array(z.unknown())
    .min(1)
    .describe(
      "The model's one input as nested arrays, outermost the batch: rows of features (`[[0.5, 0.3]]`), `[N][3][H][W]` images, …; numbers (booleans for BOOL, strings for BYTES inputs).",
    ),
  model: PredictRequestSchema.shape.model
    .optional()
    .describe("A model reference (`spirals`, `spirals@3`, `spirals@champion`); the default model when absent."),
  model_version: z
    .union([z.int().min(1), z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be a version number, stage or alias")])
    .optional()
    .describe("Seed 004's version selector: `3`, `production`, `staging`, `latest` or an alias."),
});
export type Seed004PredictRequest = z.infer<typeof Seed004PredictRequestSchema>;

/** Seed 004's response for a classifier, with the answering model's name added (the default may have been used). */
export const Seed004ClassifierResponseSchema = z.strictObject({
  predictions: z.array(z.int()),
  probabilities: z.array(z.array(z.number())),
  /** The version number, as a string (seed 004's `"3"`). */
  model_version: z.string(),
  inference_time_ms: z.number(),
  model: z.string(),
});

/** Any other tensor model's answer: every output, as V2 writes tensors (flat, row-major `data`). */
export const Seed004OutputsResponseSchema = z.strictObject({
  outputs: z.array(
    z.strictObject({
      name: z.string(),
      datatype: V2DatatypeSchema,
      shape: z.array(z.int().min(0)),
      data: z.array(z.union([z.number(), z.boolean(), z.string()])),
    }),
  ),
  model_version: z.string(),
  inference_time_ms: z.number(),
  model: z.string(),
});

export const Seed004PredictResponseSchema = z.union([Seed004ClassifierResponseSchema, Seed004OutputsResponseSchema]);

export const ServableVersionSchema = z.strictObject({
  version: z.int().min(1),
  stage: StageSchema,
  aliases: z.array(z.string()),
  metrics: z.record(z.string(), z.number()),
  created_at: z.iso.datetime(),
  /** Live workers whose last heartbeat reports this version's artifact loaded. */
  loaded_on: z.array(z.string()),
});

export const ServableModelsSchema = z.strictObject({
  /** What `POST /predict` uses without `model`; null when no single tensor model is in Production. */
  default_model: z.string().nullable(),
  models: z.array(
    z.strictObject({
      name: z.string(),
      production_version: z.int().min(1).nullable(),
      /** A live worker can take the Production version now. */
      ready: z.boolean(),
      versions: z.array(ServableVersionSchema),
    }),
  ),
});

export const ReloadModelQuerySchema = z.strictObject({
  model: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe("A model reference; the default model (as for `POST /predict`) when absent."),
});

export const ReloadModelResponseSchema = z.strictObject({
  model: z.string(),
  version: z.int().min(1),
  stage: StageSchema,
  artifact_sha256: z.string(),
  reloaded_at: z.iso.datetime(),
  /** The warm-up prediction; null when the input has no fixed feature count to build a row from. */
  warm_up: z.strictObject({ worker_id: z.string(), elapsed_ms: z.number() }).nullable(),
});

const MAX_LISTED_PAGES = 20;

/** Every tensor version in the search index (sorted by name), page by page. */
async function tensorVersions(c: Context<AppEnv>, stage?: "Production"): Promise<VersionSearchItem[]> {
  const items: VersionSearchItem[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_LISTED_PAGES; page++) {
    const query = VersionSearchQuerySchema.parse({ kind: "tensor", stage, sort: "name", limit: 1000, cursor });
    const result = unwrapWire(await registryCoordinator(c.env).search(query));
    items.push(...result.items);
    if (result.next_cursor === null) break;
    cursor = result.next_cursor;
  }
  return items;
}

function soleName(versions: readonly VersionSearchItem[]): string | undefined {
  const names = [...new Set(versions.map((v) => v.name))];
  return names.length === 1 ? names[0] : undefined;
}

async function defaultModel(c: Context<AppEnv>): Promise<string> {
  const production = await tensorVersions(c, "Production");
  const sole = soleName(production);
  if (sole !== undefined) return sole;
  const names = [...new Set(production.map((v) => v.name))];
  if (names.length === 0) {
    throw new ModelgateError("not_found", "No tensor model is in Production, so there is no default; name one.", [
      { field: "model", message: "required: there is no default model" },
    ]);
  }
  throw new ModelgateError(
    "validation_failed",
    `Several tensor models are in Production (${names.join(", ")}); name one with \`model\`.`,
    [{ field: "model", message: "required when more than one tensor model is in Production" }],
  );
}

async function predictReference(c: Context<AppEnv>, request: Seed004PredictRequest): Promise<string> {
  const model = request.model ?? (await defaultModel(c));
  if (request.model_version === undefined) return model;
  if (model.includes("@")) {
    throw new ModelgateError("validation_failed", "Name the version once: in `model` or in `model_version`.", [
      { field: "model_version", message: "not allowed when `model` already names a version" },
    ]);
  }
  return `${model}@${request.model_version}`;
}

/** Live workers holding this version's artifact, by their last heartbeat. */
function loadedOn(version: Pick<ModelVersion, "name" | "artifact">, live: readonly WorkerState[]): string[] {
  return live
    .filter((w) =>
      w.heartbeat.loaded_models.some((m) => m.name === version.name && m.sha256 === version.artifact.sha256),
    )
    .map((w) => w.heartbeat.worker_id);
}

/** All-zeros inputs through the chosen worker, which loads the artifact there. */
async function warmUp(
  c: Context<AppEnv>,
  target: ModelVersion,
): Promise<z.infer<typeof ReloadModelResponseSchema>["warm_up"]> {
  const inputs = warmUpInputs(target);
  if (inputs === undefined) return null;
  const started = Date.now();
  const forwarded = await forwardTensors(c, target, inputs, undefined);
  if (!forwarded.ok) {
    const worker = forwarded.response.headers.get("x-modelgate-worker") ?? "?";
    throw new ModelgateError(
      "upstream_failed",
      `${target.name}@${target.version} failed its warm-up on worker ${worker} (${forwarded.response.status}).`,
    );
  }
  return { worker_id: forwarded.result.header.worker_id, elapsed_ms: Date.now() - started };
}

export const seed004Routes = new Hono<AppEnv>()
  .get("/models", requireScope("models:read"), async (c) => {
    const [versions, workers] = await Promise.all([tensorVersions(c), workerPoolStub(c.env.WORKER_POOL).listWorkers()]);
    const now = Date.now();
    const live = workers.filter((w) => isWorkerLive(w, now));
    const byName = new Map<string, VersionSearchItem[]>();
    for (const version of versions) byName.set(version.name, [...(byName.get(version.name) ?? []), version]);
    const models = [...byName].map(([name, list]) => {
      const sorted = [...list].sort((a, b) => a.version - b.version);
      const production = sorted.filter((v) => v.stage === "Production").at(-1);
      return {
        name,
        production_version: production?.version ?? null,
        ready: production !== undefined && selectWorkerForModel(workers, production, now).ok,
        versions: sorted.map((v) => ({
          version: v.version,
          stage: v.stage,
          aliases: v.aliases,
          metrics: v.metrics,
          created_at: v.created_at,
          loaded_on: loadedOn(v, live),
        })),
      };
    });
    const defaultName = soleName(versions.filter((v) => v.stage === "Production")) ?? null;
    return c.json({ default_model: defaultName, models });
  })
  .post("/predict", requireScope("infer"), async (c) => {
    const limit = c.get("config").MODELGATE_MAX_TENSOR_BODY_BYTES;
    const request = await readJsonBody(c, Seed004PredictRequestSchema, "predict request", limit);
    const reference = await predictReference(c, request);
    const target = await resolveTargetVersion(c, reference, "tensor");
    const input = predictInput(target, request.data);
    const forwarded = await forwardTensors(c, target, [input], predictOutputs(target));
    // A worker's 4xx is already a problem naming the field: pass it on.
    if (!forwarded.ok) return forwarded.response;
    const { headers, result } = forwarded;
    headers.set("content-type", "application/json");
    const body = {
      ...predictAnswer(target, result),
      model_version: String(target.version),
      inference_time_ms: result.header.inference_time_ms,
      model: target.name,
    };
    return new Response(JSON.stringify(body), { status: 200, headers });
  })
  .post("/reload-model", requireScope("admin"), async (c) => {
    const query = parseQuery(c, ReloadModelQuerySchema, "reload options");
    // A reload must see a promotion made through another isolate a moment ago.
    forgetRoutingState({ records: true });
    const target = await resolveTargetVersion(c, query.model ?? (await defaultModel(c)), "tensor");
    const warm = await warmUp(c, target);
    return c.json({
      model: target.name,
      version: target.version,
      stage: target.stage,
      artifact_sha256: target.artifact.sha256,
      reloaded_at: new Date().toISOString(),
      warm_up: warm,
    });
  });
