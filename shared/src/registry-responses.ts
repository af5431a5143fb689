import { z } from "zod";
import { ModelNameSchema, ModelVersionSchema, Sha256HexSchema, VersionMetadataSchema } from "./model-version.js";
import {
  AliasNameSchema,
  HistoryEventSchema,
  ModelRecordSchema,
  PolicyDecisionSchema,
  RegistryPolicySchema,
} from "./registry-record.js";
import { VersionSearchItemSchema } from "./registry-search.js";

// The registry routes' answers (edge/src/routes/models.ts, model-versions.ts): the edge, the
// CLI, the local stack's seeding and the OpenAPI document all use these.

/** `GET /v1/models/:name`: the record without its history (shared's `ModelView`). */
export const ModelViewSchema = ModelRecordSchema.omit({ history: true }).extend({ history_length: z.int().min(0) });

/** `GET /v1/models/:name/versions/:ref`: the version and the aliases pointing at it. */
export const VersionWithAliasesSchema = VersionSearchItemSchema;
export type VersionWithAliases = z.infer<typeof VersionWithAliasesSchema>;

/** `POST /v1/models/:name/versions` (201): the new version and what the policy made of it. */
export const RegisteredVersionSchema = ModelVersionSchema.extend({ policy: PolicyDecisionSchema });
export type RegisteredVersion = z.infer<typeof RegisteredVersionSchema>;

/** `POST /v1/models/:name/versions/:n/stage`. */
export const StageChangeResponseSchema = z.strictObject({ version: ModelVersionSchema, model: ModelViewSchema });
export type StageChangeResponse = z.infer<typeof StageChangeResponseSchema>;

/** `GET /v1/models/:name/history` (also for deleted models). */
export const ModelHistorySchema = z.strictObject({
  name: ModelNameSchema,
  deleted_at: z.iso.datetime().nullable(),
  events: z.array(HistoryEventSchema),
});
export type ModelHistory = z.infer<typeof ModelHistorySchema>;

/** `GET /v1/models/:name/best`. */
export const BestVersionSchema = z.strictObject({ metric: z.string(), value: z.number(), version: ModelVersionSchema });
export type BestVersion = z.infer<typeof BestVersionSchema>;

/** `DELETE /v1/models/:name[/versions/:n]`. */
export const DeletedSchema = z.strictObject({
  name: ModelNameSchema,
  removed: z.array(z.int().min(1)),
  purged: z.array(Sha256HexSchema),
});
export type Deleted = z.infer<typeof DeletedSchema>;

const AliasMapSchema = z.record(AliasNameSchema, z.int().min(1));

/** `PUT /v1/models/:name/aliases/:alias`. */
export const AliasSetSchema = z.strictObject({
  name: ModelNameSchema,
  alias: AliasNameSchema,
  version: z.int().min(1).nullable(),
  aliases: AliasMapSchema,
});
export type AliasSet = z.infer<typeof AliasSetSchema>;

/** `DELETE /v1/models/:name/aliases/:alias`. */
export const AliasRemovedSchema = z.strictObject({
  name: ModelNameSchema,
  alias: AliasNameSchema,
  aliases: AliasMapSchema,
});
export type AliasRemoved = z.infer<typeof AliasRemovedSchema>;

/** `PUT /v1/models/:name/policy`. */
export const PolicyResponseSchema = z.strictObject({ name: ModelNameSchema, policy: RegistryPolicySchema });
export type PolicyResponse = z.infer<typeof PolicyResponseSchema>;

/** `GET /v1/models/:name/versions/:n/metadata?revision=N`. */
export const MetadataRevisionSchema = z.strictObject({
  name: ModelNameSchema,
  version: z.int().min(1),
  revision: z.int().min(1),
  current_revision: z.int().min(1),
  at: z.iso.datetime(),
  by: z.string(),
  metadata: VersionMetadataSchema,
});
export type MetadataRevision = z.infer<typeof MetadataRevisionSchema>;
