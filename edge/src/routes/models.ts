import {
  ModelgateError,
  ModelNameSchema,
  RegisterVersionRequestSchema,
  type Result,
  StageChangeRequestSchema,
  validationError,
} from "@modelgate/shared";
import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../env.js";
import { readJsonBody } from "../http/json-body.js";
import { requireScope } from "../middleware/authenticate.js";
import { R2RegistryStore } from "../registry/r2-registry-store.js";

const VersionNumberSchema = z.coerce.number().int().min(1).max(999_999_999);

function modelNameParam(c: Context<AppEnv>): string {
  const parsed = ModelNameSchema.safeParse(c.req.param("name"));
  if (!parsed.success) throw validationError(parsed.error, "model name", "name");
  return parsed.data;
}

function versionParam(c: Context<AppEnv>): number {
  const parsed = VersionNumberSchema.safeParse(c.req.param("version"));
  if (!parsed.success) throw validationError(parsed.error, "version", "version");
  return parsed.data;
}

function unwrap<T>(result: Result<T>): T {
  if (!result.ok) throw result.error;
  return result.value;
}

/** The registry: models and their immutable versions, with stage changes kept in history. */
export const modelRoutes = new Hono<AppEnv>()
  .get("/v1/models", requireScope("models:read"), async (c) => {
    const models = await new R2RegistryStore(c.env.REGISTRY).listModels();
    return c.json({ models });
  })
  .get("/v1/models/:name", requireScope("models:read"), async (c) => {
    const name = modelNameParam(c);
    const model = await new R2RegistryStore(c.env.REGISTRY).getModel(name);
    if (!model) throw new ModelgateError("not_found", `No model named ${name}.`);
    return c.json(model);
  })
  .post("/v1/models/:name/versions", requireScope("models:write"), async (c) => {
    const name = modelNameParam(c);
    const request = await readJsonBody(c, RegisterVersionRequestSchema, "version registration");
    const principal = c.get("principal");
    const version = unwrap(await new R2RegistryStore(c.env.REGISTRY).registerVersion(name, request, principal.id));
    c.header("location", `/v1/models/${name}/versions/${version.version}`);
    return c.json(version, 201);
  })
  .get("/v1/models/:name/versions/:version", requireScope("models:read"), async (c) => {
    const name = modelNameParam(c);
    const number = versionParam(c);
    const model = await new R2RegistryStore(c.env.REGISTRY).getModel(name);
    const version = model?.versions.find((v) => v.version === number);
    if (!version) throw new ModelgateError("not_found", `Model ${name} has no version ${number}.`);
    return c.json(version);
  })
  .post("/v1/models/:name/versions/:version/stage", requireScope("models:write"), async (c) => {
    const name = modelNameParam(c);
    const number = versionParam(c);
    const change = await readJsonBody(c, StageChangeRequestSchema, "stage change");
    const record = unwrap(
      await new R2RegistryStore(c.env.REGISTRY).changeStage(
        name,
        number,
        { stage: change.stage, archiveExisting: change.archive_existing, reason: change.reason },
        c.get("principal").id,
      ),
    );
    const version = record.versions.find((v) => v.version === number);
    return c.json({ version, model: record });
  });
