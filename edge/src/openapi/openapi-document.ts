import { ScopeSchema } from "@modelgate/shared";
import { convertSchemas, type JsonSchema, type SchemaUse } from "./json-schemas.js";
import { problemResponses, type ResponseSpec, type RouteSpec } from "./route-spec.js";

/** The version of the API this document describes; bump it with any change a client can see. */
export const API_VERSION = "1.0.0";

export const BEARER_SCHEME = "bearerApiKey";

const JSON_CONTENT_TYPE = "application/json";

export interface OpenApiParameter {
  name: string;
  in: "path" | "query";
  required: boolean;
  description?: string;
  schema: JsonSchema;
}

export interface OpenApiResponse {
  description: string;
  content?: Record<string, { schema: JsonSchema }>;
}

export interface OpenApiOperation {
  operationId: string;
  tags: string[];
  summary: string;
  description: string;
  security: Array<Record<string, string[]>>;
  "x-required-scope": RouteSpec["scope"];
  parameters?: OpenApiParameter[];
  requestBody?: { required: true; content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, OpenApiResponse>;
}

export interface OpenApiDocument {
  openapi: "3.1.0";
  jsonSchemaDialect: string;
  info: { title: string; version: string; description: string };
  servers: Array<{ url: string; description: string }>;
  tags: Array<{ name: string }>;
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: {
    securitySchemes: Record<string, { type: "http"; scheme: "bearer"; description: string }>;
    schemas: Record<string, JsonSchema>;
  };
}

export const AUTH_INTRODUCTION = [
  "Send an API key as `Authorization: Bearer <key>`. Every route but the public ones declares the one scope it",
  `needs: ${ScopeSchema.options.map((scope) => `\`${scope}\``).join(", ")}. A key without the scope gets 403;`,
  "no key, or an unknown, expired or revoked one, gets 401. `admin` implies every scope but `worker`, which only",
  "GPU workers hold (the worker token). Keys may carry a requests-per-minute limit (429 with `Retry-After`) and a",
  "maximum CAWS tier. Every error is `application/problem+json` (RFC 9457) naming the field at fault, " +
    'except on the KServe V2 routes (`/v2/...`), which answer in the protocol\'s own `{"error": ...}` shape.',
].join(" ");

/** `POST /v1/keys/{id}/rotate` → `postV1KeysIdRotate`. */
export function operationIdFor(spec: Pick<RouteSpec, "method" | "path">): string {
  const words = spec.path.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return [spec.method.toLowerCase(), ...words.map((w) => w[0]?.toUpperCase() + w.slice(1))].join("");
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Outcomes every route of a kind shares, so no family has to repeat (or forget) them. */
function sharedResponses(spec: RouteSpec): Record<number, ResponseSpec> {
  const withBody = spec.body !== undefined && (spec.bodyContentType ?? JSON_CONTENT_TYPE) === JSON_CONTENT_TYPE;
  return {
    ...(withBody ? problemResponses([400, 413, 415]) : {}),
    ...(spec.scope === "public" ? {} : problemResponses(spec.scope === "any-key" ? [401, 429] : [401, 403, 429])),
  };
}

interface PlannedOperation {
  spec: RouteSpec;
  operationId: string;
  pathParams?: SchemaUse;
  query?: SchemaUse;
  body?: SchemaUse;
  responses: Array<{ status: number; response: ResponseSpec; use?: SchemaUse }>;
}

function planOperation(spec: RouteSpec): PlannedOperation {
  const operationId = operationIdFor(spec);
  const base = capitalized(operationId);
  const input = (schema: SchemaUse["schema"], part: string): SchemaUse => ({
    schema,
    io: "input",
    fallbackId: `${base}${part}`,
  });
  const merged = { ...sharedResponses(spec), ...spec.responses };
  return {
    spec,
    operationId,
    ...(spec.pathParams ? { pathParams: input(spec.pathParams, "PathParams") } : {}),
    ...(spec.query ? { query: input(spec.query, "Query") } : {}),
    ...(spec.body ? { body: input(spec.body, "Body") } : {}),
    responses: Object.entries(merged)
      .map(([status, response]) => ({
        status: Number(status),
        response,
        ...(response.schema
          ? { use: { schema: response.schema, io: "output" as const, fallbackId: `${base}Response${status}` } }
          : {}),
      }))
      .sort((a, b) => a.status - b.status),
  };
}

function parametersFrom(
  objectSchema: JsonSchema,
  location: OpenApiParameter["in"],
  pathOrder: string[],
): OpenApiParameter[] {
  const properties = (objectSchema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((objectSchema.required ?? []) as string[]);
  const names = Object.keys(properties).sort((a, b) => pathOrder.indexOf(a) - pathOrder.indexOf(b));
  return names.map((name) => {
    const schema = properties[name] ?? {};
    const description = typeof schema.description === "string" ? schema.description : undefined;
    return {
      name,
      in: location,
      required: location === "path" || required.has(name),
      ...(description ? { description } : {}),
      schema,
    };
  });
}

function scopeSentence(scope: RouteSpec["scope"]): string {
  if (scope === "public") return "**Public:** no API key needed.";
  if (scope === "any-key") return "**Any valid API key**, whatever its scopes.";
  return `**Required scope:** \`${scope}\`.`;
}

/** The OpenAPI 3.1 document for a catalogue: schemas converted from the routes' own zod schemas. */
export function buildOpenApiDocument(catalogue: readonly RouteSpec[]): OpenApiDocument {
  const planned = catalogue.map(planOperation);
  const uses = planned.flatMap((op) =>
    [op.pathParams, op.query, op.body, ...op.responses.map((r) => r.use)].filter(
      (use): use is SchemaUse => use !== undefined,
    ),
  );
  const schemas = convertSchemas(uses);

  const paths: OpenApiDocument["paths"] = {};
  for (const op of planned) {
    const { spec } = op;
    const pathOrder = [...spec.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] ?? "");
    const parameters = [
      ...(op.pathParams ? parametersFrom(schemas.resolve(schemas.render(op.pathParams)), "path", pathOrder) : []),
      ...(op.query ? parametersFrom(schemas.resolve(schemas.render(op.query)), "query", []) : []),
    ];
    const responses: Record<string, OpenApiResponse> = {};
    for (const { status, response, use } of op.responses) {
      const contentType = response.contentType ?? JSON_CONTENT_TYPE;
      responses[String(status)] = {
        description: response.description,
        ...(use ? { content: { [contentType]: { schema: schemas.render(use) } } } : {}),
      };
    }
    const operation: OpenApiOperation = {
      operationId: op.operationId,
      tags: [spec.tag],
      summary: spec.summary,
      description: [spec.description, scopeSentence(spec.scope)].filter(Boolean).join("\n\n"),
      security: spec.scope === "public" ? [] : [{ [BEARER_SCHEME]: spec.scope === "any-key" ? [] : [spec.scope] }],
      "x-required-scope": spec.scope,
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(op.body
        ? {
            requestBody: {
              required: true as const,
              content: { [spec.bodyContentType ?? JSON_CONTENT_TYPE]: { schema: schemas.render(op.body) } },
            },
          }
        : {}),
      responses,
    };
    const methods = paths[spec.path] ?? {};
    methods[spec.method.toLowerCase()] = operation;
    paths[spec.path] = methods;
  }

  return {
    openapi: "3.1.0",
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    info: {
      title: "modelgate",
      version: API_VERSION,
      description: `Your own models behind one authenticated endpoint.\n\n${AUTH_INTRODUCTION}`,
    },
    servers: [{ url: "/", description: "This edge" }],
    tags: [...new Set(catalogue.map((spec) => spec.tag))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        [BEARER_SCHEME]: {
          type: "http",
          scheme: "bearer",
          description: "A modelgate API key, the admin key or (heartbeats only) the worker token.",
        },
      },
      schemas: schemas.components,
    },
  };
}

const documents = new WeakMap<readonly RouteSpec[], OpenApiDocument>();

/** Built once per isolate and catalogue: the catalogue is fixed at deploy time. */
export function cachedOpenApiDocument(catalogue: readonly RouteSpec[]): OpenApiDocument {
  let document = documents.get(catalogue);
  if (!document) {
    document = buildOpenApiDocument(catalogue);
    documents.set(catalogue, document);
  }
  return document;
}
