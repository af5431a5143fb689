import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ADMIN_KEY, READER_KEY, startFakeEdge } from "./support/fake-edge.js";
import { seededModels, seededWorkers } from "./support/fixtures.js";
import type { TestServer } from "./support/http-server.js";
import { modelgate } from "./support/run.js";

let edge: TestServer;
let workDir: string;

beforeEach(async () => {
  edge = await startFakeEdge({ models: seededModels(), workers: seededWorkers() });
  workDir = await mkdtemp(join(tmpdir(), "modelgate-cli-auth-"));
});
afterEach(async () => {
  await edge.close();
  await rm(workDir, { recursive: true, force: true });
});

async function writeKeyFile(contents: string): Promise<void> {
  await mkdir(join(workDir, ".modelgate"), { recursive: true });
  await writeFile(join(workDir, ".modelgate", "admin-key"), contents, { mode: 0o600 });
}

describe("which key is sent", () => {
  it("sends --key as a Bearer token", async () => {
    const run = await modelgate(["--url", edge.url, "--key", ADMIN_KEY, "models", "list"], { cwd: workDir });
    expect(run.code).toBe(0);
    expect(edge.requests[0]?.authorization).toBe(`Bearer ${ADMIN_KEY}`);
  });

  it("accepts the global options after the subcommand too", async () => {
    const run = await modelgate(["models", "list", "--url", edge.url, "--key", ADMIN_KEY], { cwd: workDir });
    expect(run.code).toBe(0);
    expect(edge.requests[0]?.authorization).toBe(`Bearer ${ADMIN_KEY}`);
  });

  it("reads MODELGATE_URL and MODELGATE_KEY, and --key wins over the environment", async () => {
    const env = { MODELGATE_URL: edge.url, MODELGATE_KEY: READER_KEY };
    await modelgate(["models", "list"], { env, cwd: workDir });
    await modelgate(["models", "list", "--key", ADMIN_KEY], { env, cwd: workDir });
    expect(edge.requests.map((r) => r.authorization)).toEqual([`Bearer ${READER_KEY}`, `Bearer ${ADMIN_KEY}`]);
  });

  it("falls back to .modelgate/admin-key in the working directory (trailing newline trimmed)", async () => {
    await writeKeyFile(`${ADMIN_KEY}\n`);
    const run = await modelgate(["workers", "list"], { env: { MODELGATE_URL: edge.url }, cwd: workDir });
    expect(run.code).toBe(0);
    expect(edge.requests[0]?.authorization).toBe(`Bearer ${ADMIN_KEY}`);
    expect(run.stdout).toContain("gpu-box-1");
  });

  it("prefers MODELGATE_KEY over the key file, and treats an empty variable as unset", async () => {
    await writeKeyFile(`${ADMIN_KEY}\n`);
    await modelgate(["models", "list"], { env: { MODELGATE_URL: edge.url, MODELGATE_KEY: READER_KEY }, cwd: workDir });
    await modelgate(["models", "list"], { env: { MODELGATE_URL: edge.url, MODELGATE_KEY: "" }, cwd: workDir });
    expect(edge.requests.map((r) => r.authorization)).toEqual([`Bearer ${READER_KEY}`, `Bearer ${ADMIN_KEY}`]);
  });

  it("says in --help where the key comes from", async () => {
    const run = await modelgate(["--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("MODELGATE_KEY");
    expect(run.stdout).toMatch(/\.modelgate\/admin-key,\s+written by `npm\s+start`/);
  });
});

describe("authentication failures exit 3", () => {
  it("without any key: no Authorization header, and a hint naming every way to give one", async () => {
    const run = await modelgate(["models", "list"], { env: { MODELGATE_URL: edge.url }, cwd: workDir });
    expect(run.code).toBe(3);
    expect(edge.requests[0]?.authorization).toBeUndefined();
    expect(run.stderr).toContain("(401 unauthorized)");
    expect(run.stderr).toContain("pass --key, set MODELGATE_KEY, or run `npm start`");
  });

  it("with a wrong key: says which key was rejected", async () => {
    const run = await modelgate(["models", "list", "--key", "wrong"], { env: { MODELGATE_URL: edge.url } });
    expect(run.code).toBe(3);
    expect(run.stderr).toContain("The API key is not valid. (401 unauthorized)");
    expect(run.stderr).toContain("hint: the key from --key was rejected");
  });

  it("with a key that lacks the scope (403)", async () => {
    const run = await modelgate(["workers", "list"], { env: { MODELGATE_URL: edge.url, MODELGATE_KEY: READER_KEY } });
    expect(run.code).toBe(3);
    expect(run.stderr).toContain("(403 forbidden)");
  });

  it("--json prints the edge's problem object to stderr", async () => {
    const run = await modelgate(["models", "list", "--json"], { env: { MODELGATE_URL: edge.url } });
    expect(run.code).toBe(3);
    expect(run.stdout).toBe("");
    expect(JSON.parse(run.stderr)).toMatchObject({ status: 401, code: "unauthorized", instance: "/v1/models" });
  });
});

describe("health", () => {
  it("needs no key and sends none", async () => {
    const run = await modelgate(["health", "--url", edge.url], { cwd: workDir });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`modelgate-edge ok at ${edge.url} (edge time 2026-01-12T10:30:00Z)\n`);
    expect(edge.requests[0]?.authorization).toBeUndefined();
  });

  it("keeps a path prefix in --url and drops a trailing slash", async () => {
    await modelgate(["health", "--url", `${edge.url}/edge/`]);
    expect(edge.requests[0]?.path).toBe("/edge/health");
  });

  it("rejects a --url that is not http(s) as a usage error", async () => {
    const run = await modelgate(["health", "--url", "ftp://example.com"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--url must be an http(s) URL");
  });
});
