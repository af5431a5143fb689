import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

// One `vitest run` covers every package; each package's own config says where its tests run
// (Node for shared/gpu-worker/cli/infra/test, workerd for edge).
export default defineConfig({
  test: {
    projects: ["shared", "edge", "gpu-worker", "cli", "infra", "test"],
    // vitest's default is one test worker on a 2-core machine (cores − 1), so every file waited for
    // the one before it. Much of this suite waits, not computes: on wrangler dev, GPU-worker
    // processes, Chromium, module imports. Two workers on two cores overlap that waiting:
    // measured 389 s → 330 s for the whole suite from a fresh clone. (e2e files still run one at a
    // time: their project sets fileParallelism false, so two stacks never share the cores.)
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
