import { ModelgateError } from "@modelgate/shared";
import { createMiddleware } from "hono/factory";
import { matchedRoutes } from "hono/route";
import type { AppEnv } from "../env.js";
import { ROUTE_CATALOGUE, type RouteSpec } from "../openapi/route-catalogue.js";

/** Hono's `/v1/keys/:id` (or `:id{[0-9]+}`) in the catalogue's OpenAPI spelling, `/v1/keys/{id}`. */
const openApiPath = (honoPath: string) => honoPath.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, "{$1}");

const SPECS_BY_ROUTE = new Map(ROUTE_CATALOGUE.map((spec) => [`${spec.method} ${spec.path}`, spec]));

/** The catalogue's spec of the route that will answer, or undefined (404s, static assets). */
function specOfMatchedRoute(c: Parameters<typeof matchedRoutes>[0]): RouteSpec | undefined {
  const method = c.req.method === "HEAD" ? "GET" : c.req.method;
  for (const route of matchedRoutes(c)) {
    if (route.method === "ALL") continue;
    const spec = SPECS_BY_ROUTE.get(`${method} ${openApiPath(route.path)}`);
    if (spec) return spec;
  }
  return undefined;
}

/**
 * Query parameters held to the route catalogue, before any route runs: a parameter the route
 * does not declare, or one given twice, is a 400 naming it. Routes used to ignore what they did
 * not read, so `POST /v1/uploads?sha256=…` (a typo for the body) or `GET /v1/models?q=a&q=b`
 * (only one `q` would be used) succeeded doing something other than what was asked. Values are
 * checked by each route's own strict query schema (`parseQuery`), the same one its spec names.
 * This runs before the key is checked: it refuses by parameter name alone, which the public
 * OpenAPI document lists anyway, and nothing a route could write happens first.
 */
export const checkQueryParameters = createMiddleware<AppEnv>(async function checkQueryParameters(c, next) {
  const url = new URL(c.req.url);
  if (url.search === "" || url.search === "?") return next();
  const spec = specOfMatchedRoute(c);
  if (!spec) return next();
  const declared = new Set(spec.query ? Object.keys(spec.query.shape) : []);
  const seen = new Set<string>();
  for (const name of url.searchParams.keys()) {
    const shown = JSON.stringify(name);
    if (!declared.has(name)) {
      const takes = declared.size === 0 ? "takes no query parameters" : `takes only ${[...declared].join(", ")}`;
      throw new ModelgateError(
        "validation_failed",
        `Unknown query parameter ${shown}: ${spec.method} ${spec.path} ${takes}.`,
        [{ field: name, message: `unknown query parameter; this route ${takes}` }],
      );
    }
    if (seen.has(name)) {
      throw new ModelgateError("validation_failed", `The query parameter ${shown} is given more than once.`, [
        { field: name, message: "given more than once; send each query parameter once" },
      ]);
    }
    seen.add(name);
  }
  return next();
});
