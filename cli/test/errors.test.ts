import { describe, expect, it } from "vitest";
import { ADMIN_KEY, startFakeEdge } from "./support/fake-edge.js";
import { seededModels, seededWorkers } from "./support/fixtures.js";
import { refusedUrl, startHttpServer } from "./support/http-server.js";
import { modelgate } from "./support/run.js";

describe("edge unavailable exits 6", () => {
  it("on connection refused, with the `npm start` hint", async () => {
    const url = await refusedUrl();
    const run = await modelgate(["models", "list"], { env: { MODELGATE_URL: url, MODELGATE_KEY: ADMIN_KEY } });
    expect(run.code).toBe(6);
    expect(run.stderr).toContain(`Cannot reach the edge at ${url}: connection refused.`);
    expect(run.stderr).toContain("hint: is the stack running? try `npm start`");
  });

  it("prints a problem-shaped object with --json", async () => {
    const run = await modelgate(["health", "--json", "--url", await refusedUrl()]);
    expect(run.code).toBe(6);
    expect(JSON.parse(run.stderr)).toMatchObject({ code: "edge_unreachable", title: "Edge unreachable" });
  });

  it("on a 502 whose body is not problem+json (a proxy in front of the edge)", async () => {
    const proxy = await startHttpServer(() => ({
      status: 502,
      body: "<html>Bad Gateway</html>",
      contentType: "text/html",
    }));
    try {
      const run = await modelgate(["models", "list", "--url", proxy.url, "--key", ADMIN_KEY]);
      expect(run.code).toBe(6);
      expect(run.stderr).toContain("<html>Bad Gateway</html> (502 http_502)");
    } finally {
      await proxy.close();
    }
  });
});

describe("other failures", () => {
  it("exits 1 when a 2xx body does not match the shared schema", async () => {
    const odd = await startHttpServer(() => ({ status: 200, body: { models: [{ name: "x" }] } }));
    try {
      const run = await modelgate(["models", "list", "--url", odd.url, "--key", ADMIN_KEY]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("GET /v1/models answered with a body the CLI does not understand (models.0.");
    } finally {
      await odd.close();
    }
  });

  it("exits 4 for a route the edge does not serve, with a hint about --url", async () => {
    const other = await startHttpServer((request) => ({
      status: 404,
      body: {
        type: "about:blank",
        title: "Not found",
        status: 404,
        code: "not_found",
        detail: `No route for GET ${request.path}.`,
      },
      contentType: "application/problem+json",
    }));
    try {
      const run = await modelgate(["workers", "list", "--url", other.url, "--key", ADMIN_KEY]);
      expect(run.code).toBe(4);
      expect(run.stderr).toContain("is --url pointing at a modelgate edge");
    } finally {
      await other.close();
    }
  });
});

describe("usage errors exit 2", () => {
  it.each([
    [["modles", "list"]],
    [["models", "list", "--verbose"]],
    [["models", "info"]],
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

  it("help is not an error", async () => {
    for (const argv of [["--help"], ["models", "--help"], ["help", "generate"]]) {
      const run = await modelgate(argv);
      expect(run.code, argv.join(" ")).toBe(0);
      expect(run.stdout).toContain("Usage: modelgate");
    }
  });
});

describe("workers list", () => {
  it("shows each worker's liveness, load and loaded models", async () => {
    const edge = await startFakeEdge({ models: seededModels(), workers: seededWorkers() });
    try {
      const run = await modelgate(["workers", "list"], { env: { MODELGATE_URL: edge.url, MODELGATE_KEY: ADMIN_KEY } });
      expect(run.code).toBe(0);
      const [header, row] = run.stdout.trimEnd().split("\n");
      expect(header?.split(/\s{2,}/)).toEqual([
        "WORKER",
        "LIVE",
        "AGE",
        "GPUS",
        "UTIL",
        "MEMORY",
        "QUEUE",
        "RUNNING",
        "TOK/S",
        "MODELS",
        "URL",
      ]);
      expect(row?.split(/\s{2,}/)).toEqual([
        "gpu-box-1",
        "yes",
        "1s",
        "1x cuda",
        "37%",
        "8000/81559 MB",
        "1",
        "2",
        "812.5",
        "demo-lm@2",
        "http://10.0.0.7:8790",
      ]);
    } finally {
      await edge.close();
    }
  });
});
