import { createEdgeApp } from "./app.js";
import type { EdgeBindings } from "./env.js";

export { ConversionQueue } from "./conversions/conversion-queue-object.js";
export { EvaluationQueue } from "./evaluations/evaluation-queue-object.js";
export { ApiKeyStore } from "./keys/api-key-store-object.js";
export { RateLimiter } from "./keys/rate-limiter-object.js";
export { MetricsAggregator } from "./metrics/metrics-aggregator-object.js";
export { WorkerPool } from "./pool/worker-pool-object.js";
export { RegistryCoordinator } from "./registry/registry-coordinator-object.js";

const app = createEdgeApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<EdgeBindings>;
