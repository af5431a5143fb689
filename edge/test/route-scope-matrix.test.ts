import { type Scope, ScopeSchema, scopesAllow } from "@modelgate/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEdgeApp } from "../src/app.js";
import { examplePath, ROUTE_CATALOGUE, type RouteSpec } from "../src/openapi/route-catalogue.js";
import { ADMIN, call, resetEdge, WORKER_TOKEN } from "./support/requests.js";

// One set of credentials for the whole matrix: a minimal request can only be refused or let
// through, and nothing one route's request stores changes what a key is, so the routes share
// them (making them afresh for each of the 60-odd routes was most of this file's minute).
let everyCredential: Credential[];
beforeAll(async () => {
  everyCredential = await credentials();
});
afterAll(() => resetEdge());

const routeName = (method: string, path: string) => `${method.toUpperCase()} ${path}`;

/** Hono's `/v1/keys/:id` (or `:id{[0-9]+}`) in OpenAPI's spelling, `/v1/keys/{id}`. */
const openApiPath = (honoPath: string) => honoPath.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, "{$1}");

function mountedRoutes(): string[] {
  const routes = createEdgeApp().routes.filter((route) => route.method !== "ALL");
  return [...new Set(routes.map((route) => routeName(route.method, openApiPath(route.path))))].sort();
}

const CATALOGUED = ROUTE_CATALOGUE.map((spec) => routeName(spec.method, spec.path));

describe("the route catalogue and the app agree", () => {
  it("catalogues every mounted route (add a spec to edge/src/openapi/ for a new route)", () => {
    expect(mountedRoutes().filter((route) => !CATALOGUED.includes(route))).toEqual([]);
  });

  it("catalogues only mounted routes, each once", () => {
    const mounted = mountedRoutes();
    expect(CATALOGUED.filter((route) => !mounted.includes(route))).toEqual([]);
    expect(CATALOGUED.filter((route, index) => CATALOGUED.indexOf(route) !== index)).toEqual([]);
  });
});

/** Who calls: `scopes` undefined means the edge must not know the caller at all (401). */
interface Credential {
  label: string;
  key: string | undefined;
  scopes: readonly Scope[] | undefined;
}

async function createKey(name: string, scopes: Scope[]): Promise<{ id: string; key: string }> {
  const response = await call("POST", "/v1/keys", { key: ADMIN, body: { name, scopes } });
  if (response.status !== 201) throw new Error(`creating ${name}: ${response.status} ${await response.text()}`);
  return (await response.json()) as { id: string; key: string };
}

async function credentials(): Promise<Credential[]> {
  const stored = await Promise.all(
    ScopeSchema.options.map(async (scope): Promise<Credential> => {
      const created = await createKey(`only-${scope}`, [scope]);
      return { label: `stored key with ${scope}`, key: created.key, scopes: [scope] };
    }),
  );
  // Revoked with every human scope it could have: revocation must win over scope.
  const revoked = await createKey("revoked", ["admin"]);
  const revocation = await call("DELETE", `/v1/keys/${revoked.id}`, { key: ADMIN });
  if (revocation.status !== 200) throw new Error(`revoking: ${revocation.status} ${await revocation.text()}`);
  return [
    { label: "no key", key: undefined, scopes: undefined },
    { label: "unknown key", key: "mgk_thisKeyWasNeverIssuedByTheEdge00", scopes: undefined },
    { label: "revoked admin key", key: revoked.key, scopes: undefined },
    ...stored,
    { label: "admin secret", key: ADMIN, scopes: ["admin"] },
    { label: "worker token", key: WORKER_TOKEN, scopes: ["worker"] },
  ];
}

/** The smallest request that gets past routing: path params from their examples, `{}` for JSON bodies. */
function minimalRequest(spec: RouteSpec, key: string | undefined): Promise<Response> {
  const path = examplePath(spec);
  if (!spec.body) return call(spec.method, path, { key });
  const contentType = spec.bodyContentType ?? "application/json";
  return contentType === "application/json"
    ? call(spec.method, path, { key, body: {} })
    : call(spec.method, path, { key, rawBody: "", headers: { "content-type": contentType } });
}

function expectedOutcome(spec: RouteSpec, credential: Credential): "refused 401" | "refused 403" | "let through" {
  if (spec.scope === "public") return "let through";
  if (credential.scopes === undefined) return "refused 401";
  if (spec.scope === "any-key") return "let through";
  return scopesAllow(credential.scopes, spec.scope) ? "let through" : "refused 403";
}

function actualOutcome(status: number): string {
  if (status === 401) return "refused 401";
  if (status === 403) return "refused 403";
  return "let through";
}

describe("route × credential matrix", () => {
  it.each(ROUTE_CATALOGUE.map((spec) => [routeName(spec.method, spec.path), spec] as const))(
    "%s",
    async (_name, spec) => {
      const mismatches: string[] = [];
      for (const credential of everyCredential) {
        const response = await minimalRequest(spec, credential.key);
        const body = await response.text();
        const expected = expectedOutcome(spec, credential);
        const actual = actualOutcome(response.status);
        if (actual !== expected) {
          mismatches.push(`${credential.label}: expected ${expected}, got ${response.status} ${body.slice(0, 200)}`);
        }
      }
      expect(mismatches).toEqual([]);
    },
  );
});
