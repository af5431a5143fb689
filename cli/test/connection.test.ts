import { mkdir, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { modelgate } from "./support/run.js";
import { cli, freePort, stack, tempDir, writeJson } from "./support/stack.js";

describe("where the URL and key come from", () => {
  it("exits 3 with a hint listing every way to give a key when none is found", async () => {
    const run = await modelgate(["models", "list"], { env: { MODELGATE_URL: stack().edgeUrl } });
    expect(run.code).toBe(3);
    expect(run.stderr).toContain("(401 unauthorized)");
    expect(run.stderr).toContain("hint: no API key was sent: pass --key, set MODELGATE_KEY");
    expect(run.stderr).toContain("~/.config/modelgate/config.json");
  });

  it("exits 3 naming the source of a key the edge rejects", async () => {
    const run = await cli(["models", "list"], { env: { MODELGATE_KEY: "mg_wrong_key_0123456789" } });
    expect(run.code).toBe(3);
    expect(run.stderr).toContain("the key from MODELGATE_KEY was rejected");
  });

  it("reads url and key from the file MODELGATE_CONFIG names; env and flags win over it", async () => {
    const directory = await tempDir();
    const config = await writeJson(directory, "config.json", { url: stack().edgeUrl, key: stack().adminKey });
    const run = await modelgate(["models", "list", "--name", "spirals"], { env: { MODELGATE_CONFIG: config } });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^spirals\s+1\s+Production/m);
    const shown = await modelgate(["config", "show", "--json"], {
      env: { MODELGATE_CONFIG: config, MODELGATE_URL: "http://127.0.0.1:1" },
    });
    expect(JSON.parse(shown.stdout)).toEqual({
      url: "http://127.0.0.1:1",
      url_source: "MODELGATE_URL",
      key: `${stack().adminKey.slice(0, 12)}…`,
      key_source: config,
      config_file: config,
      config_file_searched: config,
    });
    expect(shown.stdout).not.toContain(stack().adminKey);
  });

  it("reads ~/.config/modelgate/config.json from HOME", async () => {
    const home = await tempDir();
    await mkdir(join(home, ".config", "modelgate"), { recursive: true });
    await writeJson(join(home, ".config", "modelgate"), "config.json", { url: stack().edgeUrl, key: stack().adminKey });
    const run = await modelgate(["models", "info", "demo-lm"], { env: { HOME: home } });
    expect(run.code).toBe(0);
    const shown = await modelgate(["config", "show"], { env: { HOME: home } });
    expect(shown.stdout).toContain(`(from ${join(home, ".config", "modelgate", "config.json")})`);
  });

  it("finds .modelgate/admin-key in a parent folder, with the local default URL otherwise", async () => {
    const root = await tempDir();
    await mkdir(join(root, ".modelgate"), { recursive: true });
    await writeFile(join(root, ".modelgate", "admin-key"), `${stack().adminKey}\n`);
    const nested = join(root, "a", "b");
    await mkdir(nested, { recursive: true });
    const run = await modelgate(["models", "list", "--name", "demo-lm"], {
      cwd: nested,
      env: { MODELGATE_URL: stack().edgeUrl },
    });
    expect(run.code).toBe(0);
    const shown = await modelgate(["config", "show"], { cwd: nested });
    expect(shown.stdout).toMatch(/^url\s+http:\/\/127\.0\.0\.1:8787 {2}\(from default\)$/m);
    expect(shown.stdout).toContain(`(from ${join(root, ".modelgate", "admin-key")})`);
  });

  it.each([
    ["not JSON", "{", "is not valid JSON"],
    ["an unknown field", JSON.stringify({ url: "http://x.example", token: "t" }), 'unknown field "token"'],
    ["a bad url", JSON.stringify({ url: "ftp://x" }), 'field "url" must be an http(s) URL'],
  ])("exits 2 for a config file with %s, naming the file and the field", async (_what, content, message) => {
    const directory = await tempDir();
    const path = join(directory, "config.json");
    await writeFile(path, content);
    const run = await modelgate(["models", "list"], { env: { MODELGATE_CONFIG: path } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`The config file ${path}`);
    expect(run.stderr).toContain(message);
  });

  it("exits 2 when MODELGATE_CONFIG names a file that does not exist", async () => {
    const run = await modelgate(["models", "list"], { env: { MODELGATE_CONFIG: "/nonexistent/config.json" } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      "Cannot read the config file /nonexistent/config.json (ENOENT), named by MODELGATE_CONFIG",
    );
  });
});

describe("edge unavailable exits 6", () => {
  it("on connection refused, with the `npm start` hint, and a problem object with --json", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const run = await cli(["models", "list"], { env: { MODELGATE_URL: url } });
    expect(run.code).toBe(6);
    expect(run.stderr).toContain(`Cannot reach the edge at ${url}: connection refused.`);
    expect(run.stderr).toContain("hint: is the stack running? try `npm start`");
    const json = await modelgate(["health", "--json", "--url", url]);
    expect(json.code).toBe(6);
    expect(JSON.parse(json.stderr)).toMatchObject({ code: "edge_unreachable", title: "Edge unreachable" });
  });

  it("on a 502 whose body is not problem+json (a proxy in front of the edge)", async () => {
    // Stands in for a third-party reverse proxy, not for the edge.
    const proxy = createServer((_request, response) => {
      response.writeHead(502, { "content-type": "text/html" }).end("<html>Bad Gateway</html>");
    });
    await new Promise<void>((done) => proxy.listen(0, "127.0.0.1", done));
    try {
      const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const run = await cli(["models", "list", "--url", url]);
      expect(run.code).toBe(6);
      expect(run.stderr).toContain("<html>Bad Gateway</html> (502 http_502)");
    } finally {
      proxy.closeAllConnections();
      await new Promise((done) => proxy.close(done));
    }
  });
});

describe("usage errors exit 2", () => {
  it.each([
    [["modles", "list"]],
    [["models", "list", "--verbose"]],
    [["models", "info"]],
    [["models", "list", "--limit", "0"]],
    [["generate", "demo-lm", "hi", "extra"]],
    [[]],
  ])("modelgate %j", async (argv) => {
    const run = await modelgate(argv);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).not.toBe("");
  });

  it("with --json, stderr holds only a problem object", async () => {
    const run = await modelgate(["models", "list", "--json", "--verbose"]);
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stderr)).toMatchObject({ code: "usage", detail: "unknown option '--verbose'" });
  });

  it("help is not an error, and documents the exit codes", async () => {
    for (const argv of [["--help"], ["models", "--help"], ["help", "generate"]]) {
      const run = await modelgate(argv);
      expect(run.code, argv.join(" ")).toBe(0);
      expect(run.stdout).toContain("Usage: modelgate");
    }
    const help = await modelgate(["--help"]);
    expect(help.stdout).toMatch(/^ {2}7 {2}conflict \(HTTP 409\)/m);
    expect(help.stdout).toMatch(/^ {2}8 {2}refused \(HTTP 422\)/m);
  });
});
