/**
 * `modelgate eval list` against the shared test stack: a queued evaluation appears, newest first,
 * in the table and as JSON, and a status filter keeps only the jobs in that state.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { EvaluationJobSchema } from "@modelgate/shared";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { CreatedApiKeySchema } from "../src/edge-client.js";
import { EXIT_CODES } from "../src/exit-codes.js";
import { cli, parseJson, stack, tempDir, uniqueName } from "./support/stack.js";

const JobListSchema = z.array(EvaluationJobSchema);

async function queueEvaluation(name: string): Promise<string> {
  const dataset = join(await tempDir(), "eval.jsonl");
  await writeFile(
    dataset,
    `${JSON.stringify({ prompt: "one two", expected: "three" })}\n${JSON.stringify({ prompt: "a b" })}\n`,
  );
  const queued = parseJson(
    await cli([
      "eval",
      "run",
      dataset,
      "--target",
      "demo-lm",
      "--max-new-tokens",
      "2",
      "--name",
      name,
      "--no-wait",
      "--json",
    ]),
    EvaluationJobSchema,
  );
  return queued.id;
}

describe("eval list", () => {
  it("lists a queued evaluation, newest first, as a table and as JSON", async () => {
    const older = await queueEvaluation(uniqueName("older"));
    const name = uniqueName("listed");
    const id = await queueEvaluation(name);
    const jobs = parseJson(await cli(["eval", "list", "--json"]), JobListSchema);
    const ids = jobs.map((job) => job.id);
    expect(ids).toContain(id);
    expect(ids.indexOf(id)).toBeLessThan(ids.indexOf(older));
    expect(jobs.find((job) => job.id === id)).toMatchObject({ name, lines: 2 });

    const table = await cli(["eval", "list"]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ID\s+NAME\s+STATUS\s+TARGETS\s+LINES\s+PROGRESS\s+CREATED/m);
    expect(table.stdout).toMatch(new RegExp(`^${id}\\s+${name}\\s+\\w+\\s+demo-lm@\\d+\\s+2\\s+\\d+/\\d+`, "m"));

    const limited = parseJson(await cli(["eval", "list", "--limit", "1", "--json"]), JobListSchema);
    expect(limited).toHaveLength(1);
  });

  it("keeps only the jobs in the state --status names, and refuses an unknown state or limit", async () => {
    // Two jobs, one of them cancelled through the edge: the filter must tell them apart.
    const kept = await queueEvaluation(uniqueName("kept"));
    const cancelledId = await queueEvaluation(uniqueName("cancelled"));
    const { edgeUrl, adminKey } = stack();
    const cancel = await fetch(`${edgeUrl}/v1/evaluations/${cancelledId}/cancel`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminKey}` },
    });
    expect(cancel.status).toBe(200);
    const cancelled = parseJson(
      await cli(["eval", "list", "--status", "cancelled", "--limit", "200", "--json"]),
      JobListSchema,
    );
    expect(cancelled.map((job) => job.id)).toContain(cancelledId);
    expect(cancelled.map((job) => job.id)).not.toContain(kept);
    expect(cancelled.every((job) => job.status === "cancelled")).toBe(true);

    const unknown = await cli(["eval", "list", "--status", "sideways"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("queued");
    expect((await cli(["eval", "list", "--limit", "0"])).code).toBe(2);
  });

  it("is refused to a key without models:read", async () => {
    const created = parseJson(
      await cli(["keys", "create", uniqueName("infer-only"), "--scopes", "infer", "--json"]),
      CreatedApiKeySchema,
    );
    const refused = await cli(["eval", "list"], { env: { MODELGATE_KEY: created.key } });
    expect(refused.code).toBe(EXIT_CODES.auth);
    expect(refused.stderr).toContain("models:read");
    expect(refused.stdout).toBe("");
  });
});
