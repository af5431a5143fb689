import type { ChildProcess } from "node:child_process";

/**
 * Splits a child's stdout and stderr into lines, passes each to `onLine`, and keeps the last
 * `keep` lines so that a failed start can say what the child printed.
 */
export function captureChildOutput(child: ChildProcess, onLine?: (line: string) => void, keep = 40): string[] {
  const recent: string[] = [];
  const record = (chunk: Buffer) => {
    for (const line of chunk.toString("utf8").split("\n")) {
      if (!line.trim()) continue;
      recent.push(line);
      if (recent.length > keep) recent.shift();
      onLine?.(line);
    }
  };
  child.stdout?.on("data", record);
  child.stderr?.on("data", record);
  return recent;
}
