import { env } from "cloudflare:test";
import type { HistoryEvent, ModelVersion, ModelView } from "@modelgate/shared";
import { afterEach, describe, expect, it } from "vitest";
import {
  ADMIN,
  call,
  expectProblem,
  putTestArtifact,
  registerAndPromote,
  resetEdge,
  tensorRegistration,
  WORKER_TOKEN,
} from "./support/requests.js";

afterEach(() => resetEdge());

async function json<T>(response: Response, status = 200): Promise<T> {
  const text = await response.text();
  if (response.status !== status) throw new Error(`expected ${status}, got ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

const history = async (name: string) =>
  await json<{ events: HistoryEvent[]; deleted_at: string | null }>(
    await call("GET", `/v1/models/${name}/history`, { key: ADMIN }),
  );

const register = async (name: string, overrides: Parameters<typeof tensorRegistration>[0] = {}) =>
  json<ModelVersion & { policy: { outcome: string } }>(
    await call("POST", `/v1/models/${name}/versions`, { key: ADMIN, body: tensorRegistration(overrides) }),
    201,
  );

describe("seed 003 fields", () => {
  it("keeps every provenance and metadata field of a registration", async () => {
    const fields = {
      display_name: "Oracle: Farore Secrets",
      base_model: "Qwen/Qwen2.5-Coder-1.5B",
      role: "general",
      group: "rom-tooling",
      training_date: "2025-12-22T09:48:00",
      training_duration_minutes: 75,
      dataset: {
        name: "oracle_farore_improved",
        path: "D:/hafs_training/datasets/oracle",
        train_samples: 320,
        val_samples: 40,
        test_samples: 40,
        quality: { acceptance_rate: 0.867, avg_diversity: 0.45 },
      },
      metrics: { val_acc: 0.95, final_loss: 0.8245, best_loss: 0.7891 },
      perplexity: 2.28,
      lora_config: { r: 16, lora_alpha: 16, target_modules: ["q_proj", "v_proj"], lora_dropout: 0.05 },
      hyperparameters: { learning_rate: 0.0002, batch_size: 2, scheduler: "cosine" },
      hardware: "windows-rtx-5060",
      device: "cuda",
      formats: ["onnx", "gguf"],
      locations: { windows: "D:/models/oracle", mac: "/Users/me/models/oracle" },
      primary_location: "windows",
      deployed_backends: ["ollama"],
      git_commit: "8a14bc8",
      notes: "First production model with improved diverse dataset",
      tags: ["production", "diverse-v2"],
      categories: ["code", "general"],
      primary_category: "code",
      benchmark_scores: { humaneval: 41.5 },
    };
    const created = await register("oracle", fields);
    const read = await json<ModelVersion>(await call("GET", "/v1/models/oracle/versions/1", { key: ADMIN }));
    expect(read).toMatchObject(fields);
    expect(created).toMatchObject(fields);
  });

  it.each([
    [
      "primary_location not among locations",
      { locations: { mac: "/x" }, primary_location: "windows" },
      "primary_location",
    ],
    ["primary_category not among categories", { categories: ["code"], primary_category: "chat" }, "primary_category"],
    ["a bad git commit", { git_commit: "not-hex" }, "git_commit"],
    [
      "an unknown lora field",
      { lora_config: { r: 8, lora_alpha: 8, target_modules: [], lora_dropout: 0, rank: 3 } },
      "lora_config",
    ],
    ["repeated tags", { tags: ["a", "a"] }, "tags"],
    ["an upper-case role", { role: "General" }, "role"],
    ["oversized notes", { notes: "n".repeat(4001) }, "notes"],
  ])("refuses %s and writes nothing", async (_what, overrides, field) => {
    const response = await call("POST", "/v1/models/bad/versions", {
      key: ADMIN,
      body: { ...tensorRegistration(), ...overrides },
    });
    const problem = await expectProblem(response, 400);
    expect(problem.errors?.some((e) => e.field.startsWith(field))).toBe(true);
    expect(await env.REGISTRY.head("registry/models/bad.json")).toBeNull();
  });
});

describe("artifacts must exist and match", () => {
  it("refuses a version whose artifact is not in object storage", async () => {
    const missing = { ...tensorRegistration().artifact, uri: `s3://${env.MODELGATE_S3_BUCKET}/nowhere.onnx` };
    const problem = await expectProblem(
      await call("POST", "/v1/models/ghost/versions", { key: ADMIN, body: tensorRegistration({ artifact: missing }) }),
      422,
    );
    expect(problem.code).toBe("artifact_missing");
    expect(await env.REGISTRY.head("registry/models/ghost.json")).toBeNull();
  });

  it("refuses a version whose declared sha256 does not match the stored bytes", async () => {
    const real = await putTestArtifact("weights for the mismatch test");
    const lying = { ...real, sha256: "0".repeat(64) };
    const problem = await expectProblem(
      await call("POST", "/v1/models/liar/versions", { key: ADMIN, body: tensorRegistration({ artifact: lying }) }),
      422,
    );
    expect(problem.code).toBe("artifact_mismatch");
    expect(await env.REGISTRY.head("registry/models/liar.json")).toBeNull();
  });
});

describe("versions are immutable; metadata edits are revisions", () => {
  it("PATCH creates a new metadata revision and keeps the old one readable", async () => {
    await register("tagged", { tags: ["first"], notes: "v1 notes", role: "asm" });
    const edited = await json<ModelVersion>(
      await call("PATCH", "/v1/models/tagged/versions/1", {
        key: ADMIN,
        body: { tags: ["first", "reviewed"], notes: null, reason: "review done" },
      }),
    );
    expect(edited).toMatchObject({ metadata_revision: 2, tags: ["first", "reviewed"], role: "asm" });
    expect(edited.notes).toBeUndefined();
    const current = await json<{ revision: number; metadata: Record<string, unknown> }>(
      await call("GET", "/v1/models/tagged/versions/1/metadata", { key: ADMIN }),
    );
    expect(current).toMatchObject({ revision: 2, metadata: { tags: ["first", "reviewed"] } });
    const original = await json<{ revision: number; metadata: Record<string, unknown> }>(
      await call("GET", "/v1/models/tagged/versions/1/metadata?revision=1", { key: ADMIN }),
    );
    expect(original.metadata).toMatchObject({ tags: ["first"], notes: "v1 notes" });
    const events = (await history("tagged")).events.filter((e) => e.action === "metadata_updated");
    expect(events).toEqual([
      expect.objectContaining({ version: 1, metadata_revision: 2, reason: "review done", by: "admin" }),
    ]);
  });

  it("applies a PATCH conditional on the revision read, and refuses a stale one with 409 naming the field", async () => {
    await register("raced", { tags: ["first"] });
    // Two clients read revision 1; the first writes, the second's write would overwrite it.
    const first = await call("PATCH", "/v1/models/raced/versions/1", {
      key: ADMIN,
      body: { tags: ["first", "by-a"], expected_metadata_revision: 1 },
    });
    expect((await json<ModelVersion>(first)).metadata_revision).toBe(2);
    const stale = await expectProblem(
      await call("PATCH", "/v1/models/raced/versions/1", {
        key: ADMIN,
        body: { tags: ["first", "by-b"], expected_metadata_revision: 1 },
      }),
      409,
    );
    expect(stale.detail).toContain("revision 2, not 1");
    expect(JSON.stringify(stale)).toContain("expected_metadata_revision");
    const kept = await json<ModelVersion>(await call("GET", "/v1/models/raced/versions/1", { key: ADMIN }));
    expect(kept).toMatchObject({ metadata_revision: 2, tags: ["first", "by-a"] });
    // Read again, written again: it applies, and the history names only the field it changed.
    const retried = await call("PATCH", "/v1/models/raced/versions/1", {
      key: ADMIN,
      body: { tags: ["first", "by-a", "by-b"], expected_metadata_revision: 2 },
    });
    expect((await json<ModelVersion>(retried)).metadata_revision).toBe(3);
    const events = (await history("raced")).events.filter((e) => e.action === "metadata_updated");
    expect(events.map((e) => e.reason)).toEqual(["changed tags", "changed tags"]);
    // The precondition alone changes nothing, so it is not a PATCH.
    await expectProblem(
      await call("PATCH", "/v1/models/raced/versions/1", { key: ADMIN, body: { expected_metadata_revision: 3 } }),
      400,
    );
    await expectProblem(
      await call("PATCH", "/v1/models/raced/versions/1", {
        key: ADMIN,
        body: { tags: [], expected_metadata_revision: 0 },
      }),
      400,
    );
  });

  it.each([
    ["the artifact", { artifact: tensorRegistration().artifact }, "artifact"],
    ["the metrics", { metrics: { val_acc: 1 } }, "metrics"],
    ["the io contract", { io: tensorRegistration().io }, "io"],
    ["the stage", { stage: "Production" }, "stage"],
  ])("refuses to change %s through PATCH", async (_what, body, field) => {
    await register("fixed");
    const problem = await expectProblem(await call("PATCH", "/v1/models/fixed/versions/1", { key: ADMIN, body }), 400);
    expect(JSON.stringify(problem)).toContain(field);
    const version = await json<ModelVersion>(await call("GET", "/v1/models/fixed/versions/1", { key: ADMIN }));
    expect(version.metadata_revision).toBe(1);
  });

  it("refuses an empty PATCH, a PATCH of a missing version and one without the write scope", async () => {
    await register("fixed");
    await expectProblem(await call("PATCH", "/v1/models/fixed/versions/1", { key: ADMIN, body: {} }), 400);
    await expectProblem(await call("PATCH", "/v1/models/fixed/versions/7", { key: ADMIN, body: { tags: [] } }), 404);
    await expectProblem(await call("PATCH", "/v1/models/fixed/versions/1", { body: { tags: [] } }), 401);
    await expectProblem(
      await call("PATCH", "/v1/models/fixed/versions/1", { key: WORKER_TOKEN, body: { tags: [] } }),
      403,
    );
  });

  it("stores each registration once: the immutable object cannot be overwritten", async () => {
    await register("frozen");
    const key = "registry/versions/frozen/1.json";
    const stored = await env.REGISTRY.get(key);
    expect(stored).not.toBeNull();
    const etag = stored?.etag;
    await stored?.body.cancel();
    const overwrite = await env.REGISTRY.put(key, "{}", { onlyIf: new Headers({ "if-none-match": "*" }) });
    expect(overwrite).toBeNull();
    expect((await env.REGISTRY.head(key))?.etag).toBe(etag);
  });
});

describe("stages, aliases and history", () => {
  it("resolves free aliases and records who moved them", async () => {
    await register("champ");
    await register("champ");
    const set = await json<{ version: number }>(
      await call("PUT", "/v1/models/champ/aliases/champion", { key: ADMIN, body: { version: 2, reason: "won eval" } }),
    );
    expect(set.version).toBe(2);
    const byAlias = await json<ModelVersion & { aliases: string[] }>(
      await call("GET", "/v1/models/champ/versions/champion", { key: ADMIN }),
    );
    expect(byAlias).toMatchObject({ version: 2, aliases: ["champion"] });
    await json(await call("PUT", "/v1/models/champ/aliases/champion", { key: ADMIN, body: { version: 1 } }));
    await json(await call("DELETE", "/v1/models/champ/aliases/champion?reason=retired", { key: ADMIN }));
    await expectProblem(await call("GET", "/v1/models/champ/versions/champion", { key: ADMIN }), 404);
    const aliasEvents = (await history("champ")).events.filter((e) => e.alias === "champion");
    expect(aliasEvents.map((e) => [e.action, e.from, e.to])).toEqual([
      ["alias_set", null, "2"],
      ["alias_set", "2", "1"],
      ["alias_removed", "1", null],
    ]);
    expect(aliasEvents[0]?.reason).toBe("won eval");
  });

  it.each([["production"], ["latest"], ["Bad"], ["1"]])("refuses the reserved or invalid alias %s", async (alias) => {
    await register("champ");
    await expectProblem(
      await call("PUT", `/v1/models/champ/aliases/${alias}`, { key: ADMIN, body: { version: 1 } }),
      400,
    );
  });

  it("refuses an alias to a missing version and an unknown stage name", async () => {
    await register("champ");
    await expectProblem(await call("PUT", "/v1/models/champ/aliases/best", { key: ADMIN, body: { version: 9 } }), 404);
    const problem = await expectProblem(
      await call("POST", "/v1/models/champ/versions/1/stage", { key: ADMIN, body: { stage: "production" } }),
      400,
    );
    expect(problem.errors?.map((e) => e.field)).toContain("stage");
  });

  it("keeps a full history: register, stages, archive on promotion — with key ids", async () => {
    const created = await json<{ id: string; key: string }>(
      await call("POST", "/v1/keys", { key: ADMIN, body: { name: "ci", scopes: ["models:write", "models:read"] } }),
      201,
    );
    await call("POST", "/v1/models/lm/versions", { key: created.key, body: tensorRegistration({ metrics: {} }) });
    await call("POST", "/v1/models/lm/versions", { key: created.key, body: tensorRegistration({ metrics: {} }) });
    await call("POST", "/v1/models/lm/versions/1/stage", {
      key: created.key,
      body: { stage: "Production", reason: "first release" },
    });
    await call("POST", "/v1/models/lm/versions/2/stage", { key: ADMIN, body: { stage: "Production" } });
    const { events } = await history("lm");
    expect(events.map((e) => [e.seq, e.action, e.version, e.from, e.to, e.by])).toEqual([
      [1, "registered", 1, null, "None", created.id],
      [2, "registered", 2, null, "None", created.id],
      [3, "stage_changed", 1, "None", "Production", created.id],
      [4, "stage_changed", 2, "None", "Production", "admin"],
      [5, "stage_changed", 1, "Production", "Archived", "admin"],
    ]);
    expect(events[2]?.reason).toBe("first release");
    for (const event of events) expect(Date.parse(event.at)).not.toBeNaN();
  });

  it("needs models:read for history and answers 404 for a model never registered", async () => {
    await register("lm");
    await expectProblem(await call("GET", "/v1/models/lm/history"), 401);
    await expectProblem(await call("GET", "/v1/models/lm/history", { key: WORKER_TOKEN }), 403);
    await expectProblem(await call("GET", "/v1/models/never/history", { key: ADMIN }), 404);
  });
});

describe("registration policy (seed 004 defaults)", () => {
  it("refuses below val_acc 0.70, registers between, stages at 0.90 and above", async () => {
    const refused = await expectProblem(
      await call("POST", "/v1/models/trained/versions", {
        key: ADMIN,
        body: tensorRegistration({ metrics: { val_acc: 0.65 } }),
      }),
      422,
    );
    expect(refused).toMatchObject({ code: "policy_rejected" });
    expect(refused.errors?.map((e) => e.field)).toEqual(["metrics.val_acc"]);
    expect(await env.REGISTRY.head("registry/models/trained.json")).toBeNull();
    expect((await register("trained", { metrics: { val_acc: 0.8 } })).stage).toBe("None");
    const staged = await register("trained", { metrics: { val_acc: 0.93 } });
    expect(staged).toMatchObject({ stage: "Staging", version: 2, policy: { outcome: "staged" } });
    expect((await register("trained", { metrics: { val_acc: 0.5 }, apply_policy: false })).stage).toBe("None");
  });

  it("follows a per-model policy on another metric, lower-is-better", async () => {
    await json(
      await call("PUT", "/v1/models/lossy/policy", {
        key: ADMIN,
        body: { policy: { metric: "final_loss", register_min: 1.0, staging_min: 0.5, higher_is_better: false } },
      }),
    );
    await expectProblem(
      await call("POST", "/v1/models/lossy/versions", {
        key: ADMIN,
        body: tensorRegistration({ metrics: { final_loss: 1.2 } }),
      }),
      422,
    );
    expect((await register("lossy", { metrics: { final_loss: 0.4 } })).stage).toBe("Staging");
    const events = (await history("lossy")).events.map((e) => e.action);
    expect(events).toEqual(["policy_updated", "registered", "stage_changed"]);
  });

  it("refuses an inconsistent policy", async () => {
    const problem = await expectProblem(
      await call("PUT", "/v1/models/lossy/policy", {
        key: ADMIN,
        body: { policy: { register_min: 0.9, staging_min: 0.7 } },
      }),
      400,
    );
    expect(problem.errors?.map((e) => e.field)).toContain("policy.staging_min");
  });
});

describe("delete", () => {
  it("removes a version, keeps its artifact, records it, never reuses the number", async () => {
    const artifact = await putTestArtifact("delete-me weights");
    await register("old", { artifact });
    await register("old");
    await json(await call("PUT", "/v1/models/old/aliases/pinned", { key: ADMIN, body: { version: 1 } }));
    const deleted = await json<{ removed: number[]; purged: string[] }>(
      await call("DELETE", "/v1/models/old/versions/1?reason=superseded", { key: ADMIN }),
    );
    expect(deleted).toEqual({ name: "old", removed: [1], purged: [] });
    await expectProblem(await call("GET", "/v1/models/old/versions/1", { key: ADMIN }), 404);
    const model = await json<ModelView>(await call("GET", "/v1/models/old", { key: ADMIN }));
    expect(model.aliases).toEqual({});
    expect((await register("old")).version).toBe(3);
    const { events } = await history("old");
    expect(events.filter((e) => e.version === 1).map((e) => e.action)).toEqual([
      "registered",
      "stage_changed", // val_acc 0.95: staged by the default policy
      "alias_set",
      "alias_removed",
      "version_deleted",
    ]);
    expect(events.find((e) => e.action === "version_deleted")).toMatchObject({
      from: "Staging",
      to: "Deleted",
      reason: "superseded",
    });
    // The artifact is still there: registering it again works.
    expect((await register("again", { artifact })).version).toBe(1);
  });

  it("purge=true deletes an unshared artifact but never one another version uses", async () => {
    const shared = await putTestArtifact("shared weights");
    const own = await putTestArtifact("own weights");
    await register("a", { artifact: shared });
    await register("b", { artifact: shared });
    await register("b", { artifact: own });
    const first = await json<{ purged: string[] }>(await call("DELETE", "/v1/models/b?purge=true", { key: ADMIN }));
    expect(first.purged).toEqual([own.sha256]);
    await expectProblem(
      await call("POST", "/v1/models/c/versions", { key: ADMIN, body: tensorRegistration({ artifact: own }) }),
      422,
    );
    expect((await register("c", { artifact: shared })).version).toBe(1);
  });

  it("refuses to delete what is serving without force, and keeps history of a deleted model", async () => {
    await registerAndPromote("live", tensorRegistration());
    const refused = await expectProblem(await call("DELETE", "/v1/models/live", { key: ADMIN }), 409);
    expect(refused.detail).toContain("force=true");
    await json(await call("DELETE", "/v1/models/live?force=true", { key: ADMIN }));
    await expectProblem(await call("GET", "/v1/models/live", { key: ADMIN }), 404);
    const gone = await history("live");
    expect(gone.deleted_at).not.toBeNull();
    expect(gone.events.at(-1)).toMatchObject({ action: "model_deleted", to: "Deleted" });
  });

  it("needs models:write, names bad options and unknown versions", async () => {
    await register("keep");
    await expectProblem(await call("DELETE", "/v1/models/keep/versions/1"), 401);
    await expectProblem(await call("DELETE", "/v1/models/keep/versions/1", { key: WORKER_TOKEN }), 403);
    const bad = await expectProblem(await call("DELETE", "/v1/models/keep/versions/1?purge=yes", { key: ADMIN }), 400);
    expect(bad.errors?.map((e) => e.field)).toContain("purge");
    await expectProblem(await call("DELETE", "/v1/models/keep/versions/5", { key: ADMIN }), 404);
    await expectProblem(await call("DELETE", "/v1/models/keep/versions/latest", { key: ADMIN }), 400);
    expect((await json<ModelView>(await call("GET", "/v1/models/keep", { key: ADMIN }))).versions).toHaveLength(1);
  });
});
