/**
 * The worker's logging seam: JSON lines from pino (one object per line: `time`, `level`,
 * `service`, `worker_id`, `msg`, then fields), the same shape as the edge's, so one log
 * pipeline reads both. Callers choose every field they pass; keys, secrets, signatures and
 * prompt text are never among them, and pino's redaction blanks the usual secret-bearing names
 * anyway, should one slip in.
 */
import pino from "pino";

export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface WorkerLoggerOptions {
  level?: LogLevel;
  workerId?: string;
  /** Where lines go; stdout by default. Tests pass a stream to read them back. */
  destination?: pino.DestinationStream;
}

/** Errors as their name and message; the stack too at error level, where an operator needs it. */
function describe(value: unknown, withStack: boolean): unknown {
  if (!(value instanceof Error)) return value;
  return withStack
    ? { name: value.name, message: value.message, stack: value.stack }
    : { name: value.name, message: value.message };
}

function fieldsFor(fields: Record<string, unknown> | undefined, withStack: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields ?? {}))
    if (value !== undefined) out[name] = describe(value, withStack);
  return out;
}

const REDACTED_PATHS = [
  "authorization",
  "*.authorization",
  "token",
  "*.token",
  "secret",
  "*.secret",
  "signature",
  "*.signature",
  "prompt",
  "*.prompt",
];

export function createWorkerLogger(options: WorkerLoggerOptions = {}): Logger {
  const base: Record<string, string> = { service: "modelgate-gpu-worker" };
  if (options.workerId !== undefined) base.worker_id = options.workerId;
  const logger = pino(
    {
      level: options.level ?? "info",
      base,
      messageKey: "msg",
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    },
    options.destination,
  );
  return {
    debug: (message, fields) => logger.debug(fieldsFor(fields, false), message),
    info: (message, fields) => logger.info(fieldsFor(fields, false), message),
    warn: (message, fields) => logger.warn(fieldsFor(fields, false), message),
    error: (message, fields) => logger.error(fieldsFor(fields, true), message),
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
