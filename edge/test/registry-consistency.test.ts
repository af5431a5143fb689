import type { HistoryEvent, ModelVersion, ModelView, VersionSearchPage } from "@modelgate/shared";
import { afterEach, describe, expect, it } from "vitest";
import { ADMIN, call, resetEdge, tensorRegistration } from "./support/requests.js";

afterEach(() => resetEdge());

const MODEL = "contested";
const SEEDED_VERSIONS = 10;

type Write =
  | { kind: "register" }
  | { kind: "promote"; version: number }
  | { kind: "edit"; version: number; tag: string }
  | { kind: "alias"; version: number };

function send(write: Write): Promise<Response> {
  switch (write.kind) {
    case "register":
      return call("POST", `/v1/models/${MODEL}/versions`, { key: ADMIN, body: tensorRegistration({ metrics: {} }) });
    case "promote":
      return call("POST", `/v1/models/${MODEL}/versions/${write.version}/stage`, {
        key: ADMIN,
        body: { stage: "Production" },
      });
    case "edit":
      return call("PATCH", `/v1/models/${MODEL}/versions/${write.version}`, {
        key: ADMIN,
        body: { tags: [write.tag] },
      });
    case "alias":
      return call("PUT", `/v1/models/${MODEL}/aliases/champion`, { key: ADMIN, body: { version: write.version } });
  }
}

describe("registry consistency under 100 concurrent conflicting writers", () => {
  it("keeps every acknowledged write and exactly one Production version", async () => {
    for (let i = 0; i < SEEDED_VERSIONS; i++) {
      const response = await send({ kind: "register" });
      expect(response.status).toBe(201);
      await response.body?.cancel();
    }
    // A fixed interleaving of the four kinds of conflicting writes, all on one model.
    const writes: Write[] = Array.from({ length: 100 }, (_, i): Write => {
      const version = ((i * 7) % SEEDED_VERSIONS) + 1;
      switch (i % 4) {
        case 0:
          return { kind: "register" };
        case 1:
          return { kind: "promote", version };
        case 2:
          return { kind: "edit", version, tag: `edit-${i}` };
        default:
          return { kind: "alias", version };
      }
    });
    const responses = await Promise.all(writes.map(send));
    const acknowledged = await Promise.all(
      responses.map(async (response, i) => ({
        write: writes[i] as Write,
        status: response.status,
        body: (await response.json()) as Record<string, unknown>,
      })),
    );
    // Writes are serialized, not raced: nobody is told to retry.
    expect(acknowledged.filter((a) => a.status >= 300).map((a) => [a.write.kind, a.status, a.body])).toEqual([]);

    const model = (await (await call("GET", `/v1/models/${MODEL}`, { key: ADMIN })).json()) as ModelView;
    const { events } = (await (await call("GET", `/v1/models/${MODEL}/history`, { key: ADMIN })).json()) as {
      events: HistoryEvent[];
    };

    // Every acknowledged registration is there, numbered uniquely without gaps.
    const registered = acknowledged.filter((a) => a.write.kind === "register").map((a) => Number(a.body.version));
    expect(registered.sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => SEEDED_VERSIONS + 1 + i));
    expect(model.versions.map((v) => v.version)).toEqual(Array.from({ length: 35 }, (_, i) => i + 1));

    // Exactly one Production version: the one the last promotion in history named.
    const production = model.versions.filter((v) => v.stage === "Production");
    expect(production).toHaveLength(1);
    const lastPromotion = events.filter((e) => e.action === "stage_changed" && e.to === "Production").at(-1);
    expect(production[0]?.version).toBe(lastPromotion?.version);

    // Every acknowledged edit is a metadata revision in history; the final tags are the last edit's.
    const edits = acknowledged.filter((a) => a.write.kind === "edit");
    for (const edit of edits) {
      const body = edit.body as unknown as ModelVersion;
      expect(events).toContainEqual(
        expect.objectContaining({
          action: "metadata_updated",
          version: body.version,
          metadata_revision: body.metadata_revision,
        }),
      );
    }
    for (const version of model.versions.filter((v) => v.version <= SEEDED_VERSIONS)) {
      const editsOfVersion = events.filter((e) => e.action === "metadata_updated" && e.version === version.version);
      expect(version.metadata_revision).toBe(1 + editsOfVersion.length);
      const lastEdit = edits
        .map((e) => e.body as unknown as ModelVersion)
        .filter((body) => body.version === version.version)
        .sort((a, b) => b.metadata_revision - a.metadata_revision)[0];
      if (lastEdit) expect(version.tags).toEqual(lastEdit.tags);
    }

    // The alias points where the last alias event says.
    const lastAlias = events.filter((e) => e.action === "alias_set").at(-1);
    expect(model.aliases.champion).toBe(lastAlias?.version);

    // History: one event per change, sequence without gaps.
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: events.length }, (_, i) => i + 1));
    expect(events.filter((e) => e.action === "registered")).toHaveLength(35);
    expect(events.filter((e) => e.action === "metadata_updated")).toHaveLength(25);

    // The search index agrees with R2.
    const indexed = (await (
      await call("GET", `/v1/models?name=${MODEL}&stage=Production`, { key: ADMIN })
    ).json()) as VersionSearchPage;
    expect(indexed.items.map((v) => v.version)).toEqual([production[0]?.version]);
    const all = (await (
      await call("GET", `/v1/models?name=${MODEL}&limit=100`, { key: ADMIN })
    ).json()) as VersionSearchPage;
    expect(all.total).toBe(35);
    expect(Object.fromEntries(all.items.map((v) => [v.version, v.metadata_revision]))).toEqual(
      Object.fromEntries(model.versions.map((v) => [v.version, v.metadata_revision])),
    );
  });
});
