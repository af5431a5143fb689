import { type CliIo, runCli } from "../../src/run-cli.js";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  /** Defaults to a directory without `.modelgate/`, so no key file is picked up by accident. */
  cwd?: string;
  /** A terminal on stdin that answers every question with this text. */
  answer?: string;
}

/** Runs `modelgate <argv>` in-process and captures what it prints. */
export async function modelgate(argv: string[], options: RunOptions = {}): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const terminal: Partial<CliIo> =
    options.answer === undefined
      ? {}
      : {
          stdinIsTTY: true,
          prompt: async (question) => {
            stderr += question;
            return options.answer ?? "";
          },
        };
  const code = await runCli(argv, {
    env: options.env ?? {},
    cwd: options.cwd ?? "/nonexistent-modelgate-cwd",
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
    ...terminal,
  });
  return { code, stdout, stderr };
}
