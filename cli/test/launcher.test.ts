import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { refusedUrl } from "./support/http-server.js";

const repoRoot = resolve(import.meta.dirname, "../..");

/** The real launcher in a child process: tsx loads the TypeScript, main.ts sets the exit code. */
function launch(args: string[]) {
  return spawnSync(process.execPath, ["cli/bin/modelgate.js", ...args], {
    cwd: repoRoot,
    encoding: "utf8",
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    timeout: 20_000,
  });
}

describe("bin/modelgate.js", () => {
  it("prints every command and the exit codes for --help", () => {
    const result = launch(["--help"]);
    expect(result.status).toBe(0);
    for (const command of [
      "modelgate health",
      "modelgate models list",
      "modelgate models info <name>",
      "modelgate models register <name> --file <registration.json>",
      "modelgate models promote <name> --version <n>",
      "modelgate workers list",
      "modelgate generate <model> <prompt>",
      "modelgate predict <model> --data <matrix>",
    ]) {
      expect(result.stdout).toContain(command);
    }
    expect(result.stdout).toContain("Exit codes:");
    expect(result.stdout).toMatch(/^ {2}6 {2}edge or worker unavailable/m);
  });

  it("exits the process with the CLI's exit code", async () => {
    const result = launch(["health", "--url", await refusedUrl()]);
    expect(result.status).toBe(6);
    expect(result.stderr).toContain("try `npm start`");
  });
});
