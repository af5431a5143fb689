import { env } from "cloudflare:test";
import type { HistoryEvent, ModelVersion, ModelView, VersionSearchPage } from "@modelgate/shared";
import { describe, expect, it } from "vitest";
import {
  ADMIN,
  call,
  causalLmRegistration,
  expectProblem,
  registerAndPromote,
  tensorRegistration,
  WORKER_TOKEN,
} from "./support/requests.js";

async function registryObjectCount(): Promise<number> {
  return (await env.REGISTRY.list({ prefix: "registry/" })).objects.length;
}

describe("model registry routes", () => {
  it("registers numbered versions and reads them back", async () => {
    const first = await call("POST", "/v1/models/demo-lm/versions", { key: ADMIN, body: causalLmRegistration() });
    expect(first.status).toBe(201);
    const v1 = (await first.json()) as ModelVersion;
    expect(v1).toMatchObject({ name: "demo-lm", version: 1, stage: "None", kind: "causal-lm", created_by: "admin" });
    expect(first.headers.get("location")).toBe("/v1/models/demo-lm/versions/1");
    const second = (await (
      await call("POST", "/v1/models/demo-lm/versions", { key: ADMIN, body: causalLmRegistration() })
    ).json()) as ModelVersion;
    expect(second.version).toBe(2);

    const model = (await (await call("GET", "/v1/models/demo-lm", { key: ADMIN })).json()) as ModelView;
    expect(model.versions.map((v) => v.version)).toEqual([1, 2]);
    expect(model).toMatchObject({ revision: 2, last_version: 2, aliases: {}, history_length: 2 });
    const listed = (await (await call("GET", "/v1/models", { key: ADMIN })).json()) as VersionSearchPage;
    expect(listed.items.map((v) => `${v.name}@${v.version}`)).toEqual(["demo-lm@2", "demo-lm@1"]);
    expect(listed.total).toBe(2);
    const one = await call("GET", "/v1/models/demo-lm/versions/2", { key: ADMIN });
    expect(((await one.json()) as ModelVersion).version).toBe(2);
  });

  it("promoting to Production archives the previous Production version and keeps history", async () => {
    await registerAndPromote("spirals", tensorRegistration());
    const v2 = await registerAndPromote("spirals", tensorRegistration());
    const model = (await (await call("GET", "/v1/models/spirals", { key: ADMIN })).json()) as ModelView;
    expect(model.versions.map((v) => [v.version, v.stage])).toEqual([
      [1, "Archived"],
      [2, "Production"],
    ]);
    expect(v2).toBe(2);
    const history = (await (await call("GET", "/v1/models/spirals/history", { key: ADMIN })).json()) as {
      events: HistoryEvent[];
    };
    const v1History = history.events.filter((e) => e.version === 1 && e.action === "stage_changed");
    // tensorRegistration() carries val_acc 0.95, so the default policy staged it on registration.
    expect(v1History.map((t) => `${t.from}->${t.to}`)).toEqual([
      "None->Staging",
      "Staging->Production",
      "Production->Archived",
    ]);
    expect(v1History[2]).toMatchObject({ reason: "superseded by version 2", by: "admin" });
  });

  it("keeps the old Production version when archive_existing is false", async () => {
    await registerAndPromote("keep", tensorRegistration());
    await call("POST", "/v1/models/keep/versions", { key: ADMIN, body: tensorRegistration() });
    const response = await call("POST", "/v1/models/keep/versions/2/stage", {
      key: ADMIN,
      body: { stage: "Production", archive_existing: false },
    });
    expect(response.status).toBe(200);
    const model = (await (await call("GET", "/v1/models/keep", { key: ADMIN })).json()) as ModelView;
    expect(model.versions.map((v) => v.stage)).toEqual(["Production", "Production"]);
  });

  it("answers 404 for unknown models and versions", async () => {
    await expectProblem(await call("GET", "/v1/models/nope", { key: ADMIN }), 404);
    await call("POST", "/v1/models/demo/versions", { key: ADMIN, body: causalLmRegistration() });
    await expectProblem(await call("GET", "/v1/models/demo/versions/9", { key: ADMIN }), 404);
    const stage = await call("POST", "/v1/models/demo/versions/9/stage", { key: ADMIN, body: { stage: "Staging" } });
    expect((await expectProblem(stage, 404)).detail).toContain("no version 9");
  });

  describe("bad input gets a 4xx naming the field and writes nothing", () => {
    const cases: Array<[string, () => Promise<Response>, number, string | undefined]> = [
      ["malformed JSON", () => call("POST", "/v1/models/bad/versions", { key: ADMIN, rawBody: "{not json" }), 400, ""],
      [
        "wrong types",
        () =>
          call("POST", "/v1/models/bad/versions", {
            key: ADMIN,
            body: { ...causalLmRegistration(), artifact: { ...causalLmRegistration().artifact, bytes: "many" } },
          }),
        400,
        "artifact.bytes",
      ],
      [
        "a bad sha256",
        () =>
          call("POST", "/v1/models/bad/versions", {
            key: ADMIN,
            body: { ...causalLmRegistration(), artifact: { ...causalLmRegistration().artifact, sha256: "xyz" } },
          }),
        400,
        "artifact.sha256",
      ],
      [
        "an unknown field",
        () =>
          call("POST", "/v1/models/bad/versions", { key: ADMIN, body: { ...causalLmRegistration(), colour: "red" } }),
        400,
        "",
      ],
      [
        "a causal LM without a tokenizer",
        () =>
          call("POST", "/v1/models/bad/versions", { key: ADMIN, body: causalLmRegistration({ tokenizer: undefined }) }),
        400,
        "tokenizer",
      ],
      [
        "an invalid model name",
        () => call("POST", "/v1/models/Bad%20Name/versions", { key: ADMIN, body: causalLmRegistration() }),
        400,
        "name",
      ],
      [
        "a non-JSON content type",
        () =>
          call("POST", "/v1/models/bad/versions", {
            key: ADMIN,
            rawBody: JSON.stringify(causalLmRegistration()),
            headers: { "content-type": "text/plain" },
          }),
        415,
        undefined,
      ],
      [
        "an oversized body",
        () =>
          call("POST", "/v1/models/bad/versions", {
            key: ADMIN,
            body: { ...causalLmRegistration(), description: "x".repeat(70_000) },
          }),
        413,
        undefined,
      ],
      [
        "an unknown stage",
        () => call("POST", "/v1/models/bad/versions/1/stage", { key: ADMIN, body: { stage: "Live" } }),
        400,
        "stage",
      ],
    ];
    for (const [what, send, status, field] of cases) {
      it(what, async () => {
        const before = await registryObjectCount();
        const problem = await expectProblem(await send(), status);
        if (field !== undefined) expect(problem.errors?.map((e) => e.field)).toContain(field);
        expect(await registryObjectCount()).toBe(before);
        expect(await env.REGISTRY.head("registry/models/bad.json")).toBeNull();
      });
    }
  });

  it("does not let a worker token register versions", async () => {
    const before = await registryObjectCount();
    await expectProblem(
      await call("POST", "/v1/models/x/versions", { key: WORKER_TOKEN, body: causalLmRegistration() }),
      403,
    );
    await expectProblem(await call("POST", "/v1/models/x/versions", { body: causalLmRegistration() }), 401);
    expect(await registryObjectCount()).toBe(before);
    expect(await env.REGISTRY.head("registry/models/x.json")).toBeNull();
  });

  it("loses no acknowledged registration under concurrent writers", async () => {
    const responses = await Promise.all(
      Array.from({ length: 25 }, () =>
        call("POST", "/v1/models/busy/versions", { key: ADMIN, body: tensorRegistration() }),
      ),
    );
    const acknowledged: number[] = [];
    for (const response of responses) {
      if (response.status === 201) acknowledged.push(((await response.json()) as ModelVersion).version);
      else await response.body?.cancel();
    }
    expect(acknowledged.length).toBeGreaterThan(0);
    const model = (await (await call("GET", "/v1/models/busy", { key: ADMIN })).json()) as ModelView;
    const stored = model.versions.map((v) => v.version);
    for (const version of acknowledged) expect(stored).toContain(version);
    expect(new Set(stored).size).toBe(stored.length);
  });

  it("leaves exactly one Production version after concurrent promotions", async () => {
    for (let i = 0; i < 8; i++)
      await call("POST", "/v1/models/race/versions", { key: ADMIN, body: tensorRegistration() });
    const responses = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        call("POST", `/v1/models/race/versions/${i + 1}/stage`, { key: ADMIN, body: { stage: "Production" } }),
      ),
    );
    for (const response of responses) await response.body?.cancel();
    const model = (await (await call("GET", "/v1/models/race", { key: ADMIN })).json()) as ModelView;
    expect(model.versions.filter((v) => v.stage === "Production")).toHaveLength(1);
  });
});
