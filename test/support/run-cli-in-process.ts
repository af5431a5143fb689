import { runCli } from "@modelgate/cli/run-cli";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the `modelgate` CLI in this process against `edgeUrl`, capturing what it prints. */
export async function runCliInProcess(edgeUrl: string, cwd: string, argv: readonly string[]): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(["--url", edgeUrl, ...argv], {
    env: {},
    cwd,
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
  });
  return { code, stdout, stderr };
}
