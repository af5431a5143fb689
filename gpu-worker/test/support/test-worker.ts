/** Starts a real worker (HTTP, inference threads, S3 via s3rver) configured the way main.ts does. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadWorkerConfig, type WorkerConfig } from "../../src/config.js";
import { silentLogger } from "../../src/logger.js";
import { type RunningWorker, type StartWorkerOptions, startWorker } from "../../src/server.js";
import type { LocalS3 } from "./local-s3.js";
import { TEST_SIGNING_SECRET, TEST_WORKER_ID } from "./signed-fetch.js";

export const TEST_WORKER_TOKEN = "test-worker-token";

export function testWorkerEnv(
  s3: LocalS3,
  cacheDir: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    MODELGATE_EDGE_URL: "http://127.0.0.1:9",
    MODELGATE_WORKER_ID: TEST_WORKER_ID,
    MODELGATE_WORKER_TOKEN: TEST_WORKER_TOKEN,
    MODELGATE_SIGNING_SECRET: TEST_SIGNING_SECRET,
    S3_ENDPOINT: s3.endpoint,
    S3_BUCKET: s3.bucket,
    S3_ACCESS_KEY_ID: "S3RVER",
    S3_SECRET_ACCESS_KEY: "S3RVER",
    MODELGATE_CACHE_DIR: cacheDir,
    PORT: "0",
    GPU_MONITOR_INTERVAL_MS: "1000",
    // Stopping a test worker drains it; nothing here routes to it on a stale view, so no quiet period.
    MODELGATE_DRAIN_QUIET_MS: "0",
    ...extra,
  };
}

export interface TestWorker extends RunningWorker {
  config: WorkerConfig;
  cacheDir: string;
}

export async function startTestWorker(
  s3: LocalS3,
  options: { env?: Record<string, string>; start?: StartWorkerOptions } = {},
): Promise<TestWorker> {
  const cacheDir = await mkdtemp(join(tmpdir(), "modelgate-cache-"));
  const config = loadWorkerConfig(testWorkerEnv(s3, cacheDir, options.env));
  const worker = await startWorker(config, { logger: silentLogger, heartbeats: false, ...options.start });
  return {
    ...worker,
    config,
    cacheDir,
    async close() {
      await worker.close();
      await rm(cacheDir, { recursive: true, force: true });
    },
  };
}
