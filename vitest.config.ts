import { defineConfig } from "vitest/config";

// One `vitest run` covers every package; each package's own config says where its tests run
// (Node for shared/gpu-worker/cli/test, workerd for edge).
export default defineConfig({
  test: {
    projects: ["shared", "edge", "gpu-worker", "cli", "infra", "test"],
  },
});
