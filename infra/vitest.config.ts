import { defineProject } from "vitest/config";

// Operations files checked with the real tools: promtool for alert rules and dashboard queries,
// wrangler for the deploy dry run, systemd-analyze and a Dockerfile linter for deploy files.
export default defineProject({
  test: {
    name: "infra",
    // Files share a test worker's module graph instead of importing it afresh per file (~1 s of
    // imports a file on two cores); no test changes module state another file reads.
    isolate: false,
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/system-tools-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
