import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "gpu-worker",
    include: ["test/**/*.test.ts"],
    // Files share a test worker's module graph (onnxruntime-node, the AWS SDK, the worker app)
    // instead of importing it afresh per file: with 42 files that was 52 s of imports summed over
    // this project and the CLI's, infra's and shared's, measured, against 15 s now. The one test
    // that changes process state (PATH for a fake nvidia-smi) restores it after itself.
    isolate: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
