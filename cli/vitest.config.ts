import { defineProject } from "vitest/config";

// The CLI tests run against one real local stack (s3rver + `wrangler dev` + a CPU worker),
// started once by the global setup and shared by every file.
export default defineProject({
  test: {
    name: "cli",
    // Files share a test worker's module graph instead of importing it afresh per file (~1 s of
    // imports a file on two cores); no test changes module state another file reads.
    isolate: false,
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
