import {
  AliasRequestSchema,
  BestVersionQuerySchema,
  DeleteQuerySchema,
  ModelgateError,
  modelView,
  ReasonTextSchema,
  RegistryPolicySchema,
  VersionSearchQuerySchema,
} from "@modelgate/shared";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../env.js";
import { readJsonBody } from "../http/json-body.js";
import { requireScope } from "../middleware/authenticate.js";
import { openAiModelList } from "../openai/openai-model-list.js";
import {
  aliasParam,
  modelNameParam,
  parseQuery,
  registryCoordinator,
  requireLiveModel,
  writeRegistry,
} from "../registry/registry-access.js";
import { RegistryDocuments } from "../registry/registry-documents.js";
import { unwrapWire } from "../registry/wire-result.js";

export const PolicyRequestSchema = z.strictObject({
  policy: RegistryPolicySchema,
  reason: ReasonTextSchema.optional(),
});

export const ReasonQuerySchema = z.strictObject({ reason: ReasonTextSchema.optional() });

/**
 * Models as a whole: search over every version, one model's state, its history, the best
 * version by a metric, aliases, the registration policy, and deletion.
 */
export const modelRoutes = new Hono<AppEnv>()
  .get("/v1/models", requireScope("models:read"), async (c) => {
    const query = parseQuery(c, VersionSearchQuerySchema, "search query");
    const page = unwrapWire(await registryCoordinator(c.env).search(query));
    // The same answer is OpenAI's model list (`object`, `data`), so OpenAI clients can list models too.
    return c.json({ ...page, ...openAiModelList(page.items) });
  })
  .get("/v1/models/:name", requireScope("models:read"), async (c) => {
    const record = await requireLiveModel(c.env, modelNameParam(c));
    return c.json(modelView(record));
  })
  .delete("/v1/models/:name", requireScope("models:write"), async (c) => {
    const name = modelNameParam(c);
    const options = parseQuery(c, DeleteQuerySchema, "delete options");
    const deleted = await writeRegistry(c, "delete_model", (registry) =>
      registry.deleteModel(name, options, c.get("principal").id),
    );
    return c.json({ name, ...deleted });
  })
  .get("/v1/models/:name/history", requireScope("models:read"), async (c) => {
    const name = modelNameParam(c);
    // Deleted models keep their history: read the tombstone too.
    const stored = await new RegistryDocuments(c.env.REGISTRY).readModel(name);
    if (!stored) throw new ModelgateError("not_found", `No model named ${name} has ever been registered.`);
    return c.json({ name, deleted_at: stored.record.deleted_at ?? null, events: stored.record.history });
  })
  .get("/v1/models/:name/best", requireScope("models:read"), async (c) => {
    const name = modelNameParam(c);
    const query = parseQuery(c, BestVersionQuerySchema, "best-version query");
    const record = await requireLiveModel(c.env, name);
    const sign = query.order === "desc" ? -1 : 1;
    const candidates = record.versions
      .filter((v) => v.metrics[query.metric] !== undefined || v.benchmark_scores[query.metric] !== undefined)
      .filter((v) => query.stage === undefined || v.stage === query.stage);
    const score = (v: (typeof candidates)[number]) => v.metrics[query.metric] ?? v.benchmark_scores[query.metric] ?? 0;
    const best = candidates.sort((a, b) => sign * (score(a) - score(b)) || b.version - a.version)[0];
    if (!best) {
      throw new ModelgateError(
        "not_found",
        `No version of ${name}${query.stage ? ` in ${query.stage}` : ""} has a ${query.metric} metric.`,
      );
    }
    return c.json({ metric: query.metric, value: score(best), version: best });
  })
  .put("/v1/models/:name/policy", requireScope("models:write"), async (c) => {
    const name = modelNameParam(c);
    const request = await readJsonBody(c, PolicyRequestSchema, "policy");
    const record = await writeRegistry(c, "set_policy", (registry) =>
      registry.setPolicy(name, request.policy, request.reason, c.get("principal").id),
    );
    return c.json({ name, policy: record.policy });
  })
  .put("/v1/models/:name/aliases/:alias", requireScope("models:write"), async (c) => {
    const name = modelNameParam(c);
    const alias = aliasParam(c);
    const request = await readJsonBody(c, AliasRequestSchema, "alias");
    const record = await writeRegistry(c, "set_alias", (registry) =>
      registry.setAlias(name, alias, request, c.get("principal").id),
    );
    return c.json({ name, alias, version: record.aliases[alias] ?? null, aliases: record.aliases });
  })
  .delete("/v1/models/:name/aliases/:alias", requireScope("models:write"), async (c) => {
    const name = modelNameParam(c);
    const alias = aliasParam(c);
    const { reason } = parseQuery(c, ReasonQuerySchema, "alias removal");
    const record = await writeRegistry(c, "remove_alias", (registry) =>
      registry.removeAlias(name, alias, reason, c.get("principal").id),
    );
    return c.json({ name, alias, aliases: record.aliases });
  })
  .post("/v1/admin/registry/reindex", requireScope("admin"), async (c) => {
    return c.json(await writeRegistry(c, "reindex", (registry) => registry.reindex()));
  });
