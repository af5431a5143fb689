/** The worker's logging seam: one JSON line per event on stderr, or silence in tests. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

function describe(value: unknown): unknown {
  return value instanceof Error ? { name: value.name, message: value.message } : value;
}

export function createConsoleLogger(component = "gpu-worker"): Logger {
  const write = (level: string, message: string, fields?: Record<string, unknown>) => {
    const extra = Object.fromEntries(Object.entries(fields ?? {}).map(([k, v]) => [k, describe(v)]));
    console.error(JSON.stringify({ time: new Date().toISOString(), level, component, message, ...extra }));
  };
  return {
    info: (message, fields) => write("info", message, fields),
    warn: (message, fields) => write("warn", message, fields),
    error: (message, fields) => write("error", message, fields),
  };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
