import {
  type CategoryPerformance,
  CategoryPerformanceSchema,
  type ModelsPerCategory,
  ModelsPerCategorySchema,
  type MultiCategory,
  MultiCategorySchema,
  RegisterVersionRequestSchema,
  VersionWithAliasesSchema,
} from "@modelgate/shared";
import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  formatCategoryPerformance,
  formatModelsPerCategory,
  formatMultiCategory,
  resolveTimeFlag,
} from "../src/commands/stats.js";
import { CreatedApiKeySchema } from "../src/edge-client.js";
import { cli, parseJson, stack, uniqueName } from "./support/stack.js";

/**
 * Other test files share the stack and route requests of their own, so this file generates
 * with a model name only it uses (a copy of the seeded demo-lm) and counts that model exactly.
 */
const model = uniqueName("stats-lm");
const selected = `${model}@1`;
let windowStart: string;

async function edge(method: string, path: string, body?: unknown): Promise<unknown> {
  const { edgeUrl, adminKey } = stack();
  const response = await fetch(`${edgeUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${adminKey}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

/** Registers demo-lm's artifact, tokenizer and contract again under this file's own name. */
async function registerDemoCopy(): Promise<void> {
  const demo = VersionWithAliasesSchema.parse(await edge("GET", "/v1/models/demo-lm/versions/production"));
  // Without categories: `auto:<category>` requests of other tests must never land on this copy.
  const fields = Object.keys(RegisterVersionRequestSchema.shape).filter(
    (field) => !["categories", "primary_category", "benchmark_scores"].includes(field),
  );
  const registration = Object.fromEntries(
    Object.entries(demo).filter(([field, value]) => fields.includes(field) && value !== undefined && value !== null),
  );
  await edge("POST", `/v1/models/${model}/versions`, { ...registration, apply_policy: false });
}

/** Events are written after each response (waitUntil), so wait until both have landed. */
async function modelsPerCategoryOnceRecorded(): Promise<ModelsPerCategory> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const result = parseJson(
      await cli(["stats", "models-per-category", "--from", windowStart, "--json"]),
      ModelsPerCategorySchema,
    );
    const explicit = result.categories.find((c) => c.task_category === null);
    if ((explicit?.models.find((m) => m.selected_model === selected)?.usage_count ?? 0) >= 2) return result;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the two generations with ${selected} were not recorded`);
}

beforeAll(async () => {
  windowStart = new Date(Date.now() - 1000).toISOString();
  await registerDemoCopy();
  for (const prompt of ["hello", "again"]) {
    const run = await cli(["generate", selected, prompt, "--max-new-tokens", "4", "--seed", "7", "--json"]);
    if (run.code !== 0) throw new Error(`generate: exit ${run.code}: ${run.stderr}`);
  }
});

describe("stats against the stack, after real generations", () => {
  it("models-per-category --json prints the edge's body with the model's exact count", async () => {
    const result = await modelsPerCategoryOnceRecorded();
    expect(result.window.from).toBe(windowStart);
    const explicit = result.categories.find((c) => c.task_category === null);
    expect(explicit?.models.find((m) => m.selected_model === selected)?.usage_count).toBe(2);
    // The body is printed as the edge sent it: the same JSON the API answers.
    const run = await cli(["stats", "models-per-category", "--from", windowStart, "--to", result.window.to, "--json"]);
    const { edgeUrl, adminKey } = stack();
    const query = new URLSearchParams({ from: windowStart, to: result.window.to });
    const direct = await fetch(`${edgeUrl}/v1/analytics/models-per-category?${query}`, {
      headers: { authorization: `Bearer ${adminKey}` },
    });
    expect(JSON.parse(run.stdout)).toEqual(await direct.json());
  });

  it("models-per-category prints a table with the model's row", async () => {
    await modelsPerCategoryOnceRecorded();
    const run = await cli(["stats", "models-per-category", "--from", windowStart]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Models per category from \S+Z to \S+Z\nCATEGORY\s+MODEL\s+REQUESTS\s+SHARE$/m);
    expect(run.stdout).toMatch(new RegExp(`^(\\(explicit model\\))?\\s+${selected}\\s+2\\s+\\d+\\.\\d%$`, "m"));
  });

  it("category-performance counts the generations as ok, with latencies", async () => {
    await modelsPerCategoryOnceRecorded();
    const result = parseJson(
      await cli(["stats", "category-performance", "--from", windowStart, "--json"]),
      CategoryPerformanceSchema,
    );
    const explicit = result.categories.find((c) => c.task_category === null);
    expect(explicit?.outcomes.ok).toBeGreaterThanOrEqual(2);
    expect(explicit?.latency_ms.p50).toBeGreaterThan(0);
    expect(explicit?.latency_ms.p95).toBeGreaterThanOrEqual(explicit?.latency_ms.p50 ?? 0);
    const table = await cli(["stats", "category-performance", "--from", windowStart]);
    expect(table.stdout).toMatch(
      /^CATEGORY\s+REQUESTS\s+OK\s+CLIENT ERR\s+UPSTREAM ERR\s+NO WORKER\s+SUCCESS\s+P50\s+P95/m,
    );
    expect(table.stdout).toMatch(
      /^\(explicit model\)\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+\.\d%\s+[\d.]+ ms\s+[\d.]+ ms/m,
    );
  });

  it("without an analysis prints all three; with --json an object keyed by analysis", async () => {
    const human = await cli(["stats", "--from", windowStart]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain("Models per category from ");
    expect(human.stdout).toMatch(/No model was selected for more than one category|Models serving more than one/);
    expect(human.stdout).toContain("Performance per category from ");
    const json = parseJson(
      await cli(["stats", "--from", windowStart, "--json"]),
      z.strictObject({
        "models-per-category": ModelsPerCategorySchema,
        "multi-category": MultiCategorySchema,
        "category-performance": CategoryPerformanceSchema,
      }),
    );
    expect(json["models-per-category"].window.from).toBe(windowStart);
  });

  it("an empty window prints a sentence, not an empty table", async () => {
    const window = ["--from", "2020-01-01", "--to", "2020-01-02"];
    const expected = {
      "models-per-category": "No model was selected from 2020-01-01T00:00:00Z to 2020-01-02T00:00:00Z.\n",
      "multi-category":
        "No model was selected for more than one category from 2020-01-01T00:00:00Z to 2020-01-02T00:00:00Z.\n",
      "category-performance": "No routed requests from 2020-01-01T00:00:00Z to 2020-01-02T00:00:00Z.\n",
    };
    for (const [analysis, sentence] of Object.entries(expected)) {
      const run = await cli(["stats", analysis, ...window]);
      expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 0, stdout: sentence });
    }
  });

  it("--from 2h asks for the last two hours", async () => {
    const result = parseJson(await cli(["stats", "multi-category", "--from", "2h", "--json"]), MultiCategorySchema);
    const span = Date.parse(result.window.to) - Date.parse(result.window.from);
    expect(Math.abs(span - 2 * 60 * 60 * 1000)).toBeLessThan(60_000);
  });
});

describe("stats errors and exit codes", () => {
  it("a bad --from or --to is rejected by the edge naming the field (exit 5)", async () => {
    const bad = await cli(["stats", "models-per-category", "--from", "yesterday"]);
    expect(bad.code).toBe(5);
    expect(bad.stderr).toMatch(/^\s+from: must be an ISO 8601 timestamp/m);
    const backwards = await cli(["stats", "--from", "2025-06-02", "--to", "2025-06-01"]);
    expect(backwards.code).toBe(5);
    expect(backwards.stderr).toMatch(/^\s+to: must be later than from/m);
    const tooLong = await cli([
      "stats",
      "category-performance",
      "--from",
      "2025-01-01",
      "--to",
      "2025-03-01",
      "--json",
    ]);
    expect(tooLong.code).toBe(5);
    expect(JSON.parse(tooLong.stderr)).toMatchObject({ status: 400, errors: [{ field: "from" }] });
  });

  it("an unknown analysis is a usage error (exit 2)", async () => {
    const run = await cli(["stats", "models"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("models-per-category, multi-category, category-performance");
  });

  it("needs the admin scope (exit 3)", async () => {
    const reader = parseJson(
      await cli(["keys", "create", uniqueName("stats-reader"), "--scopes", "models:read", "--json"]),
      CreatedApiKeySchema,
    );
    const run = await cli(["stats", "category-performance"], { env: { MODELGATE_KEY: reader.key } });
    expect(run.code).toBe(3);
  });
});

describe("stats formatting", () => {
  const window = { from: "2025-06-01T00:00:00.000Z", to: "2025-06-02T00:00:00.000Z" };

  it("multi-category: a total row per model, then its categories", () => {
    const result: MultiCategory = {
      window,
      models: [
        {
          selected_model: "general@1",
          categories_served: 2,
          requests: 3,
          primary_requests: 1,
          secondary_requests: 2,
          avg_confidence: 0.7666666,
          categories: [
            { task_category: "code", requests: 2, primary_requests: 0, secondary_requests: 2, avg_confidence: 0.7 },
            { task_category: "general", requests: 1, primary_requests: 1, secondary_requests: 0, avg_confidence: 0.9 },
          ],
        },
      ],
    };
    expect(formatMultiCategory(result)).toBe(
      [
        "Models serving more than one category from 2025-06-01T00:00:00Z to 2025-06-02T00:00:00Z",
        "MODEL      CATEGORY        REQUESTS  PRIMARY  SECONDARY  AVG CONFIDENCE",
        "general@1  (2 categories)  3         1        2          0.767",
        "           code            2         0        2          0.700",
        "           general         1         1        0          0.900",
      ].join("\n"),
    );
  });

  it("models-per-category and category-performance show missing values as -", () => {
    const perCategory: ModelsPerCategory = {
      window,
      categories: [
        {
          task_category: "code",
          total: 4,
          models: [
            { selected_model: "coder@2", usage_count: 3, share: 0.75 },
            { selected_model: "general@1", usage_count: 1, share: 0.25 },
          ],
        },
      ],
    };
    expect(formatModelsPerCategory(perCategory).split("\n").slice(1)).toEqual([
      "CATEGORY  MODEL      REQUESTS  SHARE",
      "code      coder@2    3         75.0%",
      "          general@1  1         25.0%",
    ]);
    const performance: CategoryPerformance = {
      window,
      categories: [
        {
          task_category: "math",
          requests: 1,
          outcomes: { ok: 0, client_error: 0, upstream_error: 0, no_worker: 1 },
          success_rate: 0,
          latency_ms: { p50: null, p95: null },
          avg_final_score: null,
          avg_selection_duration_ms: 0.5,
          avg_tokens: null,
        },
      ],
    };
    expect(formatCategoryPerformance(performance).split("\n")[2]).toMatch(
      /^math\s+1\s+0\s+0\s+0\s+1\s+0\.0%\s+-\s+-\s+-\s+0\.50 ms\s+-$/,
    );
  });

  it("--from/--to durations count back from now; other values pass through", () => {
    const now = Date.parse("2025-06-02T00:00:00Z");
    expect(resolveTimeFlag("7d", "--from", now)).toBe("2025-05-26T00:00:00.000Z");
    expect(resolveTimeFlag("90m", "--to", now)).toBe("2025-06-01T22:30:00.000Z");
    expect(resolveTimeFlag("2025-06-01", "--from", now)).toBe("2025-06-01");
    expect(resolveTimeFlag(undefined, "--from", now)).toBeUndefined();
    expect(() => resolveTimeFlag(" ", "--from", now)).toThrow("--from is empty");
  });
});
