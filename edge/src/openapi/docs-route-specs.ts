import { z } from "zod";
import type { RouteSpec } from "./route-spec.js";

/** The document is described loosely on purpose: a schema of OpenAPI itself would only restate the standard. */
const OpenApiDocumentSchema = z.looseObject({
  openapi: z.literal("3.1.0"),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.unknown()),
});

export const docsRouteSpecs: readonly RouteSpec[] = [
  {
    method: "GET",
    path: "/openapi.json",
    scope: "public",
    tag: "Documentation",
    summary: "This API as an OpenAPI 3.1 document",
    description: "Generated from the same zod schemas the routes validate with.",
    responses: { 200: { description: "The OpenAPI 3.1.0 document.", schema: OpenApiDocumentSchema } },
  },
  {
    method: "GET",
    path: "/docs",
    scope: "public",
    tag: "Documentation",
    summary: "This API as a readable page",
    description: "The OpenAPI document rendered as one self-contained HTML page.",
    responses: { 200: { description: "The page.", schema: z.string(), contentType: "text/html" } },
  },
];
