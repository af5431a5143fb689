import { createServer } from "node:net";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineProject } from "vitest/config";
import { buildConsole } from "./console/build-console.js";
import { EDGE_TEST_SECRETS } from "./test/support/secrets.js";
import { S3_PORT_VARIABLE, TEST_S3 } from "./test/support/test-artifacts.js";

/** A free loopback port for s3rver, chosen here because miniflare's bindings must name it. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof address !== "object" || address === null) throw new Error("no free port for s3rver");
  return address.port;
}

// wrangler.toml's [assets] directory must exist before miniflare reads it: build the console first.
await buildConsole();

// The config may be evaluated more than once in a run; every evaluation must agree on the port.
process.env[S3_PORT_VARIABLE] ??= String(await freePort());
const s3Endpoint = `http://127.0.0.1:${process.env[S3_PORT_VARIABLE]}`;

// Edge tests run inside workerd with real R2 and Durable Objects (miniflare), configured from
// the same wrangler.toml that `npm start` and deployments use, and a real S3 (s3rver).
export default defineProject({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "../wrangler.toml" },
      miniflare: {
        bindings: {
          ...EDGE_TEST_SECRETS,
          // Most tests heartbeat with the shared token; worker-fleet.test.ts turns legacy mode off for its refusals.
          MODELGATE_LEGACY_WORKER_TOKEN: "on",
          MODELGATE_MAX_BODY_BYTES: "65536",
          MODELGATE_FORWARD_TIMEOUT_MS: "5000",
          // Tests write to R2 and Durable Objects directly between requests: no routing caches.
          MODELGATE_ROUTING_RECORD_CACHE_MS: "0",
          MODELGATE_ROUTING_VIEW_CACHE_MS: "0",
          // Analytics tests read events right after the requests that made them.
          MODELGATE_ANALYTICS_BATCH_MS: "0",
          // Each request's metrics go to the aggregator right after it (tests wait on execution contexts).
          MODELGATE_METRICS_FLUSH_MS: "0",
          // A line per request would bury test output; request-log.test.ts turns info on for itself.
          MODELGATE_LOG_LEVEL: "warn",
          MODELGATE_S3_ENDPOINT: s3Endpoint,
          MODELGATE_S3_BUCKET: TEST_S3.bucket,
          MODELGATE_S3_REGION: TEST_S3.region,
          MODELGATE_S3_ACCESS_KEY_ID: TEST_S3.accessKeyId,
          MODELGATE_S3_SECRET_ACCESS_KEY: TEST_S3.secretAccessKey,
          // Small, so that the tests exercise multipart uploads with a few KiB.
          MODELGATE_UPLOAD_MULTIPART_THRESHOLD_BYTES: "4096",
          MODELGATE_UPLOAD_PART_BYTES: "2048",
          // Short, so that the tests see conversion leases expire within a second (default 30 s).
          MODELGATE_CONVERSION_LEASE_MS: "1000",
          MODELGATE_EVALUATION_LEASE_MS: "1000",
        },
      },
    }),
  ],
  test: {
    name: "edge",
    // One runtime and module graph for all the files a test worker runs: importing the edge app
    // into a fresh runtime cost ~3 s a file (36 files: 108 s of the project's 103 s wall on two
    // workers, measured; without isolation 39 s). Each file still starts from empty storage
    // (fresh-storage-setup.ts), and tests must not change the shared bindings (routing-caches
    // derives its own).
    isolate: false,
    setupFiles: ["test/support/fresh-storage-setup.ts"],
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/stand-in-worker-setup.ts", "test/support/s3-server-setup.ts"],
    testTimeout: 30_000,
  },
});
