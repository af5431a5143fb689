import { defineProject } from "vitest/config";

// The CLI tests run against one real local stack (s3rver + `wrangler dev` + a CPU worker),
// started once by the global setup and shared by every file.
export default defineProject({
  test: {
    name: "cli",
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
