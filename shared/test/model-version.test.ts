import { describe, expect, it } from "vitest";
import { describeModelReference, parseModelReference, resolveModelReference } from "../src/model-reference.js";
import {
  ArtifactSchema,
  applyMetadataPatch,
  estimateModelMemoryMb,
  ModelNameSchema,
  RegisterVersionRequestSchema,
  VersionMetadataPatchSchema,
  versionMetadataOf,
} from "../src/model-version.js";
import { evaluateRegistrationPolicy, RegistryPolicySchema } from "../src/registry-record.js";
import { modelRecord, modelVersion, registerRequestInput, SHA_A } from "./fixtures.js";

/** The dotted paths of the issues a value fails `RegisterVersionRequestSchema` with. */
function registerIssuePaths(value: unknown): string[] {
  const result = RegisterVersionRequestSchema.safeParse(value);
  if (result.success) throw new Error("expected the request to be rejected");
  return result.error.issues.map((issue) => issue.path.map(String).join("."));
}

describe("parseModelReference", () => {
  it("`name` means the Production version", () => {
    expect(parseModelReference("tiny-lm")).toEqual({
      name: "tiny-lm",
      selector: { kind: "stage", stage: "Production" },
    });
  });

  it("`name@N` means version N", () => {
    expect(parseModelReference("tiny-lm@3")).toEqual({ name: "tiny-lm", selector: { kind: "version", version: 3 } });
    expect(parseModelReference("a.b_c-d@120")).toEqual({
      name: "a.b_c-d",
      selector: { kind: "version", version: 120 },
    });
  });

  it("`name@production` and `name@Staging` name a stage, case-insensitively", () => {
    expect(parseModelReference("tiny-lm@production")).toEqual({
      name: "tiny-lm",
      selector: { kind: "stage", stage: "Production" },
    });
    expect(parseModelReference("tiny-lm@PRODUCTION")?.selector).toEqual({ kind: "stage", stage: "Production" });
    expect(parseModelReference("tiny-lm@Staging")).toEqual({
      name: "tiny-lm",
      selector: { kind: "stage", stage: "Staging" },
    });
    expect(parseModelReference("tiny-lm@staging")?.selector).toEqual({ kind: "stage", stage: "Staging" });
  });

  it.each([
    "",
    "Name",
    "tiny-LM",
    "a@0",
    "a@03",
    "a@-1",
    "a@1.5",
    "a@b c",
    "a b",
    "@3",
    "a@",
    "a@3@4",
    "a@archived",
    "a@none",
    "a@Prod",
    "-a",
    ".a",
    "a@1234567890",
    "a".repeat(65),
  ])("rejects %j", (reference) => {
    expect(parseModelReference(reference)).toBeUndefined();
  });

  it("accepts the longest name and the largest version number", () => {
    const name = `a${"b".repeat(63)}`;
    expect(parseModelReference(name)?.name).toBe(name);
    expect(parseModelReference("a@999999999")?.selector).toEqual({ kind: "version", version: 999_999_999 });
  });

  it("`:<format>` after any selector names a converted format (or fp32 / best)", () => {
    expect(parseModelReference("tiny-lm:int8")).toEqual({
      name: "tiny-lm",
      selector: { kind: "stage", stage: "Production" },
      format: "int8",
    });
    expect(parseModelReference("tiny-lm@3:int4")).toEqual({
      name: "tiny-lm",
      selector: { kind: "version", version: 3 },
      format: "int4",
    });
    expect(parseModelReference("tiny-lm@production:best")?.format).toBe("best");
    expect(parseModelReference("tiny-lm@champion:fp32")).toEqual({
      name: "tiny-lm",
      selector: { kind: "alias", alias: "champion" },
      format: "fp32",
    });
    expect(parseModelReference("tiny-lm@latest:FP16")?.format).toBe("fp16");
    // No suffix, no format: the version's serving format decides.
    expect(parseModelReference("tiny-lm@3")).not.toHaveProperty("format");
  });

  it.each(["a@3:int9", "a:", "a@3:", "a:int8:int8", "a:q4", "a@3:int8@4", "a@:int8", ":int8"])(
    "rejects the format reference %j",
    (reference) => {
      expect(parseModelReference(reference)).toBeUndefined();
    },
  );

  it("describes a reference with its format, and without one as before", () => {
    for (const reference of ["tiny-lm@3:int8", "tiny-lm@production:best", "tiny-lm@champion:fp32", "tiny-lm@3"]) {
      const parsed = parseModelReference(reference);
      expect(parsed && describeModelReference(parsed)).toBe(reference);
    }
    const bare = parseModelReference("tiny-lm:int4");
    expect(bare && describeModelReference(bare)).toBe("tiny-lm@production:int4");
  });

  it("accepts exactly the names ModelNameSchema accepts", () => {
    for (const name of ["a", "0", "tiny-lm", "a.b", "A", "a b", "_a", "a/b", "a:b"]) {
      expect(parseModelReference(name) !== undefined).toBe(ModelNameSchema.safeParse(name).success);
    }
  });
});

describe("resolveModelReference", () => {
  const record = modelRecord(["Archived", "Production", "Staging", "Production", "Staging", "None"]);

  it("picks version N by number", () => {
    expect(resolveModelReference(record, { name: "tiny-lm", selector: { kind: "version", version: 3 } })?.version).toBe(
      3,
    );
    expect(
      resolveModelReference(record, { name: "tiny-lm", selector: { kind: "version", version: 7 } }),
    ).toBeUndefined();
  });

  it("picks the newest version in a stage", () => {
    expect(
      resolveModelReference(record, { name: "tiny-lm", selector: { kind: "stage", stage: "Production" } })?.version,
    ).toBe(4);
    expect(
      resolveModelReference(record, { name: "tiny-lm", selector: { kind: "stage", stage: "Staging" } })?.version,
    ).toBe(5);
  });

  it("returns undefined when no version is in the stage", () => {
    const none = modelRecord(["None", "Archived"]);
    expect(
      resolveModelReference(none, { name: "tiny-lm", selector: { kind: "stage", stage: "Production" } }),
    ).toBeUndefined();
  });

  it("does not reorder the record's versions", () => {
    const before = record.versions.map((v) => v.version);
    resolveModelReference(record, { name: "tiny-lm", selector: { kind: "stage", stage: "Staging" } });
    expect(record.versions.map((v) => v.version)).toEqual(before);
  });

  it("resolves latest and free aliases", () => {
    const aliased = modelRecord(["Production", "None", "None"], { champion: 2 });
    expect(resolveModelReference(aliased, { name: "tiny-lm", selector: { kind: "latest" } })?.version).toBe(3);
    const champion = parseModelReference("tiny-lm@champion");
    expect(champion?.selector).toEqual({ kind: "alias", alias: "champion" });
    if (!champion) throw new Error("reference should parse");
    expect(resolveModelReference(aliased, champion)?.version).toBe(2);
    const unknown = parseModelReference("tiny-lm@nobody");
    if (!unknown) throw new Error("reference should parse");
    expect(resolveModelReference(aliased, unknown)).toBeUndefined();
  });

  it("resolves a parsed reference end to end", () => {
    const reference = parseModelReference("tiny-lm@staging");
    if (!reference) throw new Error("reference should parse");
    expect(resolveModelReference(record, reference)?.version).toBe(5);
  });
});

describe("RegisterVersionRequestSchema", () => {
  it("accepts a valid causal-lm request and fills defaults", () => {
    const parsed = RegisterVersionRequestSchema.parse(registerRequestInput());
    expect(parsed.kind).toBe("causal-lm");
    expect(parsed.benchmark_scores).toEqual({});
    expect(parsed.metrics).toEqual({});
    const { categories: _categories, primary_category: _primary, ...minimal } = registerRequestInput();
    expect(RegisterVersionRequestSchema.parse(minimal).categories).toEqual([]);
  });

  it("requires a tokenizer for causal-lm", () => {
    const { tokenizer: _tokenizer, ...input } = registerRequestInput();
    expect(registerIssuePaths(input)).toEqual(["tokenizer"]);
  });

  it("does not require a tokenizer for tensor models", () => {
    const { tokenizer: _tokenizer, ...input } = registerRequestInput();
    expect(RegisterVersionRequestSchema.safeParse({ ...input, kind: "tensor" }).success).toBe(true);
  });

  it("requires primary_category to be one of categories", () => {
    expect(registerIssuePaths({ ...registerRequestInput(), primary_category: "vision" })).toEqual(["primary_category"]);
    expect(registerIssuePaths({ ...registerRequestInput(), categories: [], primary_category: "chat" })).toEqual([
      "primary_category",
    ]);
  });

  it("rejects unknown fields, top-level and nested", () => {
    expect(registerIssuePaths({ ...registerRequestInput(), stage: "Production" })).toEqual([""]);
    const input = registerRequestInput();
    const artifact = { uri: "s3://models/m/1.onnx", sha256: SHA_A, bytes: 10, format: "onnx", extra: 1 };
    expect(registerIssuePaths({ ...input, artifact })).toEqual(["artifact"]);
  });

  it.each(["A".repeat(64), "a".repeat(63), "a".repeat(65), "g".repeat(64), ""])(
    "rejects sha256 %j at artifact.sha256",
    (sha256) => {
      const input = registerRequestInput();
      const artifact = { uri: "s3://models/m/1.onnx", sha256, bytes: 10, format: "onnx" };
      expect(registerIssuePaths({ ...input, artifact })).toEqual(["artifact.sha256"]);
    },
  );

  it.each([
    "https://models/m/1.onnx",
    "s3://models",
    "s3://models/",
    "s3://ab/key",
    "s3://Models/key",
    "s3://-models/key",
    "/models/key",
  ])("rejects artifact uri %j at artifact.uri", (uri) => {
    const input = registerRequestInput();
    const artifact = { uri, sha256: SHA_A, bytes: 10, format: "onnx" };
    expect(registerIssuePaths({ ...input, artifact })).toEqual(["artifact.uri"]);
  });

  it("accepts ordinary s3 URIs", () => {
    for (const uri of ["s3://models/m/1.onnx", "s3://abc/k", "s3://my.bucket-1/a/b/c.onnx"]) {
      expect(ArtifactSchema.safeParse({ uri, sha256: SHA_A, bytes: 1, format: "onnx" }).success).toBe(true);
    }
  });

  it("rejects benchmark scores outside 0–100 at their key", () => {
    expect(registerIssuePaths({ ...registerRequestInput(), benchmark_scores: { mmlu: 101 } })).toEqual([
      "benchmark_scores.mmlu",
    ]);
  });

  it("validates embedded runtime_config overrides", () => {
    expect(
      RegisterVersionRequestSchema.safeParse({ ...registerRequestInput(), runtime_config: { caws_tier: "tier_1" } })
        .success,
    ).toBe(true);
    expect(registerIssuePaths({ ...registerRequestInput(), runtime_config: { caws_tier: "tier_9" } })).toEqual([
      "runtime_config.caws_tier",
    ]);
  });
});

describe("estimateModelMemoryMb", () => {
  const MiB = 1024 * 1024;

  it("is 1.5× the artifact size, rounded up, plus 64 MB", () => {
    expect(estimateModelMemoryMb(MiB)).toBe(66);
    expect(estimateModelMemoryMb(2 * MiB)).toBe(67);
    expect(estimateModelMemoryMb(1024 * MiB)).toBe(1536 + 64);
    expect(estimateModelMemoryMb(1)).toBe(65);
  });

  it("is at least 1", () => {
    expect(estimateModelMemoryMb(0)).toBeGreaterThanOrEqual(1);
  });

  it("is monotonic non-decreasing in the artifact size", () => {
    const sizes = [0, 1, 1000, MiB - 1, MiB, MiB + 1, 10 * MiB, 999 * MiB, 4 * 1024 * MiB, 64 * 1024 * MiB];
    for (let i = 1; i < sizes.length; i++) {
      const previous = sizes[i - 1] ?? 0;
      const current = sizes[i] ?? 0;
      expect(estimateModelMemoryMb(current)).toBeGreaterThanOrEqual(estimateModelMemoryMb(previous));
    }
    expect(estimateModelMemoryMb(100 * MiB)).toBeGreaterThan(estimateModelMemoryMb(10 * MiB));
  });
});

describe("registration policy", () => {
  const policy = RegistryPolicySchema.parse({});

  it("has the seed 004 defaults", () => {
    expect(policy).toEqual({ metric: "val_acc", register_min: 0.7, staging_min: 0.9, higher_is_better: true });
  });

  it.each([
    [0.69, "refused"],
    [0.7, "registered"],
    [0.899, "registered"],
    [0.9, "staged"],
    [0.99, "staged"],
  ])("val_acc %s → %s", (value, outcome) => {
    expect(evaluateRegistrationPolicy(policy, { val_acc: value }, true).outcome).toBe(outcome);
  });

  it("does not apply without the metric or when asked not to", () => {
    expect(evaluateRegistrationPolicy(policy, {}, true).outcome).toBe("registered");
    expect(evaluateRegistrationPolicy(policy, { val_acc: 0.1 }, false).outcome).toBe("not_applied");
  });

  it("flips the comparisons for lower-is-better metrics", () => {
    const loss = RegistryPolicySchema.parse({
      metric: "loss",
      register_min: 1,
      staging_min: 0.5,
      higher_is_better: false,
    });
    expect(evaluateRegistrationPolicy(loss, { loss: 1.5 }, true).outcome).toBe("refused");
    expect(evaluateRegistrationPolicy(loss, { loss: 0.7 }, true).outcome).toBe("registered");
    expect(evaluateRegistrationPolicy(loss, { loss: 0.4 }, true).outcome).toBe("staged");
  });
});

describe("metadata patches", () => {
  const current = versionMetadataOf(
    modelVersion({ tags: ["a"], notes: "n", locations: { mac: "/m" }, primary_location: "mac" }),
  );

  it("sets, clears and keeps fields", () => {
    const patch = VersionMetadataPatchSchema.parse({ tags: ["a", "b"], notes: null });
    const next = applyMetadataPatch(current, patch);
    expect(next.ok && next.value).toMatchObject({ tags: ["a", "b"], locations: { mac: "/m" } });
    expect(next.ok && next.value.notes).toBeUndefined();
  });

  it("refuses a patch that breaks a relation between fields", () => {
    const next = applyMetadataPatch(current, VersionMetadataPatchSchema.parse({ locations: null }));
    expect(next.ok).toBe(false);
    if (!next.ok) expect(next.error.fieldErrors?.map((e) => e.field)).toContain("primary_location");
  });

  it("refuses immutable fields and empty patches", () => {
    expect(VersionMetadataPatchSchema.safeParse({ artifact: {} }).success).toBe(false);
    expect(VersionMetadataPatchSchema.safeParse({ reason: "only a reason" }).success).toBe(false);
  });
});
