import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import {
  ArtifactFormatSchema,
  ModelKindSchema,
  RegisterVersionRequestSchema,
  UploadArtifactSchema,
  validationError,
} from "@modelgate/shared";
import { type Command, Option } from "commander";
import { collect, collectNumbers, collectPairs, integerInRange, parseModelName, parseNumber } from "../arguments.js";
import { UsageError } from "../cli-errors.js";
import type { CliSession } from "../session.js";
import { formatRegistered } from "./models-format.js";

type Document = Record<string, unknown>;

interface RegisterOptions {
  file?: string;
  kind?: string;
  io?: string;
  displayName?: string;
  description?: string;
  base?: string;
  role?: string;
  group?: string;
  location?: Record<string, string>;
  primaryLocation?: string;
  tag?: string[];
  category?: string[];
  backend?: string[];
  notes?: string;
  metric?: Record<string, number>;
  benchmark?: Record<string, number>;
  perplexity?: number;
  dataset?: string;
  trainingDate?: string;
  duration?: number;
  hardware?: string;
  device?: string;
  gitCommit?: string;
  memoryMb?: number;
  fromUpload?: string;
  artifactUri?: string;
  sha256?: string;
  bytes?: number;
  format?: string;
  policy: boolean;
  json?: boolean;
}

async function readJsonFile(file: string, cwd: string, flag: string, hint: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(resolve(cwd, file), "utf8");
  } catch (error) {
    const reason = error instanceof Error && "code" in error ? String(error.code) : String(error);
    throw new UsageError(`Cannot read ${flag} ${file} (${reason}).`, hint);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UsageError(`${flag} ${file} is not valid JSON: ${reason}`, "fix the JSON syntax and try again");
  }
}

const asObject = (value: unknown): Document =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? { ...(value as Document) } : {};

/** `--io '{"inputs":…}'` or `--io @io.json`. */
async function readIo(value: string, cwd: string): Promise<unknown> {
  if (value.startsWith("@")) {
    return readJsonFile(value.slice(1), cwd, "--io", "pass the I/O contract as JSON or @file.json");
  }
  try {
    return JSON.parse(value);
  } catch {
    throw new UsageError("--io is not valid JSON.", 'pass {"inputs":[…],"outputs":[…]} or @io.json');
  }
}

/** `models upload --json` prints the completed upload; its `artifact` (and `format`) is what registration needs. */
async function readUpload(file: string, cwd: string): Promise<Document> {
  const document = asObject(
    await readJsonFile(file, cwd, "--from-upload", "pass the file `modelgate models upload <file> --json` wrote"),
  );
  const artifact = UploadArtifactSchema.safeParse(document.artifact ?? document);
  if (!artifact.success) {
    throw new UsageError(
      `--from-upload ${file} has no artifact (uri, sha256, bytes).`,
      "save the output of `modelgate models upload <file> --json` and pass that file",
    );
  }
  const format = ArtifactFormatSchema.safeParse(document.format);
  return { ...artifact.data, ...(format.success ? { format: format.data } : {}) };
}

function setIfDefined(target: Document, field: string, value: unknown): void {
  if (value !== undefined) target[field] = value;
}

/**
 * The registration document: `--file` as the base, then each flag fills or overrides its
 * field (lists and maps are extended, not replaced), the way seed 003's flags describe a run.
 */
async function buildRegistration(options: RegisterOptions, cwd: string): Promise<Document> {
  const document = options.file
    ? asObject(await readJsonFile(options.file, cwd, "--file", "pass the path of a registration JSON file"))
    : {};
  setIfDefined(document, "kind", options.kind);
  if (options.io !== undefined) document.io = await readIo(options.io, cwd);
  setIfDefined(document, "display_name", options.displayName);
  setIfDefined(document, "description", options.description);
  setIfDefined(document, "base_model", options.base);
  setIfDefined(document, "role", options.role);
  setIfDefined(document, "group", options.group);
  setIfDefined(document, "notes", options.notes);
  setIfDefined(document, "perplexity", options.perplexity);
  setIfDefined(document, "training_date", options.trainingDate);
  setIfDefined(document, "training_duration_minutes", options.duration);
  setIfDefined(document, "hardware", options.hardware);
  setIfDefined(document, "device", options.device);
  setIfDefined(document, "git_commit", options.gitCommit);
  setIfDefined(document, "memory_mb", options.memoryMb);
  setIfDefined(document, "primary_location", options.primaryLocation);
  if (options.dataset !== undefined) document.dataset = { ...asObject(document.dataset), name: options.dataset };
  const union = (field: string, values: string[] | undefined) => {
    if (values === undefined) return;
    const existing = Array.isArray(document[field]) ? (document[field] as unknown[]) : [];
    document[field] = [...new Set([...existing, ...values])];
  };
  union("tags", options.tag);
  union("categories", options.category);
  union("deployed_backends", options.backend);
  const merge = (field: string, values: Record<string, unknown> | undefined) => {
    if (values !== undefined) document[field] = { ...asObject(document[field]), ...values };
  };
  merge("locations", options.location);
  merge("metrics", options.metric);
  merge("benchmark_scores", options.benchmark);
  // A location given alone is the primary one, as in seed 003's `--location windows`.
  if (document.primary_location === undefined && options.location && Object.keys(options.location).length === 1) {
    document.primary_location = Object.keys(options.location)[0];
  }

  const artifact = asObject(document.artifact);
  if (options.fromUpload !== undefined) Object.assign(artifact, await readUpload(options.fromUpload, cwd));
  setIfDefined(artifact, "uri", options.artifactUri);
  setIfDefined(artifact, "sha256", options.sha256);
  setIfDefined(artifact, "bytes", options.bytes);
  setIfDefined(artifact, "format", options.format);
  if (Object.keys(artifact).length > 0) {
    artifact.format ??= "onnx";
    document.artifact = artifact;
  }
  if (!options.policy) document.apply_policy = false;
  return document;
}

/** `modelgate models register <name> [--file registration.json] [flags…]`. */
export function registerRegisterCommand(models: Command, session: CliSession): void {
  models
    .command("register")
    .description("register a new version: a registration JSON file and/or flags (the artifact must be uploaded first)")
    .argument("<name>", "model name; created on its first version", parseModelName)
    .option("--file <registration.json>", "the registration document (RegisterVersionRequest); flags override it")
    .addOption(new Option("--kind <kind>", "model kind").choices(ModelKindSchema.options))
    .option("--io <json|@file>", "the I/O contract: {inputs:[…], outputs:[…]}")
    .option("--display-name <text>", 'display name, e.g. "Oracle: Farore Secrets"')
    .option("--description <text>", "what the model does")
    .option("--base <model>", "base model, e.g. Qwen/Qwen2.5-Coder-1.5B")
    .option("--role <role>", "role, e.g. general or asm")
    .option("--group <group>", "group, e.g. a team or a model family")
    .option("--location <name=path>", "where a copy lives (repeatable)", collectPairs("--location name=path"))
    .option("--primary-location <name>", "which location is the primary one")
    .option("--tag <tag>", "a tag (repeatable)", collect)
    .option("--category <category>", "a task category for routing (repeatable)", collect)
    .option("--backend <backend>", "a backend it is deployed to (repeatable)", collect)
    .option("--notes <text>", "free-form notes")
    .option("--metric <name=value>", "a training metric, e.g. val_acc=0.93 (repeatable)", collectNumbers)
    .option("--benchmark <name=score>", "a benchmark score 0-100 (repeatable)", collectNumbers)
    .option("--perplexity <value>", "perplexity", parseNumber)
    .option("--dataset <name>", "the dataset's name")
    .option("--training-date <date>", "when it was trained (ISO date or date-time)")
    .option("--duration <minutes>", "training duration in minutes", parseNumber)
    .option("--hardware <text>", "training hardware, e.g. RTX 5060 Ti")
    .option("--device <text>", "training device, e.g. cuda")
    .option("--git-commit <sha>", "the commit the training code was at")
    .option("--memory-mb <n>", "GPU memory the loaded model needs", integerInRange(1, 1024 * 1024))
    .option("--from-upload <upload.json>", "take the artifact from `modelgate models upload <file> --json` output")
    .option("--artifact-uri <s3://bucket/key>", "the uploaded artifact's URI")
    .option("--sha256 <hex>", "the artifact's sha256")
    .option("--bytes <n>", "the artifact's size in bytes", integerInRange(1, 64 * 1024 ** 3))
    .addOption(
      new Option("--format <format>", "the artifact's format (default onnx)").choices(ArtifactFormatSchema.options),
    )
    .option("--skip-policy", "do not apply the model's registration policy (threshold gate, auto-Staging)")
    .option("--json", "print the edge's JSON response")
    .action(async (name: string, raw: Omit<RegisterOptions, "policy"> & { skipPolicy?: boolean }, command: Command) => {
      const options: RegisterOptions = { ...raw, policy: raw.skipPolicy !== true };
      const registration = await buildRegistration(options, session.io.cwd);
      // Same schema and field names as the edge's 400 answer, hence the same exit code (5), no round trip.
      const parsed = RegisterVersionRequestSchema.safeParse(registration);
      if (!parsed.success) {
        throw validationError(parsed.error, `version registration${options.file ? ` in ${options.file}` : ""}`);
      }
      const client = await session.client(command);
      session.emit(await client.registerVersion(name, registration), formatRegistered);
    });
}
