/**
 * Running wrangler as this project does everywhere (the local stack's `wrangler dev`, the
 * deploy dry run): the installed wrangler's own entry under the current Node (npm scripts put
 * Node 22 first on PATH; wrangler needs it), offline and without telemetry.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

export function wranglerEntry(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");
}

/** The environment for a wrangler child process. */
export function wranglerEnvironment(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    WRANGLER_SEND_METRICS: "false",
    // No network here: skip wrangler's download of the `request.cf` placeholder.
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    NO_COLOR: "1",
  };
}
