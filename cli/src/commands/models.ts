import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { RegisterVersionRequestSchema, type Stage, StageSchema, validationError } from "@modelgate/shared";
import { type Command, Option } from "commander";
import { integerInRange, parseModelName } from "../arguments.js";
import { UsageError } from "../cli-errors.js";
import type { CliSession } from "../session.js";
import {
  formatModelList,
  formatModelRecord,
  formatModelVersion,
  formatRegistered,
  formatStageChange,
} from "./models-format.js";

interface JsonOption {
  json?: boolean;
}

const parseVersionNumber = integerInRange(1, 999_999_999);

/** Reads and checks a registration document before sending it, so mistakes cost no round trip. */
async function readRegistration(file: string, cwd: string): Promise<unknown> {
  const path = resolve(cwd, file);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const reason = error instanceof Error && "code" in error ? String(error.code) : String(error);
    throw new UsageError(`Cannot read --file ${file} (${reason}).`, "pass the path of a registration JSON file");
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UsageError(`--file ${file} is not valid JSON: ${reason}`, "fix the JSON syntax and try again");
  }
  // Same schema and field names as the edge's 400 answer, hence the same exit code (5).
  const parsed = RegisterVersionRequestSchema.safeParse(document);
  if (!parsed.success) throw validationError(parsed.error, `version registration in ${file}`);
  return document;
}

export function registerModelCommands(program: Command, session: CliSession): void {
  const models = program.command("models").description("the model registry: list, inspect, register, promote");

  models
    .command("list")
    .description("list registered models with their Production and Staging versions")
    .option("--json", "print the raw JSON response")
    .action(async (_options: JsonOption, command: Command) => {
      const client = await session.client(command);
      session.emit(await client.listModels(), (list) => formatModelList(list));
    });

  models
    .command("info")
    .description("show a model's versions, or one version in detail")
    .argument("<name>", "model name", parseModelName)
    .option(
      "--version <n>",
      "show only this version, with its artifact, I/O contract and stage history",
      parseVersionNumber,
    )
    .option("--json", "print the raw JSON response")
    .action(async (name: string, options: JsonOption & { version?: number }, command: Command) => {
      const client = await session.client(command);
      if (options.version === undefined) {
        session.emit(await client.getModel(name), (record) => formatModelRecord(record));
      } else {
        session.emit(await client.getVersion(name, options.version), (version) => formatModelVersion(version));
      }
    });

  models
    .command("register")
    .description("register a new version from a registration JSON file (kind, artifact, io, …)")
    .argument("<name>", "model name; created on its first version", parseModelName)
    .requiredOption("--file <registration.json>", "the registration document (RegisterVersionRequest)")
    .option("--json", "print the raw JSON response")
    .action(async (name: string, options: JsonOption & { file: string }, command: Command) => {
      const registration = await readRegistration(options.file, session.io.cwd);
      const client = await session.client(command);
      session.emit(await client.registerVersion(name, registration), (version) => formatRegistered(version));
    });

  models
    .command("promote")
    .description("move a version to another stage (Production by default; the old Production is archived)")
    .argument("<name>", "model name", parseModelName)
    .requiredOption("--version <n>", "the version to move", parseVersionNumber)
    .addOption(new Option("--stage <stage>", "the target stage").choices(StageSchema.options).default("Production"))
    .option("--reason <text>", "why, kept in the version's stage history")
    .option("--no-archive", "keep the current Production version where it is instead of archiving it")
    .option("--json", "print the raw JSON response")
    .action(
      async (
        name: string,
        options: JsonOption & { version: number; stage: Stage; reason?: string; archive: boolean },
        command: Command,
      ) => {
        const client = await session.client(command);
        const result = await client.changeStage(name, options.version, {
          stage: options.stage,
          archive_existing: options.archive,
          ...(options.reason === undefined ? {} : { reason: options.reason }),
        });
        session.emit(result, ({ version, model }) => formatStageChange(version, model));
      },
    );
}
