/**
 * The edge's structured log: one JSON object per line on the Workers console (`wrangler tail`,
 * Workers Logs, or `wrangler dev`'s output), the same shape as the GPU worker's pino lines
 * (`time`, `level`, `service`, `msg`, then fields), so one log pipeline reads both.
 *
 * What is logged is chosen field by field at each call: request ids, routes, statuses, model and
 * worker names and durations. Keys, secrets, signatures and prompt text are never passed in.
 */

export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

let threshold: LogLevel = "info";

/** Set from `MODELGATE_LOG_LEVEL` once the isolate's configuration is validated. */
export function setEdgeLogLevel(level: LogLevel): void {
  threshold = level;
}

export function edgeLogLevel(): LogLevel {
  return threshold;
}

export function logEnabled(level: Exclude<LogLevel, "silent">): boolean {
  return RANK[level] >= RANK[threshold];
}

/** Errors as their name and message; the stack too at error level, where an operator needs it. */
function describe(value: unknown, withStack: boolean): unknown {
  if (!(value instanceof Error)) return value;
  return withStack
    ? { name: value.name, message: value.message, stack: value.stack }
    : { name: value.name, message: value.message };
}

export function logEvent(
  level: Exclude<LogLevel, "silent">,
  message: string,
  fields: Readonly<Record<string, unknown>> = {},
): void {
  if (!logEnabled(level)) return;
  const line: Record<string, unknown> = {
    time: new Date().toISOString(),
    level,
    service: "modelgate-edge",
    msg: message,
  };
  for (const [name, value] of Object.entries(fields))
    if (value !== undefined) line[name] = describe(value, level === "error");
  const text = JSON.stringify(line);
  // The console method sets the level Workers Logs and `wrangler tail` record (and `wrangler dev`
  // prints console.info at its info level, console.log only at its more verbose "log" level).
  if (level === "error") console.error(text);
  else if (level === "warn") console.warn(text);
  else if (level === "info") console.info(text);
  else console.debug(text);
}
