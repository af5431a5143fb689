import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RegisterVersionRequestSchema } from "@modelgate/shared";
import { describe, expect, it } from "vitest";
import {
  type BuiltReferenceModel,
  buildDemoLm,
  buildSpiralsClassifier,
  writeReferenceModels,
} from "../../src/reference-models/index.js";

function withArtifact(model: BuiltReferenceModel) {
  return {
    ...model.registration,
    artifact: {
      uri: `s3://models/${model.name}/1/model.onnx`,
      sha256: createHash("sha256").update(model.onnx).digest("hex"),
      bytes: model.onnx.byteLength,
      format: "onnx",
    },
  };
}

describe("reference model registrations", () => {
  const models = [buildDemoLm(), buildDemoLm({ haltHead: false }), buildSpiralsClassifier()];

  it.each(models.map((model) => [model.name, model] as const))(
    "%s validates against RegisterVersionRequestSchema",
    (_, model) => {
      const parsed = RegisterVersionRequestSchema.safeParse(withArtifact(model));
      expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
      // Parsing adds nothing: the registration already carries every defaulted field.
      expect(parsed.data).toMatchObject(withArtifact(model));
    },
  );

  it("rejects a demo-lm registration that lost its tokenizer", () => {
    const { tokenizer: _, ...rest } = withArtifact(buildDemoLm());
    expect(RegisterVersionRequestSchema.safeParse(rest).success).toBe(false);
  });

  it("registers demo-lm as a byte-level causal LM", () => {
    const { registration } = buildDemoLm();
    expect(registration.kind).toBe("causal-lm");
    expect(registration.tokenizer).toEqual({
      type: "byte-level",
      vocab_size: 260,
      bos_token_id: 256,
      eos_token_id: 257,
    });
    expect(registration.primary_category).toBe("general");
    expect(registration.runtime_config).toEqual({ halt_head_enabled: true });
  });
});

describe("writeReferenceModels", () => {
  it("writes <name>.onnx files whose sha256 and size it reports", async () => {
    const dir = await mkdtemp(join(tmpdir(), "modelgate-reference-"));
    try {
      const written = await writeReferenceModels(join(dir, "models"));
      expect(written.map((w) => w.name)).toEqual(["demo-lm", "spirals", "ref-decoder", "demo-scorer"]);
      for (const entry of written) {
        expect(entry.path).toBe(join(dir, "models", `${entry.name}.onnx`));
        const bytes = await readFile(entry.path);
        expect(bytes.byteLength).toBe(entry.bytes);
        expect(createHash("sha256").update(bytes).digest("hex")).toBe(entry.sha256);
      }
      // Deterministic: a second write produces the same hashes.
      const again = await writeReferenceModels(join(dir, "again"));
      expect(again.map((w) => w.sha256)).toEqual(written.map((w) => w.sha256));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
