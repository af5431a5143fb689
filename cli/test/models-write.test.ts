import {
  DeletedSchema,
  ModelVersionSchema,
  ModelViewSchema,
  ProblemDetailsSchema,
  RegisteredVersionSchema,
  StageChangeResponseSchema,
  VersionWithAliasesSchema,
} from "@modelgate/shared";
import { describe, expect, it } from "vitest";
import {
  cli,
  parseJson,
  registerVersion,
  tempDir,
  tensorRegistration,
  uniqueName,
  uploadArtifact,
  writeJson,
} from "./support/stack.js";

const count = (text: string, part: string) => text.split(part).length - 1;

describe("models register", () => {
  it("registers from a file with seed-003 flags filling and extending it", async () => {
    const name = uniqueName("reg");
    const directory = await tempDir();
    const file = await writeJson(
      directory,
      "registration.json",
      tensorRegistration(await uploadArtifact(), { tags: ["from-file"], metrics: { final_loss: 0.82 } }),
    );
    const run = await cli([
      "models",
      "register",
      name,
      "--file",
      file,
      "--display-name",
      "Oracle: Farore Secrets",
      "--base",
      "Qwen/Qwen2.5-Coder-1.5B",
      "--role",
      "general",
      "--location",
      "windows=D:/models/oracle",
      "--location",
      "mac=/Users/me/models/oracle",
      "--primary-location",
      "windows",
      "--tag",
      "lora",
      "--metric",
      "val_acc=0.82",
      "--notes",
      "first run",
    ]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Registered ${name}@1 (stage None, tensor`);
    expect(run.stdout).toContain("policy registered: val_acc 0.82 meets registration");
    expect(run.stdout).toContain(`Next: modelgate models promote ${name} 1 --stage Staging`);

    const version = parseJson(await cli(["models", "info", `${name}@1`, "--json"]), VersionWithAliasesSchema);
    expect(version).toMatchObject({
      display_name: "Oracle: Farore Secrets",
      base_model: "Qwen/Qwen2.5-Coder-1.5B",
      role: "general",
      locations: { windows: "D:/models/oracle", mac: "/Users/me/models/oracle" },
      primary_location: "windows",
      tags: ["from-file", "lora"],
      metrics: { final_loss: 0.82, val_acc: 0.82 },
      notes: "first run",
    });
  });

  it("prints the edge's 201 body with --json, policy decision included; high metrics go straight to Staging", async () => {
    const name = uniqueName("reg-json");
    const directory = await tempDir();
    const file = await writeJson(directory, "r.json", tensorRegistration(await uploadArtifact()));
    const run = await cli(["models", "register", name, "--file", file, "--metric", "val_acc=0.95", "--json"]);
    const registered = parseJson(run, RegisteredVersionSchema);
    expect(registered).toMatchObject({ name, version: 1, stage: "Staging", policy: { outcome: "staged" } });
  });

  it("builds the artifact from --artifact-uri/--sha256/--bytes without a file", async () => {
    const name = uniqueName("reg-flags");
    const artifact = await uploadArtifact();
    const directory = await tempDir();
    const io = await writeJson(directory, "io.json", tensorRegistration(artifact).io);
    const run = await cli([
      "models",
      "register",
      name,
      "--kind",
      "tensor",
      "--io",
      `@${io}`,
      "--artifact-uri",
      artifact.uri,
      "--sha256",
      artifact.sha256,
      "--bytes",
      String(artifact.bytes),
      "--json",
    ]);
    expect(parseJson(run, RegisteredVersionSchema).artifact).toEqual({ ...artifact, format: "onnx" });
  });

  it("names each invalid field once and exits 5, sending nothing", async () => {
    const directory = await tempDir();
    const file = await writeJson(
      directory,
      "bad.json",
      tensorRegistration(await uploadArtifact(), { role: "Not A Role" }),
    );
    const run = await cli(["models", "register", uniqueName("bad"), "--file", file, "--primary-location", "nowhere"]);
    expect(run.code).toBe(5);
    expect(run.stdout).toBe("");
    expect(count(run.stderr, "must be 1–64 characters")).toBe(1);
    expect(count(run.stderr, "must be one of the keys of locations")).toBe(1);
    expect(run.stderr).toMatch(/^ {2}role: must be 1–64 characters/m);
    expect(run.stderr).toMatch(/^ {2}primary_location: must be one of the keys of locations/m);
    expect(run.stderr).toContain("hint: fix the fields named above");
  });

  it("exits 8 when the artifact was never uploaded, saying to upload it", async () => {
    const directory = await tempDir();
    const artifact = { uri: "s3://modelgate-models/artifacts/sha256/x", sha256: "a".repeat(64), bytes: 10 };
    const file = await writeJson(directory, "r.json", tensorRegistration(artifact));
    const run = await cli(["models", "register", uniqueName("missing"), "--file", file]);
    expect(run.code).toBe(8);
    expect(run.stderr).toContain("422");
    expect(run.stderr).toContain("hint: upload the artifact first (`modelgate models upload <file>`)");
    const json = await cli(["models", "register", uniqueName("missing"), "--file", file, "--json"]);
    expect(ProblemDetailsSchema.parse(JSON.parse(json.stderr)).status).toBe(422);
  });

  it("exits 8 when the model's policy refuses the version, and --skip-policy gets past it", async () => {
    const name = uniqueName("policy");
    const set = await cli(["models", "policy", name, "--register-min", "0.8", "--staging-min", "0.95"]);
    expect(set.code).toBe(0);
    expect(set.stdout).toContain(`${name}: val_acc ≥ 0.8 to register, ≥ 0.95 for Staging`);
    const shown = await cli(["models", "policy", name, "--json"]);
    expect(JSON.parse(shown.stdout)).toEqual({
      name,
      policy: { metric: "val_acc", register_min: 0.8, staging_min: 0.95, higher_is_better: true },
    });
    const directory = await tempDir();
    const file = await writeJson(directory, "r.json", tensorRegistration(await uploadArtifact()));
    const refused = await cli(["models", "register", name, "--file", file, "--metric", "val_acc=0.6"]);
    expect(refused.code).toBe(8);
    expect(refused.stderr).toContain("policy_rejected");
    expect(refused.stderr).toContain("modelgate models policy");
    const forced = await cli(["models", "register", name, "--file", file, "--metric", "val_acc=0.6", "--skip-policy"]);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain("policy not_applied");
    expect((await cli(["models", "policy", name])).stdout).toContain("val_acc ≥ 0.8 to register");
  });
});

describe("models promote", () => {
  it("moves a version to Production and archives the previous one", async () => {
    const name = uniqueName("promote");
    await registerVersion(name);
    await registerVersion(name);
    const first = await cli(["models", "promote", name, "1", "--reason", "passed gates"]);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`${name}@1 is now in Production.`);
    const second = parseJson(await cli(["models", "promote", name, "2", "--json"]), StageChangeResponseSchema);
    expect(second.model.versions.map((v) => [v.version, v.stage])).toEqual([
      [1, "Archived"],
      [2, "Production"],
    ]);
    const keep = await cli(["models", "promote", name, "1", "--no-archive", "--json"]);
    expect(parseJson(keep, StageChangeResponseSchema).model.versions.map((v) => v.stage)).toEqual([
      "Production",
      "Production",
    ]);
  });

  it("exits 4 for a version that does not exist and 2 for a stage that does not", async () => {
    const name = uniqueName("promote-missing");
    await registerVersion(name);
    expect((await cli(["models", "promote", name, "9"])).code).toBe(4);
    const bad = await cli(["models", "promote", name, "1", "--stage", "Prod"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("Allowed choices are None, Staging, Production, Archived");
  });
});

describe("models edit, alias, unalias", () => {
  it("edits metadata as a new revision, adding and removing list entries", async () => {
    const name = uniqueName("edit");
    await registerVersion(name, { tags: ["a", "b"], locations: { mac: "/m" } });
    const run = await cli([
      "models",
      "edit",
      name,
      "1",
      "--add-tag",
      "c",
      "--remove-tag",
      "a",
      "--location",
      "win=D:/w",
      "--notes",
      "retrained head",
      "--role",
      "asm",
      "--reason",
      "review",
      "--json",
    ]);
    const version = parseJson(run, ModelVersionSchema);
    expect(version).toMatchObject({
      metadata_revision: 2,
      tags: ["b", "c"],
      locations: { mac: "/m", win: "D:/w" },
      notes: "retrained head",
      role: "asm",
    });
    const cleared = parseJson(
      await cli(["models", "edit", name, "1", "--clear", "notes", "--json"]),
      ModelVersionSchema,
    );
    expect(cleared.notes).toBeUndefined();
    expect(cleared.metadata_revision).toBe(3);
    const human = await cli(["models", "edit", name, "1", "--tag", "only"]);
    expect(human.stdout).toMatch(/^ {2}Tags\s+only$/m);
    const nothing = await cli(["models", "edit", name, "1"]);
    expect(nothing.code).toBe(5);
    expect(nothing.stderr).toContain("name at least one metadata field to change");
  });

  it("points an alias at a version, resolves name@alias, and removes it", async () => {
    const name = uniqueName("alias");
    await registerVersion(name);
    await registerVersion(name);
    const set = await cli(["models", "alias", name, "champion", "1"]);
    expect(set.code).toBe(0);
    expect(set.stdout).toContain(`${name}@champion → v1`);
    const resolved = parseJson(await cli(["models", "info", `${name}@champion`, "--json"]), VersionWithAliasesSchema);
    expect(resolved).toMatchObject({ version: 1, aliases: ["champion"] });
    const reserved = await cli(["models", "alias", name, "production", "2"]);
    expect(reserved.code).toBe(5);
    expect(count(reserved.stderr, "reserved names")).toBe(1);
    expect((await cli(["models", "unalias", name, "champion"])).code).toBe(0);
    expect((await cli(["models", "info", `${name}@champion`])).code).toBe(4);
  });
});

describe("models delete", () => {
  it("refuses without a terminal unless --yes, with a hint", async () => {
    const name = uniqueName("delete-tty");
    await registerVersion(name);
    const run = await cli(["models", "delete", `${name}@1`]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("hint: pass --yes");
    const declined = await cli(["models", "delete", `${name}@1`], { answer: "no" });
    expect(declined.code).toBe(2);
    expect(declined.stderr).toContain(`delete ${name}@1? Type "yes" to confirm`);
    expect(parseJson(await cli(["models", "info", name, "--json"]), ModelViewSchema).versions).toHaveLength(1);
    const confirmed = await cli(["models", "delete", `${name}@1`], { answer: "yes" });
    expect(confirmed.code).toBe(0);
    expect(confirmed.stdout).toContain(`Deleted ${name} (v1); artifacts kept in object storage.`);
  });

  it("exits 7 for a Production version without --force; --force deletes, and the history stays", async () => {
    const name = uniqueName("delete-prod");
    await registerVersion(name);
    await registerVersion(name);
    expect((await cli(["models", "promote", name, "1"])).code).toBe(0);
    const refused = await cli(["models", "delete", name, "--yes"]);
    expect(refused.code).toBe(7);
    expect(refused.stderr).toContain("pass --force");
    const version = parseJson(await cli(["models", "delete", `${name}@2`, "--yes", "--json"]), DeletedSchema);
    expect(version).toEqual({ name, removed: [2], purged: [] });
    const whole = await cli(["models", "delete", name, "--yes", "--force", "--purge", "--reason", "retired", "--json"]);
    expect(parseJson(whole, DeletedSchema)).toMatchObject({ name, removed: [1] });
    expect(parseJson(whole, DeletedSchema).purged).toHaveLength(1);
    expect((await cli(["models", "info", name])).code).toBe(4);
    const history = await cli(["models", "history", name]);
    expect(history.code).toBe(0);
    expect(history.stdout).toMatch(/model_deleted\s+-\s+-→Deleted\s+artifact purged; retired/);
  });

  it("takes only a version number after @", async () => {
    const run = await cli(["models", "delete", "some-model@production", "--yes"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("expected some-model@<version number>");
  });
});
