import { PROBLEM_CONTENT_TYPE, ProblemDetailsSchema } from "@modelgate/shared";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { escapeHtml, renderDocsPage } from "../src/openapi/docs-page.js";
import type { JsonSchema } from "../src/openapi/json-schemas.js";
import { buildOpenApiDocument, type OpenApiDocument, type OpenApiOperation } from "../src/openapi/openapi-document.js";
import { ROUTE_CATALOGUE, type RouteSpec } from "../src/openapi/route-catalogue.js";
import { component } from "../src/openapi/route-spec.js";
import { ADMIN, call, expectProblem, heartbeat, resetEdge, WORKER_TOKEN } from "./support/requests.js";

afterEach(() => resetEdge());

const ROUTES = ROUTE_CATALOGUE.map((spec) => [`${spec.method} ${spec.path}`, spec] as const);

async function fetchDocument(): Promise<OpenApiDocument> {
  const response = await call("GET", "/openapi.json");
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  return (await response.json()) as OpenApiDocument;
}

function operationOf(document: OpenApiDocument, spec: RouteSpec): OpenApiOperation {
  const operation = document.paths[spec.path]?.[spec.method.toLowerCase()];
  if (!operation) throw new Error(`${spec.method} ${spec.path} is not in the document`);
  return operation;
}

/** Replaces every component `$ref` with the component itself, so a schema can be compared whole. */
function dereference(schema: unknown, document: OpenApiDocument): unknown {
  if (Array.isArray(schema)) return schema.map((item) => dereference(item, document));
  if (schema === null || typeof schema !== "object") return schema;
  const node = schema as JsonSchema;
  if (typeof node.$ref === "string") {
    const name = node.$ref.replace("#/components/schemas/", "");
    const target = document.components.schemas[name];
    if (!target) throw new Error(`dangling $ref ${node.$ref}`);
    return dereference(target, document);
  }
  return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, dereference(value, document)]));
}

/** What the route's zod schema says on its own, everything inline. */
function expectedJsonSchema(schema: z.ZodType, io: "input" | "output"): unknown {
  const { $schema: _dialect, ...body } = JSON.parse(
    JSON.stringify(z.toJSONSchema(schema, { target: "draft-2020-12", io, unrepresentable: "any" })),
  ) as JsonSchema;
  return body;
}

function specFor(method: string, path: string): RouteSpec {
  const spec = ROUTE_CATALOGUE.find((s) => s.method === method && s.path === path);
  if (!spec) throw new Error(`${method} ${path} is not catalogued`);
  return spec;
}

function documentedSchema(method: string, path: string, status: number): z.ZodType {
  const schema = specFor(method, path).responses[status]?.schema;
  if (!schema) throw new Error(`${method} ${path} documents no ${status} body`);
  return schema;
}

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.1 document served without a key", async () => {
    const document = await fetchDocument();
    expect(document.openapi).toBe("3.1.0");
    expect(document.jsonSchemaDialect).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(document.info).toMatchObject({ title: "modelgate", version: expect.any(String) });
    expect(document.servers).toEqual([expect.objectContaining({ url: "/" })]);
    expect(document.components.securitySchemes.bearerApiKey).toMatchObject({ type: "http", scheme: "bearer" });
  });

  it("lists exactly the catalogue's operations", async () => {
    const document = await fetchDocument();
    const documented = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual(ROUTES.map(([name]) => name).sort());
  });

  it.each(ROUTES)("%s: declares its scope, schemas and problems", async (_name, spec) => {
    const document = await fetchDocument();
    const operation = operationOf(document, spec);
    expect(operation["x-required-scope"]).toBe(spec.scope);
    if (spec.scope === "public") {
      expect(operation.security).toEqual([]);
      expect(operation.description).toContain("Public");
    } else if (spec.scope === "any-key") {
      // Any valid key: a bearer key with no particular scope, refused only without one.
      expect(operation.security).toEqual([{ bearerApiKey: [] }]);
      expect(operation.description).toContain("Any valid API key");
      for (const status of ["401", "429"]) expect(operation.responses[status]).toBeDefined();
      expect(operation.responses["403"]).toBeUndefined();
    } else {
      expect(operation.security).toEqual([{ bearerApiKey: [spec.scope] }]);
      expect(operation.description).toContain(`\`${spec.scope}\``);
      for (const status of ["401", "403", "429"]) expect(operation.responses[status]).toBeDefined();
    }

    if (spec.body) {
      const media = operation.requestBody?.content["application/json"];
      expect(dereference(media?.schema, document)).toEqual(expectedJsonSchema(spec.body, "input"));
    } else {
      expect(operation.requestBody).toBeUndefined();
    }
    for (const [status, response] of Object.entries(spec.responses)) {
      const media = operation.responses[status]?.content?.[response.contentType ?? "application/json"];
      if (response.schema)
        expect(dereference(media?.schema, document)).toEqual(expectedJsonSchema(response.schema, "output"));
    }
    for (const [status, response] of Object.entries(operation.responses)) {
      if (Number(status) < 400) continue;
      // The Open Inference Protocol's routes answer in the protocol's own JSON (`{"error": …}`, or a
      // `ready: false` body), as edge/src/kserve/v2-errors.ts explains; the loop above checks each schema.
      if (spec.path === "/v2" || spec.path.startsWith("/v2/")) {
        expect(Object.keys(response.content ?? {})).toEqual(["application/json"]);
        continue;
      }
      expect(response.content).toEqual({
        [PROBLEM_CONTENT_TYPE]: { schema: { $ref: "#/components/schemas/Problem" } },
      });
    }
    const documentedParams = (operation.parameters ?? []).map((p) => `${p.in}:${p.name}`);
    const pathParams = [...spec.path.matchAll(/\{([^}]+)\}/g)].map((m) => `path:${m[1]}`);
    expect(documentedParams.filter((p) => p.startsWith("path:"))).toEqual(pathParams);
  });

  it("keeps the zod rules: required fields are required, strict objects refuse extra keys", async () => {
    const document = await fetchDocument();
    const createKey = document.components.schemas.CreateApiKeyRequest;
    expect(createKey).toMatchObject({ type: "object", required: ["name", "scopes"], additionalProperties: false });
    expect(document.components.schemas.Problem).toEqual(expectedJsonSchema(ProblemDetailsSchema, "output"));
    const keyId = operationOf(document, specFor("DELETE", "/v1/keys/{id}")).parameters?.[0];
    expect(keyId).toMatchObject({ name: "id", in: "path", required: true, schema: { pattern: "^key_[a-z0-9]{16}$" } });
  });

  it("has no dangling references", async () => {
    const document = await fetchDocument();
    expect(() => dereference(document.paths, document)).not.toThrow();
    expect(() => dereference(document.components.schemas, document)).not.toThrow();
  });

  it("names a schema twice only where its request and response forms differ", () => {
    const Thing = component(
      "OpenApiTestThing",
      z.object({
        name: z.string(),
        colour: z.string().default("blue"),
        part: component("OpenApiTestPart", z.strictObject({ n: z.int() })),
      }),
    );
    const document = buildOpenApiDocument([
      {
        method: "PUT",
        path: "/things/{name}",
        scope: "models:write",
        tag: "Things",
        summary: "Replace a thing",
        pathParams: z.strictObject({ name: z.string() }),
        body: Thing,
        responses: { 200: { description: "The thing.", schema: Thing } },
      },
    ]);
    const operation = document.paths["/things/{name}"]?.put;
    expect(operation?.requestBody?.content["application/json"]?.schema).toEqual({
      $ref: "#/components/schemas/OpenApiTestThingInput",
    });
    expect(operation?.responses["200"]?.content?.["application/json"]?.schema).toEqual({
      $ref: "#/components/schemas/OpenApiTestThing",
    });
    const { OpenApiTestThing, OpenApiTestThingInput, OpenApiTestPart } = document.components.schemas;
    expect(OpenApiTestThing).toMatchObject({ required: ["name", "colour", "part"], additionalProperties: false });
    expect(OpenApiTestThingInput).toMatchObject({ required: ["name", "part"] });
    expect(OpenApiTestThingInput).not.toHaveProperty("additionalProperties");
    expect(OpenApiTestPart).toMatchObject({ additionalProperties: false });
    // Components no route of this catalogue reaches are left out.
    expect(document.components.schemas).not.toHaveProperty("CreateApiKeyRequest");
  });
});

describe("documented responses are what the routes answer", () => {
  it("health, keys, workers and problems parse with their documented schemas", async () => {
    const health = await call("GET", "/health");
    documentedSchema("GET", "/health", 200).parse(await health.json());

    const created = await call("POST", "/v1/keys", { key: ADMIN, body: { name: "docs", scopes: ["infer"], rpm: 5 } });
    expect(created.status).toBe(201);
    const createdBody = documentedSchema("POST", "/v1/keys", 201).parse(await created.json()) as { id: string };

    const listed = await call("GET", "/v1/keys", { key: ADMIN });
    documentedSchema("GET", "/v1/keys", 200).parse(await listed.json());

    const rotated = await call("POST", `/v1/keys/${createdBody.id}/rotate`, { key: ADMIN });
    expect(rotated.status).toBe(201);
    const rotatedBody = documentedSchema("POST", "/v1/keys/{id}/rotate", 201).parse(await rotated.json()) as {
      id: string;
    };
    const revoked = await call("DELETE", `/v1/keys/${rotatedBody.id}`, { key: ADMIN });
    documentedSchema("DELETE", "/v1/keys/{id}", 200).parse(await revoked.json());

    const accepted = await call("POST", "/internal/workers/heartbeat", { key: WORKER_TOKEN, body: heartbeat() });
    expect(accepted.status).toBe(202);
    documentedSchema("POST", "/internal/workers/heartbeat", 202).parse(await accepted.json());
    const workers = await call("GET", "/v1/workers", { key: ADMIN });
    documentedSchema("GET", "/v1/workers", 200).parse(await workers.json());

    const problem = await expectProblem(await call("POST", "/v1/keys", { key: ADMIN, body: { name: "" } }), 400);
    // Every 4xx/5xx is documented as the one Problem component.
    ProblemDetailsSchema.parse(problem);
  });
});

describe("GET /docs", () => {
  it("is one self-contained HTML page listing every route with its scope, served without a key", async () => {
    const response = await call("GET", "/docs");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    expect(response.headers.get("content-security-policy")).toContain("default-src 'none'");
    const html = await response.text();
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\/(?!json-schema\.org)/i);
    expect(html).toContain("Authorization: Bearer");
    for (const [, spec] of ROUTES) {
      expect(html).toContain(`<code>${escapeHtml(spec.path)}</code>`);
      expect(html).toContain(spec.scope === "public" ? "public" : `scope: <code>${spec.scope}</code>`);
      expect(html).toContain(escapeHtml(spec.summary));
    }
    expect(html).toContain('id="schema-CreateApiKeyRequest"');
    expect(html).toContain("<details>");
  });

  it("escapes whatever the document says", () => {
    const hostile = `<script>alert("x")</script><img src=x onerror=alert(1)>`;
    const html = renderDocsPage(
      buildOpenApiDocument([
        {
          method: "POST",
          path: "/v1/things/{id}",
          scope: "infer",
          tag: `Tag ${hostile}`,
          summary: `Summary ${hostile}`,
          description: `Description ${hostile}`,
          pathParams: z.strictObject({ id: z.string().describe(`Param ${hostile}`) }),
          body: z.strictObject({ [`field${hostile}`]: z.string().describe(hostile) }),
          responses: { 200: { description: `Response ${hostile}`, schema: z.string().meta({ title: hostile }) } },
        },
      ]),
    );
    expect(html).not.toContain("<script");
    expect(html).not.toContain("<img");
    expect(html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
  });
});
