/**
 * What a request is served by: a model reference resolved to one version in one format, or the
 * candidates of an `auto:<category>` request (route-request.ts then picks a worker and forwards).
 */
import {
  describeModelReference,
  type GenerateRequest,
  ModelgateError,
  type ModelKind,
  type ModelVersion,
  parseModelReference,
  resolveModelReference,
  TaskCategoryNameSchema,
  VersionSearchQuerySchema,
} from "@modelgate/shared";
import type { Context } from "hono";
import type { AppEnv } from "../env.js";
import { readLiveModel, registryCoordinator } from "../registry/registry-access.js";
import { unwrapWire } from "../registry/wire-result.js";
import { rolloutCandidateFor } from "../rollouts/rollout-split.js";
import { categoryCandidatesCache, modelRecordCache } from "./routing-caches.js";
import { servedTarget } from "./served-format.js";

export const ENDPOINT_FOR_KIND: Record<ModelKind, string> = {
  "causal-lm": "/v1/generate",
  tensor: "/v1/predict",
  scorer: "/v1/generate as a judge",
};

/**
 * `name` → its Production version, `name@N` → version N, `…:int8` → that converted format (see
 * served-format.ts), as the version document the worker receives. `field` names the reference in
 * errors.
 */
export async function resolveTargetVersion(
  c: Context<AppEnv>,
  reference: string,
  kind: ModelKind,
  field = "model",
): Promise<ModelVersion> {
  const parsed = parseModelReference(reference);
  if (!parsed) {
    throw new ModelgateError("validation_failed", `"${reference}" is not a model reference.`, [
      {
        field,
        message:
          "expected `name`, `name@<version>`, `name@production`, `name@staging`, `name@latest` or `name@<alias>`, " +
          "optionally ending in `:fp32`, `:fp16`, `:int8`, `:int4` or `:best`",
      },
    ]);
  }
  const record = await modelRecordCache.get(parsed.name, c.get("config").MODELGATE_ROUTING_RECORD_CACHE_MS, () =>
    readLiveModel(c.env, parsed.name),
  );
  if (!record)
    throw new ModelgateError("not_found", `No model named ${parsed.name}.`, [{ field, message: "no such model" }]);
  // Only the request's own model is split; a judge model is always the one named.
  const version =
    (field === "model" ? rolloutCandidateFor(c, record, parsed) : undefined) ?? resolveModelReference(record, parsed);
  if (!version) {
    throw new ModelgateError("not_found", `${describeModelReference(parsed)} does not exist.`, [
      { field, message: "no such version" },
    ]);
  }
  if (version.kind !== kind) {
    throw new ModelgateError(
      "bad_request",
      `${version.name}@${version.version} is a ${version.kind} model; use it with ${ENDPOINT_FOR_KIND[version.kind]} instead.`,
      [{ field, message: `expected a ${kind} model` }],
    );
  }
  const served = servedTarget(version, parsed.format, field);
  if (!served.ok) throw served.error;
  return served.value;
}

/**
 * Refuses, before forwarding, a generation whose new tokens alone would fill the model's
 * context (the worker checks the prompt's share once it has tokenized it).
 */
export function checkContextRoom(request: GenerateRequest, target: ModelVersion): void {
  const limit = target.max_context_tokens;
  const asked = request.max_new_tokens ?? request.runtime_config?.max_new_tokens;
  if (limit === undefined || asked === undefined || asked < limit) return;
  const field = request.max_new_tokens !== undefined ? "max_new_tokens" : "runtime_config.max_new_tokens";
  throw new ModelgateError(
    "validation_failed",
    `${target.name}@${target.version} has a ${limit}-token context; max_new_tokens ${asked} leaves no room for the prompt.`,
    [{ field, message: `must be less than the model's context length (${limit})` }],
  );
}

/** The category of an `auto:<category>` model reference; undefined for any other reference. */
export function autoCategoryOf(reference: string): string | undefined {
  if (!reference.startsWith(AUTO_PREFIX)) return undefined;
  const parsed = TaskCategoryNameSchema.safeParse(reference.slice(AUTO_PREFIX.length));
  if (!parsed.success) {
    throw new ModelgateError("validation_failed", `"${reference}" is not a task category.`, [
      { field: "model", message: "expected auto:<category>, e.g. auto:code (a lower-case category name)" },
    ]);
  }
  return parsed.data;
}

const AUTO_PREFIX = "auto:";

/** Every Production version of a kind in a category: the candidates of an `auto:` request. */
export async function servableVersionsInCategory(
  c: Context<AppEnv>,
  category: string,
  kind: ModelKind,
): Promise<ModelVersion[]> {
  // Cached like model records: the same version objects across requests also let selection
  // reuse its per-candidate index instead of rebuilding it for every `auto:` request.
  const versions = await categoryCandidatesCache.get(
    `${kind}:${category}`,
    c.get("config").MODELGATE_ROUTING_RECORD_CACHE_MS,
    async () => {
      const query = VersionSearchQuerySchema.parse({ category, stage: "Production", kind, limit: 1000 });
      const page = unwrapWire(await registryCoordinator(c.env).search(query));
      // Search items carry their aliases; a worker takes the version document alone, in its serving format.
      return page.items.flatMap(({ aliases: _aliases, ...version }) => {
        const served = servedTarget(version, undefined, "model");
        return served.ok ? [served.value] : [];
      });
    },
  );
  if (versions.length === 0) {
    throw new ModelgateError("not_found", `No ${kind} model in Production serves the category ${category}.`, [
      { field: "model", message: `no Production ${kind} version lists the category ${category}` },
    ]);
  }
  return versions;
}
