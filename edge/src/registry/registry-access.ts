import {
  AliasNameSchema,
  describeModelReference,
  EDGE_METRICS,
  ModelgateError,
  ModelNameSchema,
  type ModelRecord,
  type ModelVersion,
  parseSelector,
  resolveModelReference,
  validationError,
} from "@modelgate/shared";
import type { Context } from "hono";
import type { z } from "zod";
import type { AppEnv, EdgeBindings } from "../env.js";
import { isolateMetrics } from "../metrics/isolate-metrics.js";
import { RegistryDocuments } from "./registry-documents.js";
import { unwrapWire, type WireResult } from "./wire-result.js";

/** The single registry writer (and search index) for this deployment. */
export function registryCoordinator(env: EdgeBindings) {
  return env.REGISTRY_COORDINATOR.get(env.REGISTRY_COORDINATOR.idFromName("registry"));
}

/** The registry writes the edge counts (`modelgate_edge_registry_writes_total{operation}`). */
export type RegistryWriteOperation =
  | "register"
  | "patch_metadata"
  | "delete_version"
  | "delete_model"
  | "change_stage"
  | "set_policy"
  | "set_alias"
  | "remove_alias"
  | "reindex"
  | "record_conversion"
  | "record_verification"
  | "start_rollout"
  | "control_rollout"
  | "record_evaluation";

/**
 * One write through the coordinator, counted by outcome: `ok`, `refused` (the coordinator said
 * no: a conflict, a policy, a missing version) or `failed` (it could not be asked); then unwrapped
 * into the route's value or its ModelgateError.
 */
export async function writeRegistry<T>(
  c: Context<AppEnv>,
  operation: RegistryWriteOperation,
  write: (coordinator: ReturnType<typeof registryCoordinator>) => Promise<WireResult<T>>,
): Promise<T> {
  const count = (outcome: "ok" | "refused" | "failed") => {
    if (c.get("config").MODELGATE_METRICS) isolateMetrics.count(EDGE_METRICS.registryWrites, { operation, outcome });
  };
  let result: WireResult<T>;
  try {
    result = await write(registryCoordinator(c.env));
  } catch (error) {
    count("failed");
    throw error;
  }
  count(result.ok ? "ok" : "refused");
  return unwrapWire(result);
}

/** A live model straight from R2 (strongly consistent); deleted models are 404 here. */
export async function readLiveModel(env: EdgeBindings, name: string): Promise<ModelRecord | undefined> {
  const stored = await new RegistryDocuments(env.REGISTRY).readModel(name);
  return stored && stored.record.deleted_at === undefined ? stored.record : undefined;
}

export async function requireLiveModel(env: EdgeBindings, name: string): Promise<ModelRecord> {
  const record = await readLiveModel(env, name);
  if (!record) throw new ModelgateError("not_found", `No model named ${name}.`);
  return record;
}

function parsedParam<S extends z.ZodType>(c: Context<AppEnv>, param: string, schema: S, what: string): z.output<S> {
  const parsed = schema.safeParse(c.req.param(param));
  if (!parsed.success) throw validationError(parsed.error, what, param);
  return parsed.data;
}

export const modelNameParam = (c: Context<AppEnv>): string => parsedParam(c, "name", ModelNameSchema, "model name");
export const aliasParam = (c: Context<AppEnv>): string => parsedParam(c, "alias", AliasNameSchema, "alias");

/** A version path segment: a number, `latest`, a stage (`production`, `staging`) or an alias. */
export function resolveVersionParam(c: Context<AppEnv>, record: ModelRecord): ModelVersion {
  const segment = c.req.param("version") ?? "";
  const reference = parseSelector(record.name, segment);
  if (!reference) {
    throw new ModelgateError("validation_failed", `"${segment}" is not a version.`, [
      { field: "version", message: "expected a version number, latest, production, staging or an alias" },
    ]);
  }
  const version = resolveModelReference(record, reference);
  if (!version) throw new ModelgateError("not_found", `${describeModelReference(reference)} does not exist.`);
  return version;
}

/** A version number path segment for writes: writes never go through a moving alias. */
export function versionNumberParam(c: Context<AppEnv>): number {
  const segment = c.req.param("version") ?? "";
  if (!/^[1-9][0-9]{0,8}$/.test(segment)) {
    throw new ModelgateError("validation_failed", `"${segment}" is not a version number.`, [
      { field: "version", message: "writes name the version by number (1, 2, …)" },
    ]);
  }
  return Number(segment);
}

/** Query parameters through a strict schema: an unknown or malformed one is named in a 400. */
export function parseQuery<S extends z.ZodType>(c: Context<AppEnv>, schema: S, what: string): z.output<S> {
  const parsed = schema.safeParse(c.req.query());
  if (!parsed.success) throw validationError(parsed.error, what);
  return parsed.data;
}
