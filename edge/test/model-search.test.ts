import type { RegisterVersionRequest, VersionSearchPage } from "@modelgate/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, call, expectProblem, resetEdge, tensorRegistration, WORKER_TOKEN } from "./support/requests.js";

afterAll(() => resetEdge());

async function search(query: string): Promise<VersionSearchPage> {
  const response = await call("GET", `/v1/models${query}`, { key: ADMIN });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`search ${query}: ${response.status} ${text}`);
  return JSON.parse(text) as VersionSearchPage;
}

const refs = (page: VersionSearchPage) => page.items.map((v) => `${v.name}@${v.version}`);

/** Twelve versions over three models with varied roles, tags, stages and metrics. */
const catalogue: [string, Partial<RegisterVersionRequest>, string?][] = [
  ["asm-coder", { role: "asm", tags: ["rom"], metrics: { val_acc: 0.91 }, deployed_backends: ["ollama"] }],
  ["asm-coder", { role: "asm", tags: ["rom", "diverse-v2"], metrics: { val_acc: 0.97 } }, "Production"],
  ["asm-coder", { role: "asm", metrics: { val_acc: 0.85 }, locations: { mac: "/m" } }],
  ["asm-coder", { role: "asm", metrics: {} }],
  ["chat", { role: "general", tags: ["diverse-v2"], metrics: { val_acc: 0.75 }, notes: "Tuned for 65816 questions" }],
  ["chat", { role: "general", metrics: { val_acc: 0.99 }, locations: { windows: "D:/w" } }, "Production"],
  ["chat", { role: "general", metrics: { val_acc: 0.72 }, deployed_backends: ["ollama", "llama.cpp"] }],
  ["chat", { role: "general", display_name: "Chat: Nayru", metrics: {} }],
  ["vision", { role: "vision", metrics: { val_acc: 0.8 }, benchmark_scores: { mmlu: 61 } }],
  ["vision", { role: "vision", metrics: { val_acc: 0.8 }, benchmark_scores: { mmlu: 70 } }],
  ["vision", { role: "vision", metrics: { val_acc: 0.95 }, categories: ["vision"] }, "Archived"],
  ["vision", { role: "vision", metrics: { val_acc: 0.7 } }],
];

// Registered once for the whole file: every test but one only reads, and that one (a tag on
// vision@4) changes nothing another test asserts on (no other test filters by that tag, and
// edits leave created_at, stages and metrics alone). Registering the twelve versions before each
// of the 16 tests was most of this file's time.
beforeAll(async () => {
  for (const [name, overrides, stage] of catalogue) {
    const response = await call("POST", `/v1/models/${name}/versions`, {
      key: ADMIN,
      body: tensorRegistration(overrides),
    });
    const { version } = (await response.json()) as { version: number };
    if (stage) {
      await (
        await call("POST", `/v1/models/${name}/versions/${version}/stage`, { key: ADMIN, body: { stage } })
      ).body?.cancel();
    }
  }
});

describe("GET /v1/models (search)", () => {
  it("filters by role and stage (policy-staged versions included)", async () => {
    expect(refs(await search("?role=asm&stage=Production"))).toEqual(["asm-coder@2"]);
    // val_acc ≥ 0.90 was auto-staged on registration by the default policy.
    expect(refs(await search("?stage=Staging&sort=name")).sort()).toEqual(["asm-coder@1"]);
    const vision = await search("?role=vision&sort=version&order=asc");
    expect(refs(vision)).toEqual(["vision@1", "vision@2", "vision@3", "vision@4"]);
    expect(vision.total).toBe(4);
  });

  it("filters by tag, backend, location, category and free text", async () => {
    expect(refs(await search("?tag=diverse-v2&sort=name")).sort()).toEqual(["asm-coder@2", "chat@1"]);
    expect(refs(await search("?backend=ollama")).sort()).toEqual(["asm-coder@1", "chat@3"]);
    expect(refs(await search("?location=windows"))).toEqual(["chat@2"]);
    expect(refs(await search("?category=vision"))).toEqual(["vision@3"]);
    expect(refs(await search("?q=65816"))).toEqual(["chat@1"]);
    expect(refs(await search("?q=NAYRU"))).toEqual(["chat@4"]);
    expect(refs(await search("?q=100%25"))).toEqual([]);
    expect((await search("?role=asm&tag=rom")).total).toBe(2);
  });

  it("sorts by a metric, best first, versions without it last", async () => {
    const page = await search("?sort=metric:val_acc&limit=20");
    expect(refs(page).slice(0, 3)).toEqual(["chat@2", "asm-coder@2", "vision@3"]);
    expect(refs(page).slice(-2)).toEqual(["asm-coder@4", "chat@4"]);
    const ascending = await search("?sort=metric:val_acc&order=asc&limit=3");
    expect(refs(ascending)).toEqual(["vision@4", "chat@3", "chat@1"]);
    expect(refs(await search("?sort=benchmark:mmlu&limit=2"))).toEqual(["vision@2", "vision@1"]);
  });

  it("pages with a cursor through every match exactly once, in order", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: VersionSearchPage = await search(
        `?sort=metric:val_acc&limit=5${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
      );
      expect(page.total).toBe(12);
      seen.push(...refs(page));
      cursor = page.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(refs(await search("?sort=metric:val_acc&limit=100")));
    expect(new Set(seen).size).toBe(12);
  });

  it("sees a metadata edit at once", async () => {
    await (
      await call("PATCH", "/v1/models/vision/versions/4", { key: ADMIN, body: { tags: ["fresh"] } })
    ).body?.cancel();
    expect(refs(await search("?tag=fresh"))).toEqual(["vision@4"]);
  });

  it.each([
    ["an unknown parameter", "?colour=red", "colour"],
    ["an unknown stage", "?stage=Live", "stage"],
    ["a zero limit", "?limit=0", "limit"],
    ["a huge limit", "?limit=5000", "limit"],
    ["an unknown sort", "?sort=size", "sort"],
    ["a forged cursor", "?cursor=not-a-cursor", "cursor"],
  ])("refuses %s with a 400 naming the field", async (_what, query, field) => {
    const problem = await expectProblem(await call("GET", `/v1/models${query}`, { key: ADMIN }), 400);
    expect(problem.errors?.map((e) => e.field)).toContain(field);
  });

  it("refuses a cursor reused with other filters", async () => {
    const first = await search("?role=asm&limit=1");
    expect(first.next_cursor).not.toBeNull();
    const problem = await expectProblem(
      await call("GET", `/v1/models?role=chat&limit=1&cursor=${first.next_cursor}`, { key: ADMIN }),
      400,
    );
    expect(problem.errors?.map((e) => e.field)).toEqual(["cursor"]);
  });

  it("needs models:read", async () => {
    await expectProblem(await call("GET", "/v1/models"), 401);
    await expectProblem(await call("GET", "/v1/models", { key: WORKER_TOKEN }), 403);
  });
});

describe("GET /v1/models/:name/best", () => {
  it("returns the top version by a metric, optionally within a stage or ascending", async () => {
    const best = (await (await call("GET", "/v1/models/vision/best?metric=val_acc", { key: ADMIN })).json()) as {
      value: number;
      version: { version: number };
    };
    expect(best).toMatchObject({ metric: "val_acc", value: 0.95, version: { version: 3 } });
    const worst = (await (await call("GET", "/v1/models/vision/best?order=asc", { key: ADMIN })).json()) as {
      version: { version: number };
    };
    expect(worst.version.version).toBe(4);
    const inStage = (await (await call("GET", "/v1/models/vision/best?stage=None", { key: ADMIN })).json()) as {
      version: { version: number };
    };
    // Two versions tie on 0.8: the newer one wins.
    expect(inStage.version.version).toBe(2);
  });

  it("answers 404 when no version has the metric and 400 for a bad metric name", async () => {
    await expectProblem(await call("GET", "/v1/models/vision/best?metric=bleu", { key: ADMIN }), 404);
    await expectProblem(await call("GET", "/v1/models/nope/best", { key: ADMIN }), 404);
    const bad = await expectProblem(await call("GET", "/v1/models/vision/best?metric=a%20b", { key: ADMIN }), 400);
    expect(bad.errors?.map((e) => e.field)).toContain("metric");
    await expectProblem(await call("GET", "/v1/models/vision/best", { key: WORKER_TOKEN }), 403);
  });
});

describe("POST /v1/admin/registry/reindex", () => {
  it("rebuilds the index from R2 for admins only", async () => {
    await expectProblem(await call("POST", "/v1/admin/registry/reindex", { key: WORKER_TOKEN }), 403);
    const response = await call("POST", "/v1/admin/registry/reindex", { key: ADMIN });
    expect(await response.json()).toEqual({ models: 3, versions: 12 });
    expect((await search("?limit=1")).total).toBe(12);
  });
});
