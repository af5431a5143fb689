import { ClaimJobRequestSchema, PROBLEM_CONTENT_TYPE, ProblemDetailsSchema, type Scope } from "@modelgate/shared";
import { z } from "zod";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface ResponseSpec {
  description: string;
  /** Absent for responses without a body. */
  schema?: z.ZodType;
  /** `application/json` unless said otherwise. */
  contentType?: string;
}

/**
 * One edge route as data: what the OpenAPI document, the docs page and the route × scope
 * matrix test are built from. Schemas are the very zod schemas the route parses with.
 */
export interface RouteSpec {
  method: HttpMethod;
  /** OpenAPI style: `/v1/keys/{id}` for Hono's `/v1/keys/:id`. */
  path: string;
  /** The one scope `requireScope` checks, `any-key` for any valid key, or `public` for routes that need no key. */
  scope: Scope | "any-key" | "public";
  summary: string;
  description?: string;
  tag: string;
  /** Each property is one `{name}` in `path`; give it `.meta({ examples: [...] })` so tests and docs can fill it. */
  pathParams?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** `application/json` unless said otherwise. */
  bodyContentType?: string;
  /**
   * The route's own outcomes. The document adds the ones every route shares: 401/403/429 for
   * scoped routes and 400/413/415 for JSON bodies (see `openapi-document.ts`).
   */
  responses: Record<number, ResponseSpec>;
}

/**
 * Names a schema as a reusable `components.schemas` entry (the same instance, not a copy).
 * Name a schema when it is worth a name to a reader or appears in more than one place.
 */
export const componentSchemas = z.registry<{ id: string }, z.ZodType>();

export function component<T extends z.ZodType>(id: string, schema: T): T {
  const existing = componentSchemas.get(schema)?.id;
  if (existing !== undefined && existing !== id) {
    throw new Error(`Schema already named ${existing}; cannot also name it ${id}.`);
  }
  componentSchemas.add(schema, { id });
  return schema;
}

/** What a GPU worker sends to claim a leased job of either kind (conversion, evaluation). */
export const ClaimJobRequestComponent = component("ClaimJobRequest", ClaimJobRequestSchema);

/** The single error shape of every route (RFC 9457), named `Problem` in the document. */
export const ProblemSchema = component("Problem", ProblemDetailsSchema);

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: "The request failed validation; `errors[]` names each field at fault.",
  401: "No API key, or the key is unknown, expired or revoked.",
  403: "The key is valid but lacks the route's scope.",
  404: "The thing named in the path does not exist.",
  409: "The request conflicts with the current state.",
  413: "The body is larger than the edge accepts.",
  415: "The body is not `application/json`.",
  422: "The request is well-formed but refers to something unusable.",
  429: "The key's requests-per-minute limit was reached; see `Retry-After`.",
  502: "The GPU worker failed.",
  503: "No live worker can serve the request.",
  504: "The GPU worker did not answer in time.",
};

/** Problem responses for the given statuses; pass a description to say more than the generic one. */
export function problemResponses(
  statuses: readonly number[],
  descriptions: Partial<Record<number, string>> = {},
): Record<number, ResponseSpec> {
  const responses: Record<number, ResponseSpec> = {};
  for (const status of statuses) {
    responses[status] = {
      description: descriptions[status] ?? PROBLEM_DESCRIPTIONS[status] ?? "An error.",
      schema: ProblemSchema,
      contentType: PROBLEM_CONTENT_TYPE,
    };
  }
  return responses;
}
