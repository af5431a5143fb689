/**
 * `/console`: the web console, static files built by edge/console/build-console.ts and served
 * from the Worker's assets (`[assets]` in wrangler.toml) with a strict Content-Security-Policy:
 * scripts and styles from this origin only, no inline script, API calls to this origin only, no
 * framing. The console is a client of the public API like the CLI; this route only hands out files.
 */
import { ModelgateError } from "@modelgate/shared";
import { type Context, Hono } from "hono";
import type { AppEnv } from "../env.js";
import { problemResponse } from "../http/problem.js";

export const CONSOLE_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy": CONSOLE_CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
};

/** Built file names carry a content hash, so anything but the index can be cached for good. */
const HASHED_ASSET = /^\/console\/[a-z]+-[0-9a-f]{12}\.(js|css)$/;

async function serveAsset(c: Context<AppEnv>, path: string): Promise<Response> {
  if (!c.env.ASSETS) {
    return problemResponse(
      c,
      new ModelgateError("not_found", "The console is not deployed with this edge (no ASSETS binding)."),
    );
  }
  const asset = await c.env.ASSETS.fetch(new URL(path, c.req.url));
  if (asset.status === 404) {
    return problemResponse(c, new ModelgateError("not_found", `The console has no file ${c.req.path}.`));
  }
  const headers = new Headers(asset.headers);
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) headers.set(name, value);
  headers.set("cache-control", HASHED_ASSET.test(path) ? "public, max-age=31536000, immutable" : "no-cache");
  return new Response(asset.body, { status: asset.status, headers });
}

export const consoleRoutes = new Hono<AppEnv>()
  .get("/console", (c) => serveAsset(c, "/console/index.html"))
  .get("/console/", (c) => serveAsset(c, "/console/index.html"))
  .get("/console/:file{[A-Za-z0-9._-]+}", (c) => serveAsset(c, `/console/${c.req.param("file")}`));
