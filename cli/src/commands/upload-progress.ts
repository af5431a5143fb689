import { formatBytes } from "../output.js";

export interface ProgressReporter {
  advance(bytes: number): void;
  /** Ends the bar (or prints the closing line) with a summary. */
  finish(summary: string): void;
}

const BAR_WIDTH = 28;
const REDRAW_INTERVAL_MS = 100;

function rate(bytes: number, startedAt: number, now: number): string {
  const seconds = Math.max(0.001, (now - startedAt) / 1000);
  return `${formatBytes(Math.round(bytes / seconds))}/s`;
}

/**
 * Progress on stderr: on a terminal a bar redrawn in place (bytes done / total, %, rate); on
 * anything else (a log file, CI) one plain line per quarter, so logs stay readable.
 */
export function createProgress(options: {
  label: string;
  total: number;
  tty: boolean;
  write: (s: string) => void;
  now?: () => number;
}): ProgressReporter {
  const now = options.now ?? Date.now;
  const startedAt = now();
  let done = 0;
  let lastDraw = 0;
  let lastQuarter = 0;
  const line = () => {
    const fraction = options.total === 0 ? 1 : Math.min(1, done / options.total);
    const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
    return {
      fraction,
      text: `${percent}  ${formatBytes(done)} / ${formatBytes(options.total)}  ${rate(done, startedAt, now())}`,
    };
  };
  const draw = (force: boolean) => {
    const at = now();
    if (!force && at - lastDraw < REDRAW_INTERVAL_MS) return;
    lastDraw = at;
    const { fraction, text } = line();
    const filled = Math.round(fraction * BAR_WIDTH);
    options.write(`\r\x1b[2K${options.label} [${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}] ${text}`);
  };
  if (options.tty) draw(true);
  else options.write(`${options.label}: ${formatBytes(options.total)}\n`);
  return {
    advance(bytes) {
      done += bytes;
      if (options.tty) {
        draw(false);
        return;
      }
      const quarter = options.total === 0 ? 4 : Math.floor((done / options.total) * 4);
      if (quarter > lastQuarter && quarter < 4) {
        lastQuarter = quarter;
        options.write(`${options.label}: ${line().text}\n`);
      }
    },
    finish(summary) {
      if (options.tty) {
        draw(true);
        options.write("\n");
      }
      options.write(`${summary} (${formatBytes(done)} at ${rate(done, startedAt, now())})\n`);
    },
  };
}
