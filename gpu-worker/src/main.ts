/**
 * `npm start -w gpu-worker`: configuration from the environment, then serve until SIGINT/SIGTERM.
 * Either signal drains (no new work, what runs finishes, MODELGATE_DRAIN_TIMEOUT_MS at most), so
 * a rolling restart fails no request; a second signal exits at once.
 */
import { loadWorkerConfig, WorkerConfigError } from "./config.js";
import { WorkerCredentialError } from "./heartbeat/worker-credential.js";
import { createWorkerLogger } from "./logger.js";
import { startWorker } from "./server.js";

let config: ReturnType<typeof loadWorkerConfig>;
try {
  config = loadWorkerConfig(process.env);
} catch (error) {
  if (!(error instanceof WorkerConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}

const logger = createWorkerLogger({ level: config.logLevel, workerId: config.workerId });
let worker: Awaited<ReturnType<typeof startWorker>>;
try {
  worker = await startWorker(config, { logger });
} catch (error) {
  if (!(error instanceof WorkerCredentialError)) throw error;
  logger.error("cannot authenticate with the edge", { reason: error.message });
  process.exit(1);
}

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) {
    logger.warn("second signal; exiting without waiting for requests in flight", { signal });
    process.exit(1);
  }
  stopping = true;
  logger.info("shutting down", { signal, draining: true });
  await worker.drain();
  process.exit(0);
}

process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
