import {
  AliasNameSchema,
  AliasRequestSchema,
  BestVersionQuerySchema,
  BestVersionSchema,
  DeletedSchema,
  DeleteQuerySchema,
  MetadataRevisionSchema,
  ModelHistorySchema,
  ModelNameSchema,
  ModelRecordSchema,
  ModelVersionSchema,
  ModelViewSchema,
  RegisteredVersionSchema,
  RegisterVersionRequestSchema,
  RegistryPolicySchema,
  StageChangeRequestSchema,
  VersionMetadataPatchSchema,
  VersionSearchItemSchema,
  VersionSearchPageSchema,
  VersionSearchQuerySchema,
} from "@modelgate/shared";
import { z } from "zod";
import { MetadataRevisionQuerySchema } from "../routes/model-versions.js";
import { PolicyRequestSchema, ReasonQuerySchema } from "../routes/models.js";
import { component, problemResponses, type RouteSpec } from "./route-spec.js";

const TAG = "Model registry";

/** One version as stored: immutable registration, current stage, current metadata revision. */
export const ModelVersionComponent = component("ModelVersion", ModelVersionSchema);

/** A version with the free aliases that point at it (search results and single-version reads). */
export const VersionWithAliasesSchema = component("VersionWithAliases", VersionSearchItemSchema);

export const VersionSearchPageComponent = component("VersionSearchPage", VersionSearchPageSchema);

/** A model as the API returns it (`modelView`): the record without its history, plus the history's length. */
export const ModelViewComponent = component("ModelView", ModelViewSchema);

export const RegistryPolicyComponent = component("RegistryPolicy", RegistryPolicySchema);

/** A new version as registered, with what the model's registration policy made of it. */
export const RegisteredVersionComponent = component("RegisteredVersion", RegisteredVersionSchema);

export const ModelHistoryComponent = component("ModelHistory", ModelHistorySchema);

export const BestVersionComponent = component("BestVersion", BestVersionSchema);

export const VersionMetadataRevisionComponent = component("VersionMetadataRevision", MetadataRevisionSchema);

export const DeletionResultComponent = component("RegistryDeletion", DeletedSchema);

const AliasesSchema = ModelRecordSchema.shape.aliases.describe("Every alias of the model → its version number.");

const ModelNameParamsSchema = z.strictObject({
  name: ModelNameSchema.meta({ examples: ["demo-lm"] }),
});

export const VersionSelectorParamsSchema = ModelNameParamsSchema.extend({
  version: z
    .string()
    .describe("A version number, `latest`, a stage (`production`, `staging`) or an alias (`champion`).")
    .meta({ examples: ["1"] }),
});

const VersionNumberParamsSchema = ModelNameParamsSchema.extend({
  version: z
    .string()
    .regex(/^[1-9][0-9]{0,8}$/, "writes name the version by number")
    .describe("The version number; writes never go through a moving alias or stage.")
    .meta({ examples: ["1"] }),
});

const AliasParamsSchema = ModelNameParamsSchema.extend({
  alias: AliasNameSchema.meta({ examples: ["champion"] }),
});

const noModel = { 404: "No live model with this name." };
const noVersion = { 404: "No live model with this name, or it has no such version." };
const storage = { 503: "Object storage is unreachable or not configured (the detail names the variable)." };

export const modelRouteSpecs: readonly RouteSpec[] = [
  {
    method: "GET",
    path: "/v1/models",
    scope: "models:read",
    tag: TAG,
    summary: "Search model versions",
    description:
      "Every live version of every model, filtered (filters are ANDed; `q` matches names, descriptions, notes " +
      "and tags) and sorted by a column, a metric (`metric:val_acc`) or a benchmark score. Cursor pagination: " +
      "pass `next_cursor` back as `cursor` with the same filters for the next page; it is null on the last page.",
    query: VersionSearchQuerySchema,
    responses: {
      200: { description: "One page of matching versions.", schema: VersionSearchPageComponent },
    },
  },
  {
    method: "GET",
    path: "/v1/models/{name}",
    scope: "models:read",
    tag: TAG,
    summary: "Show a model",
    description:
      "The model's versions (current stage and metadata), aliases and registration policy. The history is " +
      "left out (see `history_length`); read it from `/v1/models/{name}/history`.",
    pathParams: ModelNameParamsSchema,
    responses: {
      200: { description: "The model.", schema: ModelViewComponent },
      ...problemResponses([404], noModel),
    },
  },
  {
    method: "DELETE",
    path: "/v1/models/{name}",
    scope: "models:write",
    tag: TAG,
    summary: "Delete a model",
    description:
      "Deletes every version and alias. The model stays as a tombstone so its history remains readable and " +
      "version numbers are never reused. A model with a Production version needs `force=true`. With " +
      "`purge=true` the artifacts, converted formats and pipeline files are deleted from object storage too, " +
      "except objects a live version still references.",
    pathParams: ModelNameParamsSchema,
    query: DeleteQuerySchema,
    responses: {
      200: { description: "What was deleted.", schema: DeletionResultComponent },
      ...problemResponses([404, 409, 503], {
        ...noModel,
        409: "The model has a version in Production and `force` is not `true`, or another write raced this one.",
        ...storage,
      }),
    },
  },
  {
    method: "GET",
    path: "/v1/models/{name}/history",
    scope: "models:read",
    tag: TAG,
    summary: "Show a model's history",
    description:
      "Every write to the model in order: registrations, stage changes, alias changes, metadata revisions, " +
      "policy changes and deletions, each with who (`by`, a key id) and why. Deleted models keep their history.",
    pathParams: ModelNameParamsSchema,
    responses: {
      200: { description: "The history.", schema: ModelHistoryComponent },
      ...problemResponses([404], { 404: "No model with this name has ever been registered." }),
    },
  },
  {
    method: "GET",
    path: "/v1/models/{name}/best",
    scope: "models:read",
    tag: TAG,
    summary: "Find a model's best version",
    description:
      "The version with the highest (`order=desc`, the default) or lowest value of a metric or benchmark score " +
      "(`val_acc` by default), optionally within one stage. Ties go to the newer version.",
    pathParams: ModelNameParamsSchema,
    query: BestVersionQuerySchema,
    responses: {
      200: { description: "The best version and its value.", schema: BestVersionComponent },
      ...problemResponses([404], { 404: "No live model with this name, or no version (in the stage) has the metric." }),
    },
  },
  {
    method: "PUT",
    path: "/v1/models/{name}/policy",
    scope: "models:write",
    tag: TAG,
    summary: "Set a model's registration policy",
    description:
      "Seed 004's policy: a version whose metric is below `register_min` is refused, one at or above " +
      "`staging_min` goes straight to Staging. Defaults: `val_acc` ≥ 0.70 to register, ≥ 0.90 for Staging; " +
      "`higher_is_better: false` flips the comparisons (for a loss).",
    pathParams: ModelNameParamsSchema,
    body: component("PolicyRequest", PolicyRequestSchema),
    responses: {
      200: {
        description: "The model's policy as now stored.",
        schema: component("ModelPolicy", z.strictObject({ name: ModelNameSchema, policy: RegistryPolicyComponent })),
      },
      ...problemResponses([404, 409], { ...noModel, 409: "Another write to the model raced this one; try again." }),
    },
  },
  {
    method: "PUT",
    path: "/v1/models/{name}/aliases/{alias}",
    scope: "models:write",
    tag: TAG,
    summary: "Point an alias at a version",
    description:
      "Free aliases (`demo-lm@champion`) sit next to the stages and move only when set. Stage names, `latest` " +
      "and numbers are reserved. Setting an alias to its current version writes nothing.",
    pathParams: AliasParamsSchema,
    body: component("AliasRequest", AliasRequestSchema),
    responses: {
      200: {
        description: "The alias's version and every alias of the model.",
        schema: component(
          "AliasSet",
          z.strictObject({
            name: ModelNameSchema,
            alias: AliasNameSchema,
            version: z.int().min(1).nullable(),
            aliases: AliasesSchema,
          }),
        ),
      },
      ...problemResponses([404, 409], { ...noVersion, 409: "Another write to the model raced this one; try again." }),
    },
  },
  {
    method: "DELETE",
    path: "/v1/models/{name}/aliases/{alias}",
    scope: "models:write",
    tag: TAG,
    summary: "Remove an alias",
    description: "The version it pointed at is untouched; `reason` is kept in the history.",
    pathParams: AliasParamsSchema,
    query: ReasonQuerySchema,
    responses: {
      200: {
        description: "The model's remaining aliases.",
        schema: component(
          "AliasRemoved",
          z.strictObject({ name: ModelNameSchema, alias: AliasNameSchema, aliases: AliasesSchema }),
        ),
      },
      ...problemResponses([404, 409], {
        404: "No live model with this name, or it has no such alias.",
        409: "Another write to the model raced this one; try again.",
      }),
    },
  },
  {
    method: "POST",
    path: "/v1/models/{name}/versions",
    scope: "models:write",
    tag: TAG,
    summary: "Register a model version",
    description:
      "Versions are immutable once registered: the artifact, I/O contract and provenance never change. The " +
      "registry assigns the next number (never reused) and checks the artifact's size and sha256 in object " +
      "storage (upload it first with `/v1/uploads`). Unless `apply_policy` is false, the model's registration " +
      "policy applies (seed 004 defaults: `val_acc` ≥ 0.70 to register, ≥ 0.90 goes straight to Staging). " +
      "The first version creates the model. `Location` names the new version.",
    pathParams: ModelNameParamsSchema,
    body: component("RegisterVersionRequest", RegisterVersionRequestSchema),
    responses: {
      201: { description: "The new version and the policy's decision.", schema: RegisteredVersionComponent },
      ...problemResponses([409, 422, 503], {
        409: "Another write to the model raced this one; try again.",
        422:
          "The artifact is not in object storage (`artifact_missing`), differs from its declaration " +
          "(`artifact_mismatch`), or the metric misses the registration threshold (`policy_rejected`).",
        ...storage,
      }),
    },
  },
  {
    method: "GET",
    path: "/v1/models/{name}/versions/{version}",
    scope: "models:read",
    tag: TAG,
    summary: "Show a model version",
    description:
      "By number, `latest`, stage (`production`, `staging`) or alias. Answers the version with the aliases " +
      "that point at it.",
    pathParams: VersionSelectorParamsSchema,
    responses: {
      200: { description: "The version.", schema: VersionWithAliasesSchema },
      ...problemResponses([404], noVersion),
    },
  },
  {
    method: "PATCH",
    path: "/v1/models/{name}/versions/{version}",
    scope: "models:write",
    tag: TAG,
    summary: "Edit a version's metadata",
    description:
      "Changes descriptive and routing metadata (names, notes, tags, categories, benchmark scores, locations, " +
      "backends); `null` clears a field. Each edit is a new metadata revision, kept for audit; the artifact, " +
      "I/O contract and provenance are immutable and refused by name.",
    pathParams: VersionNumberParamsSchema,
    body: component("VersionMetadataPatch", VersionMetadataPatchSchema),
    responses: {
      200: { description: "The version with its new metadata revision.", schema: ModelVersionComponent },
      ...problemResponses([404, 409], { ...noVersion, 409: "Another write to the model raced this one; try again." }),
    },
  },
  {
    method: "DELETE",
    path: "/v1/models/{name}/versions/{version}",
    scope: "models:write",
    tag: TAG,
    summary: "Delete a model version",
    description:
      "Removes the version and the aliases that point at it; its number is never reused. A Production version " +
      "needs `force=true`. With `purge=true` its artifact, converted formats and pipeline files are deleted from " +
      "object storage too, except objects a live version still references.",
    pathParams: VersionNumberParamsSchema,
    query: DeleteQuerySchema,
    responses: {
      200: { description: "What was deleted.", schema: DeletionResultComponent },
      ...problemResponses([404, 409, 503], {
        ...noVersion,
        409: "The version is in Production and `force` is not `true`, or another write raced this one.",
        ...storage,
      }),
    },
  },
  {
    method: "GET",
    path: "/v1/models/{name}/versions/{version}/metadata",
    scope: "models:read",
    tag: TAG,
    summary: "Show a metadata revision",
    description:
      "The version's metadata as of one revision (`revision`, the current one by default). Revision 1 is the " +
      "metadata given at registration; each `PATCH` adds one.",
    pathParams: VersionNumberParamsSchema,
    query: MetadataRevisionQuerySchema,
    responses: {
      200: { description: "The metadata revision.", schema: VersionMetadataRevisionComponent },
      ...problemResponses([404], { 404: "No live model or version with this name, or no such revision yet." }),
    },
  },
  {
    method: "POST",
    path: "/v1/models/{name}/versions/{version}/stage",
    scope: "models:write",
    tag: TAG,
    summary: "Change a version's stage",
    description:
      "Moves the version to None, Staging, Production or Archived. Promotion to Production archives the " +
      "previous Production version unless `archive_existing` is false; both moves are in the history. " +
      "Moving a version to the stage it is in writes nothing. Production needs the version's must-pass " +
      "gates (seed 001) when it has been verified; a version never verified promotes as before. `format` " +
      "makes that converted format the one served by default (`serving_format`); it must exist and have " +
      "passed its own must-pass gates. `force: true` with a `reason` overrides failed gates, and the " +
      "history records `forced`, the reason and `gates_failed`.",
    pathParams: VersionNumberParamsSchema,
    body: component("StageChangeRequest", StageChangeRequestSchema),
    responses: {
      200: {
        description: "The version in its new stage and the model as a whole.",
        schema: component(
          "StageChanged",
          z.strictObject({ version: ModelVersionComponent, model: ModelViewComponent }),
        ),
      },
      ...problemResponses([404, 409, 422], {
        404: "No live model or version with this name, or the version has no such converted `format`.",
        409: "Another write to the model raced this one; try again.",
        422: "`gate_failed`: must-pass gates of the version (`errors[].field` `stage`) or of the `format` failed.",
      }),
    },
  },
  {
    method: "POST",
    path: "/v1/admin/registry/reindex",
    scope: "admin",
    tag: TAG,
    summary: "Rebuild the registry search index",
    description:
      "Reads every model document from R2 (the source of truth) and rebuilds the search index behind " +
      "`GET /v1/models` from them.",
    responses: {
      200: {
        description: "How much was indexed.",
        schema: component("ReindexResult", z.strictObject({ models: z.int().min(0), versions: z.int().min(0) })),
      },
    },
  },
];
