import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { freePort, stack } from "./support/stack.js";

const repoRoot = resolve(import.meta.dirname, "../..");

/** The real launcher in a child process: tsx loads the TypeScript, main.ts sets the exit code. */
function launch(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ["cli/bin/modelgate.js", ...args], {
    cwd: repoRoot,
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "", ...env },
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
      "modelgate models info <name[@ref]>",
      "modelgate models register <name>",
      "modelgate models upload <file>",
      "modelgate models promote <name> <version>",
      "modelgate models rollout start <name> <candidate>",
      "modelgate models history <name>",
      "modelgate models delete <name[@version]>",
      "modelgate models best <name>",
      "modelgate models edit <name> <version>",
      "modelgate models alias <name> <alias> <version>",
      "modelgate models policy <name>",
      "modelgate keys create <name>",
      "modelgate workers list",
      "modelgate config show",
      "modelgate generate <model> <prompt>",
      "modelgate predict <model> --data <matrix>",
    ]) {
      expect(result.stdout).toContain(command);
    }
    expect(result.stdout).toContain("Exit codes:");
    expect(result.stdout).toMatch(/^ {2}6 {2}edge or worker unavailable/m);
  });

  it("prints nothing but the JSON when run as `npx modelgate … --json`, npm included (no npm warnings on stderr)", () => {
    const { edgeUrl, adminKey } = stack();
    const listed = spawnSync("npx", ["modelgate", "models", "list", "--name", "demo-lm", "--json"], {
      cwd: repoRoot,
      encoding: "utf8",
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        MODELGATE_URL: edgeUrl,
        MODELGATE_KEY: adminKey,
      },
      timeout: 30_000,
    });
    expect(listed.stderr).toBe("");
    expect(listed.status).toBe(0);
    expect(JSON.parse(listed.stdout).items[0]).toMatchObject({ name: "demo-lm" });
  });

  it("prints `models list --json` against the stack and exits with the CLI's exit code", async () => {
    const { edgeUrl, adminKey } = stack();
    const listed = launch(["models", "list", "--name", "demo-lm", "--json"], {
      MODELGATE_URL: edgeUrl,
      MODELGATE_KEY: adminKey,
    });
    expect(listed.status).toBe(0);
    expect(JSON.parse(listed.stdout).items[0]).toMatchObject({ name: "demo-lm", stage: "Production" });
    const down = launch(["health", "--url", `http://127.0.0.1:${await freePort()}`]);
    expect(down.status).toBe(6);
    expect(down.stderr).toContain("try `npm start`");
    const unconfirmed = launch(["models", "delete", "demo-lm", "--url", edgeUrl, "--key", adminKey]);
    expect(unconfirmed.status).toBe(2);
    expect(unconfirmed.stderr).toContain("pass --yes");
  });
});
