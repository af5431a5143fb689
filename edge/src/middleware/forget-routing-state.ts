import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.js";
import { forgetRoutingState } from "../routing/routing-caches.js";

const READS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Drops this isolate's routing caches after a successful request that may have changed what they hold:
 * registry writes (and conversion results, which land in the registry) for model records; a
 * heartbeat or a selection-flag change for the fleet view. Other isolates see changes within
 * the caches' TTLs.
 */
export const forgetChangedRoutingState = createMiddleware<AppEnv>(async function forgetChangedRoutingState(c, next) {
  await next();
  // A read or a refused write changed nothing.
  if (READS.has(c.req.method) || c.res.status >= 400) return;
  const path = c.req.path;
  // Registry writes only: a conversion request, a worker's claim or progress report does not
  // touch the registry (idle workers claim every 2 s), a finished or failed job does.
  const records =
    (path.startsWith("/v1/models/") && !path.endsWith("/conversions")) ||
    /^\/internal\/conversions\/[^/]+\/(complete|fail)$/.test(path) ||
    path.startsWith("/v1/admin/registry");
  const fleet = path === "/internal/workers/heartbeat" || path === "/v1/admin/selection-flags";
  if (records || fleet) forgetRoutingState({ records, fleet });
});
