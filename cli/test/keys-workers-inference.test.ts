import { GenerateResponseSchema, PredictResponseSchema, WorkerListEntrySchema } from "@modelgate/shared";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ApiKeyViewSchema, CreatedApiKeySchema } from "../src/edge-client.js";
import { cli, parseJson, stack } from "./support/stack.js";

describe("keys create, list, revoke", () => {
  it("creates a scoped key that is refused outside its scope and stops working when revoked", async () => {
    const created = parseJson(
      await cli(["keys", "create", "cli-reader", "--scopes", "models:read", "--rpm", "600", "--json"]),
      CreatedApiKeySchema,
    );
    expect(created.scopes).toEqual(["models:read"]);
    const reader = { env: { MODELGATE_KEY: created.key } };
    expect((await cli(["models", "list", "--name", "spirals"], reader)).code).toBe(0);
    const forbidden = await cli(["keys", "list"], reader);
    expect(forbidden.code).toBe(3);
    expect(forbidden.stderr).toContain("this key lacks the scope");

    const listed = await cli(["keys", "list"]);
    expect(listed.stdout).toMatch(
      new RegExp(`^${created.id}\\s+cli-reader\\s+${created.key.slice(0, 12)}…\\s+models:read\\s+active\\s+600`, "m"),
    );
    expect(listed.stdout).not.toContain(created.key);
    const json = parseJson(await cli(["keys", "list", "--json"]), z.object({ keys: z.array(ApiKeyViewSchema) }));
    expect(json.keys.some((key) => key.id === created.id)).toBe(true);

    const revoked = await cli(["keys", "revoke", created.id]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain(`revoked ${created.id} (cli-reader)`);
    expect((await cli(["models", "list"], reader)).code).toBe(3);
  });

  it("refuses an unknown scope before sending anything", async () => {
    const run = await cli(["keys", "create", "x", "--scopes", "models:read,root"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown scope "root"');
  });
});

describe("workers list and health", () => {
  it("shows the stack's worker live, with the edge's body under --json", async () => {
    const run = await cli(["workers", "list"]);
    expect(run.code).toBe(0);
    const [header, ...rows] = run.stdout.trimEnd().split("\n");
    // Other files' stand-in workers may be listed beside it (workers-fleet.test.ts).
    const row = rows.find((line) => line.startsWith(`${stack().workerId} `));
    expect(header?.split(/\s{2,}/)).toEqual([
      "WORKER",
      "LIVE",
      "STATE",
      "IDENTITY",
      "LABELS",
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
    // The stack's worker enrolled itself (no labels) and serves.
    expect(row?.split(/\s{2,}/).slice(0, 5)).toEqual([stack().workerId, "yes", "serving", "enrolled", "-"]);
    const json = parseJson(
      await cli(["workers", "list", "--json"]),
      z.object({ workers: z.array(WorkerListEntrySchema) }),
    );
    expect(json.workers.map((w) => w.heartbeat.worker_id)).toContain(stack().workerId);
  });

  it("health needs no key", async () => {
    const run = await cli(["health"], { env: { MODELGATE_KEY: undefined } });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`ok at ${stack().edgeUrl}`);
  });
});

describe("generate and predict", () => {
  it("generates with demo-lm: text on stdout, the route on stderr", async () => {
    const run = await cli(["generate", "demo-lm", "hello", "--max-new-tokens", "4", "--temperature", "0"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`demo-lm@1 on ${stack().workerId}`);
    const json = parseJson(
      await cli(["generate", "demo-lm@production", "hi", "--max-new-tokens", "2", "--json"]),
      GenerateResponseSchema,
    );
    expect(json.tokens_generated).toBe(2);
  });

  it("predicts with spirals, and checks --data before sending", async () => {
    const run = await cli(["predict", "spirals", "--data", "[[0.5,0.3],[-0.2,0.1]]"]);
    expect(run.code).toBe(0);
    expect(run.stdout.trimEnd().split("\n")).toHaveLength(3);
    const json = parseJson(await cli(["predict", "spirals", "--data", "[[0.5,0.3]]", "--json"]), PredictResponseSchema);
    expect(json.predictions).toHaveLength(1);
    const bad = await cli(["predict", "spirals", "--data", '[[0.5,"x"]]']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--data is not a non-empty matrix of numbers (at [0][1]");
    expect((await cli(["predict", "no-such-model", "--data", "[[1,2]]"])).code).toBe(4);
  });
});
