import { createEdgeApp } from "./app.js";
import { sweepAbandonedUploads } from "./artifacts/upload-session-sweep.js";
import type { EdgeBindings } from "./env.js";

export { ConversionQueue } from "./conversions/conversion-queue-object.js";
export { EvaluationQueue } from "./evaluations/evaluation-queue-object.js";
export { ApiKeyStore } from "./keys/api-key-store-object.js";
export { RateLimiter } from "./keys/rate-limiter-object.js";
export { MetricsAggregator } from "./metrics/metrics-aggregator-object.js";
export { WorkerPool } from "./pool/worker-pool-object.js";
export { RegistryCoordinator } from "./registry/registry-coordinator-object.js";
export { RolloutGuard } from "./rollouts/rollout-guard-object.js";

const app = createEdgeApp();

export default {
  fetch: app.fetch,
  /** The cron trigger (`[triggers]` in wrangler.toml): housekeeping that no request waits for. */
  async scheduled(controller, env) {
    await sweepAbandonedUploads(env, controller.scheduledTime);
  },
} satisfies ExportedHandler<EdgeBindings>;
