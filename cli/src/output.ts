/** Text shown for a missing value, so empty cells never collapse a column. */
export const NONE = "-";

/**
 * Left-aligned columns separated by two spaces, header first. Widths count code points so
 * that a `×` or `…` does not shift the columns after it.
 */
export function formatTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const width = (s: string) => [...s].length;
  const widths = headers.map((header, column) =>
    Math.max(width(header), ...rows.map((row) => width(row[column] ?? ""))),
  );
  const line = (cells: readonly string[]) =>
    headers
      .map((_, column) => {
        const cell = cells[column] ?? "";
        // The last column is not padded, so lines carry no trailing spaces.
        return column === headers.length - 1 ? cell : cell + " ".repeat((widths[column] ?? 0) - width(cell));
      })
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

/** `--json` prints the edge's body as received (after validation), pretty enough to read. */
export function formatJson(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Ages read as "3s", "4m", "2h": enough precision to tell a fresh heartbeat from a stale one. */
export function formatAge(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 120) return `${minutes}m`;
  return `${Math.round(minutes / 60)}h`;
}

export function formatMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(2)} ms` : `${Math.round(ms)} ms`;
}

/** Drops sub-second noise from ISO timestamps in tables; the JSON keeps the full value. */
export function formatTimestamp(iso: string): string {
  return iso.replace(/\.\d+Z$/, "Z");
}

/** `label  value` lines with the values aligned, for one record's details. */
export function formatFields(fields: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(0, ...fields.map(([label]) => label.length));
  return fields.map(([label, value]) => `${label.padEnd(width)}  ${value}`.trimEnd()).join("\n");
}
