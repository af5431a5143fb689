import { defineProject } from "vitest/config";

// Cross-package tests start real processes (wrangler dev, the GPU worker, s3rver): generous
// timeouts, and files run one at a time so two stacks never compete for the 2 cores.
export default defineProject({
  test: {
    name: "e2e",
    include: ["e2e/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    // One module graph for the files, run one after another: their imports (the local stack, the
    // reference model builders, playwright, the OpenAI SDK) were ~14 s of this chain, evaluated
    // again for each file. Each file still starts and stops its own stack.
    isolate: false,
  },
});
