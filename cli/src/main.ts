import { createInterface } from "node:readline/promises";
import { runCli } from "./run-cli.js";

/** One question on the terminal (delete confirmations); answers come from stdin, the prompt goes to stderr. */
async function prompt(question: string): Promise<string> {
  const terminal = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await terminal.question(question);
  } finally {
    terminal.close();
  }
}

// exitCode rather than process.exit(): a piped stdout gets flushed before the process ends.
process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  cwd: process.cwd(),
  stderrIsTTY: process.stderr.isTTY === true,
  stdinIsTTY: process.stdin.isTTY === true,
  prompt,
});
