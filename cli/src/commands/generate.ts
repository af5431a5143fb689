import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import {
  type CawsTier,
  CawsTierSchema,
  type ChatMessage,
  type GenerateRequest,
  GenerateRequestSchema,
  JsonSchemaJudgeSchema,
  type JudgeSpec,
  RegexJudgeSchema,
  type RuntimeConfigOverrides,
} from "@modelgate/shared";
import { type Command, InvalidArgumentError, Option } from "commander";
import { collect, integerInRange, numberInRange, parseModelRef } from "../arguments.js";
import { UsageError } from "../cli-errors.js";

/**
 * `generate`'s flags and how they become a `POST /v1/generate` body. Everything is checked
 * here, before a connection is even resolved, so a bad flag never costs a request.
 */

export interface GenerateOptions {
  json?: boolean;
  stream?: boolean;
  maxNewTokens?: number;
  minNewTokens?: number;
  temperature?: number;
  seed?: number;
  topK?: number;
  topP?: number;
  repetitionPenalty?: number;
  stop?: string[];
  system?: string;
  chat?: boolean;
  judgeRegex?: string;
  judgeFlags?: string;
  judgeSchema?: string;
  judgeModel?: string;
  maxLoops?: number;
  judgeThreshold?: number;
  haltThreshold?: number;
  tier?: CawsTier;
  latent?: boolean;
  includeLatent?: boolean;
}

const JUDGE_HINT =
  "pick one judge: --judge-regex <pattern> [--judge-flags i], --judge-schema <file.json | '{…}'> or --judge-model <name[@ref]>";
const SCHEMA_HINT =
  'pass a JSON Schema as a file (--judge-schema answer.schema.json) or inline (--judge-schema \'{"type":"object"}\')';
const STOP_HINT = "give up to 8 stop strings of 1 to 64 characters, one per --stop";

/** `--top-p`: nucleus sampling needs some probability mass, so 0 is refused (1 keeps every token). */
function parseTopP(value: string): number {
  const number = Number(value);
  if (value.trim() === "" || !Number.isFinite(number) || number <= 0 || number > 1) {
    throw new InvalidArgumentError("expected a number greater than 0 and at most 1");
  }
  return number;
}

/** A schema given inline starts like JSON; anything else names a file (`@file` as with --data works too). */
async function readJudgeSchema(raw: string, cwd: string): Promise<unknown> {
  const trimmed = raw.trim();
  const inline = trimmed.startsWith("{") || trimmed === "true" || trimmed === "false";
  let text = raw;
  const file = raw.startsWith("@") ? raw.slice(1) : raw;
  if (!inline) {
    try {
      text = await readFile(resolve(cwd, file), "utf8");
    } catch (error) {
      const reason = error instanceof Error && "code" in error ? String(error.code) : String(error);
      throw new UsageError(`Cannot read --judge-schema file ${file} (${reason}).`, SCHEMA_HINT);
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const what = inline ? "--judge-schema" : `--judge-schema file ${file}`;
    throw new UsageError(
      `${what} is not valid JSON (${error instanceof Error ? error.message : String(error)}).`,
      SCHEMA_HINT,
    );
  }
  // Only the shape is checked here; whether it is a valid JSON Schema is the worker's call (exit 5, judge.schema).
  const checked = JsonSchemaJudgeSchema.shape.schema.safeParse(value);
  if (!checked.success) {
    const message = checked.error.issues[0]?.message ?? "invalid";
    throw new UsageError(`--judge-schema must be a JSON object or boolean (${message}).`, SCHEMA_HINT);
  }
  return checked.data;
}

async function judgeFromOptions(options: GenerateOptions, cwd: string): Promise<JudgeSpec | undefined> {
  const given = [options.judgeRegex, options.judgeSchema, options.judgeModel].filter((value) => value !== undefined);
  if (given.length > 1) throw new UsageError("Give at most one judge.", JUDGE_HINT);
  if (options.judgeFlags !== undefined && options.judgeRegex === undefined) {
    throw new UsageError("--judge-flags applies to --judge-regex only.", JUDGE_HINT);
  }
  if (options.judgeRegex !== undefined) {
    const judge = {
      type: "regex" as const,
      pattern: options.judgeRegex,
      ...(options.judgeFlags === undefined ? {} : { flags: options.judgeFlags }),
    };
    const checked = RegexJudgeSchema.safeParse(judge);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      const flag = issue?.path[0] === "flags" ? "--judge-flags" : "--judge-regex";
      throw new UsageError(
        `${flag} ${issue?.message ?? "is invalid"}.`,
        "write the pattern in JavaScript syntax, with flags from i, m, s, u and v",
      );
    }
    return judge;
  }
  if (options.judgeSchema !== undefined) {
    const schema = await readJudgeSchema(options.judgeSchema, cwd);
    return { type: "json_schema", schema: schema as Record<string, unknown> | boolean };
  }
  if (options.judgeModel !== undefined) return { type: "model", model: options.judgeModel };
  return undefined;
}

function stopStrings(stop: string[] | undefined): string[] | undefined {
  if (stop === undefined) return undefined;
  if (stop.length > 8) throw new UsageError(`--stop was given ${stop.length} times; at most 8 are allowed.`, STOP_HINT);
  const bad = stop.find((s) => s.length === 0 || s.length > 64);
  if (bad !== undefined) throw new UsageError(`--stop "${bad}" must be 1 to 64 characters long.`, STOP_HINT);
  return stop;
}

function runtimeConfigFromOptions(options: GenerateOptions): RuntimeConfigOverrides | undefined {
  const config: RuntimeConfigOverrides = {
    ...(options.maxLoops === undefined ? {} : { max_refinement_loops: options.maxLoops }),
    ...(options.judgeThreshold === undefined ? {} : { judge_score_threshold: options.judgeThreshold }),
    ...(options.haltThreshold === undefined ? {} : { halt_probability_threshold: options.haltThreshold }),
    ...(options.tier === undefined ? {} : { caws_tier: options.tier }),
    ...(options.latent === true ? { latent_mode_enabled: true } : {}),
  };
  return Object.keys(config).length === 0 ? undefined : config;
}

/** Every flag checked and mapped onto the request before anything is sent. */
export async function buildGenerateRequest(
  model: string,
  prompt: string,
  options: GenerateOptions,
  cwd: string,
): Promise<GenerateRequest> {
  if (prompt.length === 0) throw new UsageError("The prompt is empty.", "pass the prompt text as an argument");
  // A system message only exists in chat form, so --system implies --chat.
  const chat = options.chat === true || options.system !== undefined;
  const messages: ChatMessage[] = [
    ...(options.system === undefined ? [] : [{ role: "system" as const, content: options.system }]),
    { role: "user", content: prompt },
  ];
  const judge = await judgeFromOptions(options, cwd);
  const stop = stopStrings(options.stop);
  const runtimeConfig = runtimeConfigFromOptions(options);
  const request: GenerateRequest = {
    model,
    ...(chat ? { messages } : { prompt }),
    ...(options.maxNewTokens === undefined ? {} : { max_new_tokens: options.maxNewTokens }),
    ...(options.minNewTokens === undefined ? {} : { min_new_tokens: options.minNewTokens }),
    ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    ...(options.topK === undefined ? {} : { top_k: options.topK }),
    ...(options.topP === undefined ? {} : { top_p: options.topP }),
    ...(options.repetitionPenalty === undefined ? {} : { repetition_penalty: options.repetitionPenalty }),
    ...(stop === undefined ? {} : { stop }),
    ...(runtimeConfig === undefined ? {} : { runtime_config: runtimeConfig }),
    ...(judge === undefined ? {} : { judge }),
    ...(options.includeLatent === true ? { include_latent: true } : {}),
  };
  // The flags above are checked one by one; the shared schema catches what only shows in combination.
  const checked = GenerateRequestSchema.safeParse(request);
  if (!checked.success) {
    const issues = checked.error.issues.map((issue) => `${issue.path.join(".") || "(body)"}: ${issue.message}`);
    throw new UsageError(`The request would be refused: ${issues.join("; ")}.`, "fix the flags named above");
  }
  return request;
}

/** Adds `generate`'s flags (each range-checked as it is parsed) to the command. */
export function addGenerateOptions(command: Command): Command {
  return command
    .option("--max-new-tokens <n>", "tokens to generate at most (1-8192)", integerInRange(1, 8192))
    .option("--min-new-tokens <n>", "no end-of-sequence before this many tokens (0-8192)", integerInRange(0, 8192))
    .option("--temperature <t>", "sampling temperature, 0 for greedy (0-5)", numberInRange(0, 5))
    .option("--seed <s>", "sampling seed for reproducible output", integerInRange(0, 2 ** 32 - 1))
    .option("--top-k <k>", "sample among the k most likely tokens only (1-1000)", integerInRange(1, 1000))
    .option(
      "--top-p <p>",
      "nucleus sampling: the most likely tokens that reach probability p (above 0, at most 1)",
      parseTopP,
    )
    .option("--repetition-penalty <r>", "penalty on tokens already seen, 1 for none (1-10)", numberInRange(1, 10))
    .option("--stop <s>", "end the answer where it ends with s (repeatable, up to 8)", collect)
    .option("--chat", "send the prompt as a user message, so the model's chat template applies")
    .option("--system <text>", "a system message before the prompt (implies --chat)")
    .option("--judge-regex <pattern>", "judge each loop: the answer must match this JavaScript pattern")
    .option("--judge-flags <flags>", "flags for --judge-regex (i, m, s, u, v)")
    .option(
      "--judge-schema <schema>",
      "judge each loop: the answer must be JSON valid against this schema (file or inline JSON)",
    )
    .option("--judge-model <name[@ref]>", "judge each loop with a registered scorer model", parseModelRef)
    .option("--max-loops <n>", "refinement loops at most (1-16; the CAWS tier caps it)", integerInRange(1, 16))
    .option("--judge-threshold <p>", "judge score that ends refinement (0-1)", numberInRange(0, 1))
    .option("--halt-threshold <p>", "halt-head probability that ends refinement (0-1)", numberInRange(0, 1))
    .addOption(new Option("--tier <tier>", "CAWS tier: the loop and latent budget").choices(CawsTierSchema.options))
    .option("--latent", "enable latent reasoning spans (runtime_config.latent_mode_enabled)")
    .option("--include-latent", "keep <bot>…<eot> latent spans in the text")
    .option("--stream", "print text as it is generated (server-sent events)")
    .option("--json", "print the raw JSON response (with --stream: one JSON line per event)");
}
