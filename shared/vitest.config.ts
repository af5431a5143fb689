import { defineProject } from "vitest/config";

// Pure functions: files share a test worker's module graph rather than importing it per file.
export default defineProject({ test: { name: "shared", include: ["test/**/*.test.ts"], isolate: false } });
