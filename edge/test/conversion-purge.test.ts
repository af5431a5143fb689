/**
 * `purge=true` on delete removes what conversions wrote for the deleted versions (converted
 * artifacts, pipeline files, the source verification's files) from S3, except objects a live
 * version still references in any role; without purge everything stays.
 */

import type { Artifact, HistoryEvent, ModelFile, TokenizerSpec } from "@modelgate/shared";
import { afterEach, describe, expect, it } from "vitest";
import type { ConversionOutcome } from "../src/registry/conversion-records.js";
import { conversionOutcome, recordConversion } from "./support/converted-formats.js";
import { ADMIN, call, causalLmRegistration, putTestArtifact, resetEdge } from "./support/requests.js";
import { contentAddressedKey } from "./support/test-artifacts.js";
import { testObjectExists } from "./support/test-s3.js";

afterEach(() => resetEdge());

async function json<T>(response: Response, status = 200): Promise<T> {
  const text = await response.text();
  if (response.status !== status) throw new Error(`expected ${status}, got ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

/**
 * S3 is shared by every test file and objects are content-addressed, so each run uses its own
 * bytes: purging here must never delete an object another test (or file) is using.
 */
const unique = (label: string) => `purge-${label}-${crypto.randomUUID().slice(0, 8)}`;

/** A causal LM version with an artifact of its own (the fixture artifact is shared by every test). */
async function register(name: string, artifact?: Artifact, tokenizer?: TokenizerSpec): Promise<number> {
  const own = artifact ?? (await putTestArtifact(`${unique(name)} weights\n`.repeat(8)));
  const body = causalLmRegistration({ artifact: own, ...(tokenizer ? { tokenizer } : {}) });
  return (await json<{ version: number }>(await call("POST", `/v1/models/${name}/versions`, { key: ADMIN, body }), 201))
    .version;
}

/** Records int8 and fp16 for the version (via `edit` to share objects) and returns the outcome. */
async function convert(
  name: string,
  version: number,
  edit: (outcome: ConversionOutcome) => ConversionOutcome = (outcome) => outcome,
): Promise<ConversionOutcome> {
  const outcome = edit(await conversionOutcome(unique("job"), { int8: [], fp16: [] }));
  const recorded = await recordConversion(name, version, outcome);
  if (!recorded.ok) throw new Error(`recording failed: ${recorded.error.detail}`);
  return outcome;
}

/** Every object a conversion outcome references: source verification files, converted artifacts and their files. */
function outcomeFiles(outcome: ConversionOutcome): ModelFile[] {
  const files: ModelFile[] = Object.values(outcome.source_verification.files).filter((f) => f !== undefined);
  for (const format of Object.values(outcome.formats)) {
    if (format) files.push(format.artifact, ...Object.values(format.files));
  }
  return files;
}

const exists = (file: Pick<ModelFile, "sha256">) => testObjectExists(contentAddressedKey(file.sha256));

async function existing(files: ModelFile[]): Promise<boolean[]> {
  return Promise.all(files.map(exists));
}

const remove = async (path: string) =>
  json<{ removed: number[]; purged: string[] }>(await call("DELETE", path, { key: ADMIN }));

describe("purge of converted formats", () => {
  it("purge=true deletes the version's converted artifacts and pipeline files", async () => {
    const artifact = await putTestArtifact(`${unique("own")} weights\n`.repeat(8));
    const version = await register("demo-lm", artifact);
    const outcome = await convert("demo-lm", version);
    const files = outcomeFiles(outcome);
    expect(files).toHaveLength(14); // 4 verification files, then 2 formats × (artifact + 4 files)
    expect(await existing(files)).toEqual(files.map(() => true));

    const deleted = await remove(`/v1/models/demo-lm/versions/${version}?purge=true`);
    expect(deleted.removed).toEqual([version]);
    expect(new Set(deleted.purged)).toEqual(new Set([artifact.sha256, ...files.map((f) => f.sha256)]));
    expect(deleted.purged).toHaveLength(15);
    expect(await exists(artifact)).toBe(false);
    expect(await existing(files)).toEqual(files.map(() => false));
    const { events } = await json<{ events: HistoryEvent[] }>(
      await call("GET", "/v1/models/demo-lm/history", { key: ADMIN }),
    );
    expect(events.at(-1)).toMatchObject({ action: "version_deleted", purged: true });
  });

  it("keeps an object another live version references, in any role, until that one is purged too", async () => {
    const first = await convert("a-lm", await register("a-lm"));
    const int8 = first.formats.int8;
    const fp16 = first.formats.fp16;
    const report = first.source_verification.files.verification_report;
    const contract = first.source_verification.files.contract;
    if (!int8 || !fp16 || !report || !contract) throw new Error("conversion incomplete");
    // b-lm's int8 is the same object as a-lm's, and its contract is byte-identical to a-lm's report.
    const second = await convert("b-lm", await register("b-lm"), (outcome) => {
      const own = outcome.formats.int8;
      if (!own) throw new Error("no int8");
      return {
        ...outcome,
        formats: {
          ...outcome.formats,
          int8: { ...own, artifact: int8.artifact, files: { ...own.files, contract: report } },
        },
      };
    });
    // c-lm registered a-lm's fp16 weights as its own artifact.
    await register("c-lm", { ...fp16.artifact, format: "onnx" });
    // d-lm's tokenizer.json is byte-identical to a-lm's source contract.
    await register("d-lm", undefined, { type: "hf-tokenizer", tokenizer_json: contract, eos_token_ids: [257] });
    const shared = [int8.artifact, report, fp16.artifact, contract];

    const deleted = await remove("/v1/models/a-lm?purge=true");
    expect(deleted.removed).toEqual([1]);
    for (const file of shared) expect(deleted.purged).not.toContain(file.sha256);
    expect(deleted.purged).toHaveLength(1 + 14 - shared.length);
    expect(await existing(shared)).toEqual(shared.map(() => true));
    const unshared = outcomeFiles(first).filter((f) => !shared.some((s) => s.sha256 === f.sha256));
    expect(await existing(unshared)).toEqual(unshared.map(() => false));

    // Once b-lm goes too, what it shared with a-lm goes with it (its files include both shared
    // objects); c-lm's artifact and d-lm's tokenizer stay.
    const again = await remove("/v1/models/b-lm/versions/1?purge=true");
    expect(again.purged).toEqual(expect.arrayContaining([int8.artifact.sha256, report.sha256]));
    const bFiles = outcomeFiles(second);
    expect(await existing(bFiles)).toEqual(bFiles.map(() => false));
    expect(await existing([fp16.artifact, contract])).toEqual([true, true]);
  });

  it("purges every version of a deleted model", async () => {
    const outcomes = [await convert("m-lm", await register("m-lm")), await convert("m-lm", await register("m-lm"))];
    const deleted = await remove("/v1/models/m-lm?purge=true");
    expect(deleted.removed).toEqual([1, 2]);
    expect(deleted.purged).toHaveLength(2 * 15);
    const files = outcomes.flatMap(outcomeFiles);
    expect(await existing(files)).toEqual(files.map(() => false));
  });

  it("purge=false (the default) keeps every object", async () => {
    const artifact = await putTestArtifact(`${unique("kept")} weights\n`.repeat(8));
    const outcome = await convert("kept-lm", await register("kept-lm", artifact));
    const files = [artifact, ...outcomeFiles(outcome)];
    expect(await remove("/v1/models/kept-lm/versions/1")).toMatchObject({ removed: [1], purged: [] });
    expect(await existing(files)).toEqual(files.map(() => true));
  });
});
