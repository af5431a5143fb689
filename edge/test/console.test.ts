/**
 * `/console` from the Worker's real assets (built into edge/console/dist before the tests):
 * the page and its content-hashed files with a strict CSP and caching that fits each; a missing
 * file is a problem+json 404; and `GET /v1/whoami` tells a key what it may do.
 */

import { WhoAmISchema } from "@modelgate/shared";
import { afterEach, describe, expect, it } from "vitest";
import { CONSOLE_CONTENT_SECURITY_POLICY } from "../src/routes/console.js";
import { ADMIN, call, expectProblem, resetEdge, WORKER_TOKEN } from "./support/requests.js";

afterEach(() => resetEdge());

describe("GET /console", () => {
  it("serves the page with a strict CSP, and the script and stylesheet it names", async () => {
    for (const path of ["/console", "/console/"]) {
      const page = await call("GET", path);
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type")).toMatch(/^text\/html/);
      expect(page.headers.get("content-security-policy")).toBe(CONSOLE_CONTENT_SECURITY_POLICY);
      expect(page.headers.get("cache-control")).toBe("no-cache");
      expect(page.headers.get("x-frame-options")).toBe("DENY");
      const html = await page.text();
      // No inline script: the only script is a file of this origin.
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      const script = /<script type="module" src="(\/console\/app-[0-9a-f]{12}\.js)">/.exec(html)?.[1];
      const style = /<link rel="stylesheet" href="(\/console\/app-[0-9a-f]{12}\.css)"/.exec(html)?.[1];
      expect(script).toBeDefined();
      expect(style).toBeDefined();
      const js = await call("GET", script ?? "");
      expect(js.status).toBe(200);
      expect(js.headers.get("content-type")).toMatch(/javascript/);
      expect(js.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect((await js.text()).length).toBeGreaterThan(1000);
      const css = await call("GET", style ?? "");
      expect(css.headers.get("content-type")).toMatch(/^text\/css/);
    }
  });

  it("answers a missing file or a path outside the console with a problem, and never serves the assets elsewhere", async () => {
    const missing = await expectProblem(await call("GET", "/console/nope.js"), 404);
    expect(missing.detail).toContain("/console/nope.js");
    await expectProblem(await call("GET", "/console/..%2Fwrangler.toml"), 404);
    // The assets folder holds console/index.html; at its own path it is not served.
    await expectProblem(await call("GET", "/console/index.html/extra"), 404);
    const root = await call("GET", "/index.html");
    expect(root.status).toBe(404);
    expect(root.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  });
});

describe("GET /v1/whoami", () => {
  it("tells the admin key and a stored key what they are, never the key", async () => {
    const admin = WhoAmISchema.parse(await (await call("GET", "/v1/whoami", { key: ADMIN })).json());
    expect(admin).toEqual({ id: "admin", kind: "admin-key", scopes: ["admin"], rpm: null, max_tier: null });
    const created = (await (
      await call("POST", "/v1/keys", {
        key: ADMIN,
        body: { name: "reader", scopes: ["models:read", "infer"], rpm: 60, max_tier: "tier_2" },
      })
    ).json()) as { id: string; key: string };
    const response = await call("GET", "/v1/whoami", { key: created.key });
    const text = await response.text();
    expect(text).not.toContain(created.key);
    expect(WhoAmISchema.parse(JSON.parse(text))).toEqual({
      id: created.id,
      kind: "api-key",
      scopes: ["models:read", "infer"],
      rpm: 60,
      max_tier: "tier_2",
    });
  });

  it("answers any valid key, even one with only the worker scope, and refuses no key, an unknown or a revoked one", async () => {
    expect(WhoAmISchema.parse(await (await call("GET", "/v1/whoami", { key: WORKER_TOKEN })).json()).scopes).toEqual([
      "worker",
    ]);
    await expectProblem(await call("GET", "/v1/whoami"), 401);
    await expectProblem(await call("GET", "/v1/whoami", { key: "mgk_neverIssued0000000000000000000" }), 401);
    const created = (await (
      await call("POST", "/v1/keys", { key: ADMIN, body: { name: "gone", scopes: ["admin"] } })
    ).json()) as { id: string; key: string };
    expect((await call("DELETE", `/v1/keys/${created.id}`, { key: ADMIN })).status).toBe(200);
    await expectProblem(await call("GET", "/v1/whoami", { key: created.key }), 401);
  });
});
