import {
  type AnalyticsWindow,
  type CategoryPerformance,
  type ModelsPerCategory,
  type MultiCategory,
  SELECTION_ANALYSES,
  type SelectionAnalysis,
} from "@modelgate/shared";
import { Argument, type Command } from "commander";
import { UsageError } from "../cli-errors.js";
import { rawBodyOf, type SelectionAnalysisResult } from "../edge-client.js";
import { formatMs, formatTable, formatTimestamp, NONE } from "../output.js";
import type { CliSession } from "../session.js";

/** Requests that named a model rather than `auto:<category>` have no category. */
const EXPLICIT = "(explicit model)";

const category = (name: string | null) => name ?? EXPLICIT;
const percent = (share: number | null) => (share === null ? NONE : `${(share * 100).toFixed(1)}%`);
const decimal = (value: number | null, digits = 3) => (value === null ? NONE : value.toFixed(digits));
const ms = (value: number | null) => (value === null ? NONE : formatMs(value));

function windowLine({ from, to }: AnalyticsWindow): string {
  return `from ${formatTimestamp(from)} to ${formatTimestamp(to)}`;
}

export function formatModelsPerCategory(result: ModelsPerCategory): string {
  if (result.categories.length === 0) return `No model was selected ${windowLine(result.window)}.`;
  const rows = result.categories.flatMap((entry) =>
    entry.models.map((model, index) => [
      index === 0 ? category(entry.task_category) : "",
      model.selected_model,
      String(model.usage_count),
      percent(model.share),
    ]),
  );
  return `Models per category ${windowLine(result.window)}\n${formatTable(["CATEGORY", "MODEL", "REQUESTS", "SHARE"], rows)}`;
}

export function formatMultiCategory(result: MultiCategory): string {
  if (result.models.length === 0) {
    return `No model was selected for more than one category ${windowLine(result.window)}.`;
  }
  const rows = result.models.flatMap((model) => [
    [
      model.selected_model,
      `(${model.categories_served} categories)`,
      String(model.requests),
      String(model.primary_requests),
      String(model.secondary_requests),
      decimal(model.avg_confidence),
    ],
    ...model.categories.map((use) => [
      "",
      use.task_category,
      String(use.requests),
      String(use.primary_requests),
      String(use.secondary_requests),
      decimal(use.avg_confidence),
    ]),
  ]);
  return `Models serving more than one category ${windowLine(result.window)}\n${formatTable(
    ["MODEL", "CATEGORY", "REQUESTS", "PRIMARY", "SECONDARY", "AVG CONFIDENCE"],
    rows,
  )}`;
}

export function formatCategoryPerformance(result: CategoryPerformance): string {
  if (result.categories.length === 0) return `No routed requests ${windowLine(result.window)}.`;
  const rows = result.categories.map((entry) => [
    category(entry.task_category),
    String(entry.requests),
    String(entry.outcomes.ok),
    String(entry.outcomes.client_error),
    String(entry.outcomes.upstream_error),
    String(entry.outcomes.no_worker),
    percent(entry.success_rate),
    ms(entry.latency_ms.p50),
    ms(entry.latency_ms.p95),
    decimal(entry.avg_final_score),
    ms(entry.avg_selection_duration_ms),
    decimal(entry.avg_tokens, 1),
  ]);
  const headers = [
    "CATEGORY",
    "REQUESTS",
    "OK",
    "CLIENT ERR",
    "UPSTREAM ERR",
    "NO WORKER",
    "SUCCESS",
    "P50",
    "P95",
    "AVG SCORE",
    "AVG SELECTION",
    "AVG TOKENS",
  ];
  return `Performance per category ${windowLine(result.window)}\n${formatTable(headers, rows)}\nSUCCESS = ok / (ok + upstream errors + no worker); P50/P95 are the latency of ok requests.`;
}

const FORMATTERS: { [A in SelectionAnalysis]: (result: SelectionAnalysisResult<A>) => string } = {
  "models-per-category": formatModelsPerCategory,
  "multi-category": formatMultiCategory,
  "category-performance": formatCategoryPerformance,
};

function formatAnalysis<A extends SelectionAnalysis>(analysis: A): (result: SelectionAnalysisResult<A>) => string {
  return FORMATTERS[analysis];
}

const RELATIVE = /^(\d{1,6})([mhd])$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * `--from 7d` / `--to 1h`: that long before now; anything else goes to the edge as written
 * (it checks timestamps and names the flag's field in its 400).
 */
export function resolveTimeFlag(value: string | undefined, flag: string, nowMs: number): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === "") throw new UsageError(`${flag} is empty.`, `${flag} takes a timestamp or a duration such as 7d`);
  const relative = RELATIVE.exec(trimmed);
  if (!relative) return trimmed;
  const amount = Number(relative[1]);
  const unit = relative[2] as keyof typeof UNIT_MS;
  return new Date(nowMs - amount * UNIT_MS[unit]).toISOString();
}

interface StatsOptions {
  from?: string;
  to?: string;
  json?: boolean;
}

/** `modelgate stats [analysis]`: seed 002's selection analyses over a window (admin scope). */
export function registerStatsCommand(program: Command, session: CliSession): void {
  program
    .command("stats")
    .description("selection analytics: models per category, multi-category use, performance per category")
    .addArgument(
      new Argument("[analysis]", "one analysis (default: all three)").choices(SELECTION_ANALYSES as readonly string[]),
    )
    .option(
      "--from <time>",
      "window start: ISO timestamp, date, or a duration back from now (30m, 12h, 7d); default 24h before --to",
    )
    .option("--to <time>", "window end (exclusive), same forms; default now")
    .option("--json", "print the edge's JSON (without an analysis: an object keyed by analysis)")
    .action(async (analysis: SelectionAnalysis | undefined, options: StatsOptions, command: Command) => {
      const now = Date.now();
      const window = {
        from: resolveTimeFlag(options.from, "--from", now),
        to: resolveTimeFlag(options.to, "--to", now),
      };
      const client = await session.client(command);
      if (analysis !== undefined) {
        session.emit(await client.selectionAnalysis(analysis, window), formatAnalysis(analysis));
        return;
      }
      const [perCategory, multi, performance] = await Promise.all([
        client.selectionAnalysis("models-per-category", window),
        client.selectionAnalysis("multi-category", window),
        client.selectionAnalysis("category-performance", window),
      ]);
      // With --json: each body exactly as the edge sent it, keyed by analysis.
      const combined = {
        "models-per-category": rawBodyOf(perCategory) ?? perCategory,
        "multi-category": rawBodyOf(multi) ?? multi,
        "category-performance": rawBodyOf(performance) ?? performance,
      };
      session.emit(combined, () =>
        [formatModelsPerCategory(perCategory), formatMultiCategory(multi), formatCategoryPerformance(performance)].join(
          "\n\n",
        ),
      );
    });
}
