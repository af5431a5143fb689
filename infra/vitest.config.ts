import { defineProject } from "vitest/config";

// Operations files checked with the real tools: promtool for alert rules and dashboard queries,
// wrangler for the deploy dry run, systemd-analyze and a Dockerfile linter for deploy files.
export default defineProject({
  test: {
    name: "infra",
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/system-tools-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
