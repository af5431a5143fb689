import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { type GenerateResponse, PredictRequestSchema, type PredictResponse } from "@modelgate/shared";
import type { Command } from "commander";
import { integerInRange, numberInRange, parseModelRef } from "../arguments.js";
import { UsageError } from "../cli-errors.js";
import type { RoutedResponse } from "../edge-client.js";
import { formatMs, formatTable } from "../output.js";
import type { CliSession } from "../session.js";

const DATA_HINT = "pass a JSON matrix of numbers, one row per input, e.g. --data '[[0.5,0.3]]' or --data @rows.json";

/** `--data` is checked with the shared request schema here, so a typo never reaches the edge. */
export async function parseDataMatrix(raw: string, cwd: string): Promise<number[][]> {
  let text = raw;
  if (raw.startsWith("@")) {
    const file = raw.slice(1);
    try {
      text = await readFile(resolve(cwd, file), "utf8");
    } catch (error) {
      const reason = error instanceof Error && "code" in error ? String(error.code) : String(error);
      throw new UsageError(`Cannot read --data file ${file} (${reason}).`, DATA_HINT);
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError("--data is not valid JSON.", DATA_HINT);
  }
  const parsed = PredictRequestSchema.shape.data.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` (at [${issue.path.join("][")}]: ${issue.message})` : "";
    throw new UsageError(`--data is not a non-empty matrix of numbers${where}.`, DATA_HINT);
  }
  return parsed.data;
}

function describeRoute(model: string, version: number, routed: RoutedResponse<unknown>, workerId: string): string {
  const route = routed.routeReason ? `; route: ${routed.routeReason}` : "";
  return `${model}@${version} on ${routed.worker ?? workerId}${route}`;
}

function generationSummary(routed: RoutedResponse<GenerateResponse>): string {
  const g = routed.body;
  const halt = g.halt_probability === null ? "" : `, halt p=${g.halt_probability.toFixed(2)}`;
  return [
    describeRoute(g.model, g.version, routed, g.worker_id),
    `${g.tokens_generated} tokens (${g.finish_reason}${halt}), ${formatMs(g.inference_time_ms)}, ${g.tokens_per_second.toFixed(1)} tok/s, seed ${g.seed}`,
  ].join("\n");
}

export function formatPredictions(p: PredictResponse): string {
  const rows = p.predictions.map((prediction, row) => [
    String(row),
    String(prediction),
    (p.probabilities[row] ?? []).map((probability) => probability.toFixed(3)).join(" "),
  ]);
  return formatTable(["ROW", "PREDICTION", "PROBABILITIES"], rows);
}

interface GenerateOptions {
  json?: boolean;
  maxNewTokens?: number;
  temperature?: number;
  seed?: number;
}

/** `generate` and `predict`: the two inference routes, by model kind. */
export function registerInferenceCommands(program: Command, session: CliSession): void {
  program
    .command("generate")
    .description("generate text with a causal-lm model (text on stdout, run details on stderr)")
    .argument("<model>", "`name` (its Production version), `name@<version>` or `name@staging`", parseModelRef)
    .argument("<prompt>", "the prompt text")
    .option("--max-new-tokens <n>", "tokens to generate at most (1-8192)", integerInRange(1, 8192))
    .option("--temperature <t>", "sampling temperature, 0 for greedy (0-5)", numberInRange(0, 5))
    .option("--seed <s>", "sampling seed for reproducible output", integerInRange(0, 2 ** 32 - 1))
    .option("--json", "print the raw JSON response")
    .action(async (model: string, prompt: string, options: GenerateOptions, command: Command) => {
      if (prompt.length === 0) throw new UsageError("The prompt is empty.", "pass the prompt text as an argument");
      const client = await session.client(command);
      const routed = await client.generate({
        model,
        prompt,
        ...(options.maxNewTokens === undefined ? {} : { max_new_tokens: options.maxNewTokens }),
        ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
        ...(options.seed === undefined ? {} : { seed: options.seed }),
      });
      session.emit(routed.body, (g) => g.text);
      session.note(generationSummary(routed));
    });

  program
    .command("predict")
    .description("classify rows of features with a tensor model")
    .argument("<model>", "`name` (its Production version), `name@<version>` or `name@staging`", parseModelRef)
    .requiredOption("--data <matrix>", "rows of features as JSON, e.g. '[[0.5,0.3]]', or @file.json")
    .option("--json", "print the raw JSON response")
    .action(async (model: string, options: { json?: boolean; data: string }, command: Command) => {
      const data = await parseDataMatrix(options.data, session.io.cwd);
      const client = await session.client(command);
      const routed = await client.predict({ model, data });
      session.emit(routed.body, (p) => formatPredictions(p));
      session.note(
        `${describeRoute(routed.body.model, routed.body.version, routed, routed.body.worker_id)}, ${formatMs(routed.body.inference_time_ms)}`,
      );
    });
}
