import { createEdgeApp } from "./app.js";
import type { EdgeBindings } from "./env.js";

export { WorkerPool } from "./pool/worker-pool-object.js";

const app = createEdgeApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<EdgeBindings>;
