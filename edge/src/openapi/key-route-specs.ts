import { ApiKeyRecordSchema, CreateApiKeyRequestSchema } from "@modelgate/shared";
import { z } from "zod";
import { component, problemResponses, type RouteSpec } from "./route-spec.js";

/** A key as every key route shows it: the stored record without its hash (`apiKeyView`). */
export const ApiKeyViewSchema = component("ApiKeyView", ApiKeyRecordSchema.omit({ sha256: true }));

/** Create and rotate: the view plus the secret, shown this once and never again. */
export const CreatedApiKeySchema = component(
  "CreatedApiKey",
  ApiKeyViewSchema.extend({ key: z.string().describe("The secret; send it as `Authorization: Bearer <key>`.") }),
);

export const ApiKeyListSchema = component("ApiKeyList", z.strictObject({ keys: z.array(ApiKeyViewSchema) }));

const KeyIdParamsSchema = z.strictObject({
  id: ApiKeyRecordSchema.shape.id.meta({ examples: ["key_0123456789abcdef"] }),
});

export const keyRouteSpecs: readonly RouteSpec[] = [
  {
    method: "POST",
    path: "/v1/keys",
    scope: "admin",
    tag: "API keys",
    summary: "Create an API key",
    description:
      "Creates a key with the given scopes, optional expiry, requests-per-minute limit and maximum CAWS tier. " +
      "The secret is in this response only; the edge stores its sha256.",
    body: component("CreateApiKeyRequest", CreateApiKeyRequestSchema),
    responses: { 201: { description: "The key, with its secret.", schema: CreatedApiKeySchema } },
  },
  {
    method: "GET",
    path: "/v1/keys",
    scope: "admin",
    tag: "API keys",
    summary: "List API keys",
    description: "Every key, revoked ones included, without secrets or hashes.",
    responses: { 200: { description: "The keys.", schema: ApiKeyListSchema } },
  },
  {
    method: "DELETE",
    path: "/v1/keys/{id}",
    scope: "admin",
    tag: "API keys",
    summary: "Revoke an API key",
    description: "Takes effect at once in this isolate and within seconds everywhere.",
    pathParams: KeyIdParamsSchema,
    responses: {
      200: { description: "The revoked key.", schema: ApiKeyViewSchema },
      ...problemResponses([404], { 404: "No key with this id." }),
    },
  },
  {
    method: "POST",
    path: "/v1/keys/{id}/rotate",
    scope: "admin",
    tag: "API keys",
    summary: "Rotate an API key",
    description:
      "Revokes the key and creates a new one with the same settings; the new key's `rotated_from` names the old.",
    pathParams: KeyIdParamsSchema,
    responses: {
      201: { description: "The new key, with its secret.", schema: CreatedApiKeySchema },
      ...problemResponses([404, 409], { 404: "No key with this id.", 409: "The key is revoked." }),
    },
  },
];
