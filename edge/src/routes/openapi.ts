import { Hono } from "hono";
import type { AppEnv } from "../env.js";
import { renderDocsPage } from "../openapi/docs-page.js";
import { cachedOpenApiDocument } from "../openapi/openapi-document.js";
import { ROUTE_CATALOGUE } from "../openapi/route-catalogue.js";

/** The page has no scripts and loads nothing: a policy that says so keeps any injected markup inert. */
const DOCS_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'",
  "x-content-type-options": "nosniff",
  "cache-control": "public, max-age=300",
} as const;

let rendered: { json: string; html: string } | undefined;

/** Serialized once per isolate: the catalogue cannot change without a deploy. */
function renderedDocs(): { json: string; html: string } {
  if (!rendered) {
    const document = cachedOpenApiDocument(ROUTE_CATALOGUE);
    rendered = { json: JSON.stringify(document), html: renderDocsPage(document) };
  }
  return rendered;
}

/** The API's own description: open, like /health, so a client can read it before holding a key. */
export const openApiRoutes = new Hono<AppEnv>()
  .get("/openapi.json", (c) =>
    c.body(renderedDocs().json, 200, { "content-type": "application/json", "cache-control": "public, max-age=300" }),
  )
  .get("/docs", (c) => c.body(renderedDocs().html, 200, DOCS_HEADERS));
