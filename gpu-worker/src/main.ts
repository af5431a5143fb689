/** `npm start -w gpu-worker`: configuration from the environment, then serve until SIGINT/SIGTERM. */
import { loadWorkerConfig, WorkerConfigError } from "./config.js";
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
const worker = await startWorker(config, { logger });

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) {
    logger.warn("second signal; exiting without waiting for requests in flight", { signal });
    process.exit(1);
  }
  stopping = true;
  logger.info("shutting down", { signal });
  await worker.close();
  process.exit(0);
}

process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
