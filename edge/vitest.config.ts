import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineProject } from "vitest/config";
import { EDGE_TEST_SECRETS } from "./test/support/secrets.js";

// Edge tests run inside workerd with real R2 and Durable Objects (miniflare), configured from
// the same wrangler.toml that `npm start` and deployments use.
export default defineProject({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "../wrangler.toml" },
      miniflare: {
        bindings: { ...EDGE_TEST_SECRETS, MODELGATE_MAX_BODY_BYTES: "65536", MODELGATE_FORWARD_TIMEOUT_MS: "5000" },
      },
    }),
  ],
  test: {
    name: "edge",
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/stand-in-worker-setup.ts"],
    testTimeout: 30_000,
  },
});
