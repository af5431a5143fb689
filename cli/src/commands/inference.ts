import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import {
  type GenerateRequest,
  type GenerateResponse,
  PredictRequestSchema,
  type PredictResponse,
  type RefinementLoop,
} from "@modelgate/shared";
import type { Command } from "commander";
import { parseModelRef } from "../arguments.js";
import { UsageError } from "../cli-errors.js";
import { EdgeProblemError, type GenerationStream, type RoutedResponse } from "../edge-client.js";
import { formatMs, formatTable } from "../output.js";
import type { CliSession } from "../session.js";
import { addGenerateOptions, buildGenerateRequest, type GenerateOptions } from "./generate.js";

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

type Route = Pick<RoutedResponse<unknown>, "worker" | "routeReason">;

function describeRoute(model: string, version: number, route: Route, workerId: string): string {
  const reason = route.routeReason ? `; route: ${route.routeReason}` : "";
  return `${model}@${version} on ${route.worker ?? workerId}${reason}`;
}

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? "" : "s"}`;

/** `loop 1: 24 tokens, judge 0.30, halt 0.12 — <feedback>` */
function describeLoop(loop: RefinementLoop): string {
  const judge = loop.judge_score === null ? "" : `, judge ${loop.judge_score.toFixed(2)}`;
  const halt = loop.halt_probability === null ? "" : `, halt ${loop.halt_probability.toFixed(2)}`;
  const feedback = loop.judge_feedback ? ` — ${loop.judge_feedback}` : "";
  return `loop ${loop.loop}: ${plural(loop.tokens, "token")}${judge}${halt}${feedback}`;
}

/**
 * The loop whose answer was returned. It is the last one unless the loop budget ran out, when
 * the best-scored answer wins; the response does not number it, so it is found by its content.
 */
function answeringLoop(g: GenerateResponse): RefinementLoop | undefined {
  return g.loops.findLast(
    (loop) => loop.text === g.text && loop.tokens === g.tokens_generated && loop.prompt_tokens === g.prompt_tokens,
  );
}

/** Run details for stderr; `withLoops` adds one line per loop (streaming printed them as they came). */
function generationSummary(g: GenerateResponse, route: Route, request: GenerateRequest, withLoops: boolean): string {
  const lines = [describeRoute(g.model, g.version, route, g.worker_id)];
  // The CAWS tier (the request's, capped by the key's) silently clamps the loop budget; say so.
  const askedLoops = request.runtime_config?.max_refinement_loops;
  const allowedLoops = g.runtime_config.max_refinement_loops;
  if (askedLoops !== undefined && allowedLoops < askedLoops) {
    lines.push(`--max-loops ${askedLoops} was capped to ${allowedLoops} by ${g.runtime_config.caws_tier}`);
  }
  if (withLoops && g.loops.length > 1) lines.push(...g.loops.map(describeLoop));
  const answer = answeringLoop(g);
  if (answer !== undefined && answer.loop !== g.loops.length) {
    lines.push(`final answer: loop ${answer.loop} of ${g.loops.length} (the best judge score)`);
  }
  const halt = g.halt_probability === null ? "" : `, halt p=${g.halt_probability.toFixed(2)}`;
  const judge = answer?.judge_score == null ? "" : `, judge ${answer.judge_score.toFixed(2)}`;
  lines.push(
    [
      `${plural(g.tokens_generated, "token")} (${g.finish_reason}${halt})`,
      `${plural(g.refinement_loops, "loop")} (${g.stop_reason})${judge}`,
      plural(g.latent_spans_used, "latent span"),
      formatMs(g.inference_time_ms),
      `${g.tokens_per_second.toFixed(1)} tok/s`,
      `seed ${g.seed}`,
    ].join(", "),
  );
  return lines.join("\n");
}

function printGeneration(
  session: CliSession,
  routed: RoutedResponse<GenerateResponse>,
  request: GenerateRequest,
): void {
  session.emit(routed.body, (g) => g.text);
  session.note(generationSummary(routed.body, routed, request, true));
}

/**
 * Text goes to stdout as it arrives; loops are separated on stderr, so stdout still pipes only
 * text. An `error` event fails the run like an error status would have (same exit code).
 */
async function printGenerationStream(
  session: CliSession,
  stream: GenerationStream,
  request: GenerateRequest,
): Promise<void> {
  if (session.json) {
    for await (const event of stream.events) {
      session.print(JSON.stringify({ event: event.event, data: event.raw }));
      if (event.event === "error") throw new EdgeProblemError(event.data);
    }
    return;
  }
  let shownLoop = 0;
  let atLineStart = true;
  const write = (text: string) => {
    if (text === "") return;
    session.io.stdout(text);
    atLineStart = text.endsWith("\n");
  };
  // Before anything goes to stderr, so a terminal shows the separator on a line of its own.
  const endLine = () => {
    if (!atLineStart) write("\n");
  };
  const enterLoop = (loop: number) => {
    if (loop <= shownLoop) return;
    if (loop > 1) {
      endLine();
      session.note(`--- loop ${loop} ---`);
    }
    shownLoop = loop;
  };
  try {
    for await (const event of stream.events) {
      if (event.event === "token") {
        enterLoop(event.data.loop);
        write(event.data.text);
      } else if (event.event === "loop") {
        enterLoop(event.data.loop);
        if (request.judge !== undefined) {
          endLine();
          session.note(describeLoop(event.data));
        }
      } else if (event.event === "done") {
        endLine();
        session.note(generationSummary(event.data, stream, request, false));
      } else {
        throw new EdgeProblemError(event.data);
      }
    }
  } finally {
    endLine();
  }
}

export function formatPredictions(p: PredictResponse): string {
  const rows = p.predictions.map((prediction, row) => [
    String(row),
    String(prediction),
    (p.probabilities[row] ?? []).map((probability) => probability.toFixed(3)).join(" "),
  ]);
  return formatTable(["ROW", "PREDICTION", "PROBABILITIES"], rows);
}

/** `generate` and `predict`: the two inference routes, by model kind. */
export function registerInferenceCommands(program: Command, session: CliSession): void {
  const generate = program
    .command("generate")
    .description("generate text with a causal-lm model (text on stdout, run details on stderr)")
    .argument("<model>", "`name` (its Production version), `name@<version>` or `name@staging`", parseModelRef)
    .argument("<prompt>", "the prompt text (the user message with --chat)");
  addGenerateOptions(generate).action(
    async (model: string, prompt: string, options: GenerateOptions, command: Command) => {
      const request = await buildGenerateRequest(model, prompt, options, session.io.cwd);
      const client = await session.client(command);
      if (options.stream === true) {
        await printGenerationStream(session, await client.generateStream(request), request);
      } else {
        printGeneration(session, await client.generate(request), request);
      }
    },
  );

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
