import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ModelHistorySchema, UploadResponseSchema, VersionSearchPageSchema } from "@modelgate/shared";
import { describe, expect, it } from "vitest";
import { cli, parseJson, tempDir, tensorRegistration, uniqueName, writeJson } from "./support/stack.js";

describe("seed 003's workflow with the CLI", () => {
  it("upload → register → info → promote → list by role and stage → history → delete", async () => {
    const name = uniqueName("oracle-farore");
    const role = `asm-${name.slice(-8)}`;
    const directory = await tempDir();

    // 1. Upload the artifact (progress on stderr, the completed upload as JSON on stdout).
    const model = join(directory, "model.onnx");
    await writeFile(model, randomBytes(96 * 1024));
    const uploaded = await cli(["models", "upload", model, "--json"], { cwd: directory });
    const upload = parseJson(uploaded, UploadResponseSchema);
    expect(upload.status).toBe("complete");
    const uploadFile = await writeJson(directory, "upload.json", upload);

    // 2. Register it the way seed 003 describes a training run: a file for the I/O contract and flags.
    const { kind, io } = tensorRegistration(upload.artifact);
    const base = await writeJson(directory, "registration.json", {
      kind,
      io,
      dataset: { name: "oracle_farore_improved", train_samples: 320, val_samples: 40, test_samples: 40 },
      lora_config: { r: 16, lora_alpha: 32, target_modules: ["q_proj", "v_proj"], lora_dropout: 0.05 },
      hardware: "RTX 5060 Ti",
      device: "cuda",
    });
    const registered = await cli(
      [
        "models",
        "register",
        name,
        "--file",
        base,
        "--from-upload",
        uploadFile,
        "--display-name",
        "Oracle: Farore Secrets",
        "--base",
        "Qwen/Qwen2.5-Coder-1.5B",
        "--role",
        role,
        "--location",
        "windows=D:/hafs_training/models/oracle-farore",
        "--tag",
        "lora",
        "--metric",
        "val_acc=0.82",
        "--metric",
        "final_loss=0.8245",
        "--metric",
        "best_loss=0.7891",
        "--training-date",
        "2025-12-22",
        "--duration",
        "75",
      ],
      { cwd: directory },
    );
    expect(registered.stderr).toBe("");
    expect(registered.stdout).toContain(`Registered ${name}@1 (stage None`);

    // 3. Info, as `hafs models info` shows it.
    const info = await cli(["models", "info", `${name}@1`]);
    expect(info.stdout).toContain("Oracle: Farore Secrets");
    expect(info.stdout).toMatch(/^Role\s+asm-/m);
    expect(info.stdout).toMatch(/^Hardware\s+RTX 5060 Ti, cuda$/m);
    expect(info.stdout).toMatch(/^ {2}best_loss\s+0.7891$/m);
    expect(info.stdout).toMatch(/^ {2}r \/ alpha\s+16 \/ 32$/m);
    expect(info.stdout).toContain("  • windows (primary): D:/hafs_training/models/oracle-farore");

    // 4. Promote, 5. list filtered by role and stage.
    expect((await cli(["models", "promote", name, "1", "--reason", "passed gates"])).code).toBe(0);
    const listed = await cli(["models", "list", "--role", role, "--stage", "Production"]);
    expect(listed.stdout.trimEnd().split("\n")).toHaveLength(2);
    expect(listed.stdout).toMatch(new RegExp(`^${name}\\s+1\\s+Production\\s+${role}\\s+-\\s+lora\\s`, "m"));
    const page = parseJson(
      await cli(["models", "list", "--role", role, "--stage", "Production", "--json"]),
      VersionSearchPageSchema,
    );
    expect(page.items.map((v) => [v.name, v.version, v.artifact.sha256])).toEqual([[name, 1, upload.artifact.sha256]]);

    // 6. History.
    const history = await cli(["models", "history", name]);
    expect(history.stdout).toMatch(/\sstage_changed\s+v1\s+None→Production\s+passed gates$/m);

    // 7. Delete (it is in Production, so --force), then the history still tells the story.
    const deleted = await cli(["models", "delete", name, "--force", "--yes", "--reason", "superseded"]);
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toContain(`Deleted model ${name} (v1)`);
    expect((await cli(["models", "list", "--role", role, "--json"])).stdout).toContain('"total": 0');
    const after = parseJson(await cli(["models", "history", name, "--json"]), ModelHistorySchema);
    expect(after.deleted_at).not.toBeNull();
    expect(after.events.map((e) => e.action)).toEqual(["registered", "stage_changed", "model_deleted"]);
  });
});
