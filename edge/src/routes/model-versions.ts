import {
  DeleteQuerySchema,
  ModelgateError,
  modelView,
  RegisterVersionRequestSchema,
  StageChangeRequestSchema,
  VersionMetadataPatchSchema,
  versionMetadataOf,
} from "@modelgate/shared";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../env.js";
import { readJsonBody } from "../http/json-body.js";
import { requireScope } from "../middleware/authenticate.js";
import {
  modelNameParam,
  parseQuery,
  requireLiveModel,
  resolveVersionParam,
  versionNumberParam,
  writeRegistry,
} from "../registry/registry-access.js";
import { RegistryDocuments } from "../registry/registry-documents.js";

export const MetadataRevisionQuerySchema = z.strictObject({
  revision: z.coerce.number().int().min(1).max(1_000_000).optional(),
});

/**
 * Versions: registration (immutable once written), reads by number/stage/alias, metadata
 * edits as new revisions, stage changes and deletion.
 */
export const modelVersionRoutes = new Hono<AppEnv>()
  .post("/v1/models/:name/versions", requireScope("models:write"), async (c) => {
    const name = modelNameParam(c);
    const request = await readJsonBody(c, RegisterVersionRequestSchema, "version registration");
    const { version, policy } = await writeRegistry(c, "register", (registry) =>
      registry.register(name, request, c.get("principal").id),
    );
    c.header("location", `/v1/models/${name}/versions/${version.version}`);
    return c.json({ ...version, policy }, 201);
  })
  .get("/v1/models/:name/versions/:version", requireScope("models:read"), async (c) => {
    const record = await requireLiveModel(c.env, modelNameParam(c));
    const version = resolveVersionParam(c, record);
    const aliases = Object.entries(record.aliases)
      .filter(([, target]) => target === version.version)
      .map(([alias]) => alias);
    return c.json({ ...version, aliases });
  })
  .patch("/v1/models/:name/versions/:version", requireScope("models:write"), async (c) => {
    const name = modelNameParam(c);
    const number = versionNumberParam(c);
    const patch = await readJsonBody(c, VersionMetadataPatchSchema, "metadata edit");
    return c.json(
      await writeRegistry(c, "patch_metadata", (registry) =>
        registry.patchMetadata(name, number, patch, c.get("principal").id),
      ),
    );
  })
  .get("/v1/models/:name/versions/:version/metadata", requireScope("models:read"), async (c) => {
    const name = modelNameParam(c);
    const number = versionNumberParam(c);
    const { revision } = parseQuery(c, MetadataRevisionQuerySchema, "metadata query");
    const record = await requireLiveModel(c.env, name);
    const version = record.versions.find((v) => v.version === number);
    if (!version) throw new ModelgateError("not_found", `Model ${name} has no version ${number}.`);
    const wanted = revision ?? version.metadata_revision;
    if (wanted > version.metadata_revision) {
      throw new ModelgateError("not_found", `${name}@${number} has no metadata revision ${wanted} yet.`);
    }
    const documents = new RegistryDocuments(c.env.REGISTRY);
    // Revision 1 is the metadata given at registration, kept in the immutable registration.
    if (wanted === 1) {
      const registration = await documents.getRegistration(name, number);
      if (!registration) throw new ModelgateError("not_found", `${name}@${number} has no stored registration.`);

      return c.json({
        name,
        version: number,
        revision: 1,
        current_revision: version.metadata_revision,
        at: registration.created_at,
        by: registration.created_by,
        metadata: versionMetadataOf(registration),
      });
    }
    const stored = await documents.getMetadataRevision(name, number, wanted);
    if (!stored) throw new ModelgateError("not_found", `${name}@${number} has no metadata revision ${wanted}.`);
    return c.json({ ...stored, current_revision: version.metadata_revision });
  })
  .delete("/v1/models/:name/versions/:version", requireScope("models:write"), async (c) => {
    const name = modelNameParam(c);
    const number = versionNumberParam(c);
    const options = parseQuery(c, DeleteQuerySchema, "delete options");
    const deleted = await writeRegistry(c, "delete_version", (registry) =>
      registry.deleteVersion(name, number, options, c.get("principal").id),
    );
    return c.json({ name, ...deleted });
  })
  .post("/v1/models/:name/versions/:version/stage", requireScope("models:write"), async (c) => {
    const name = modelNameParam(c);
    const number = versionNumberParam(c);
    const change = await readJsonBody(c, StageChangeRequestSchema, "stage change");
    const record = await writeRegistry(c, "change_stage", (registry) =>
      registry.changeStage(
        name,
        {
          version: number,
          stage: change.stage,
          archiveExisting: change.archive_existing,
          reason: change.reason,
          format: change.format,
          force: change.force,
        },
        c.get("principal").id,
      ),
    );
    const version = record.versions.find((v) => v.version === number);
    return c.json({ version, model: modelView(record) });
  });
