/**
 * Runs Prometheus' promtool, the reference checker for rule files, rule unit tests and
 * configuration: what it accepts, Prometheus loads. A failed check is a value (exit code and
 * output), not an exception, so a test can assert on the message as well as on success.
 */
import { execFile } from "node:child_process";
import { ensureSystemTool, PROMTOOL } from "../tools/ensure-system-tool.js";

export interface PromtoolResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** `promtool check rules`: each file parses, every expression is valid PromQL. */
export function checkRules(files: readonly string[]): Promise<PromtoolResult> {
  return runPromtool(["check", "rules", ...files]);
}

/** `promtool test rules`: runs the unit tests in each test file against the rules it names. */
export function testRules(files: readonly string[]): Promise<PromtoolResult> {
  return runPromtool(["test", "rules", ...files]);
}

/**
 * `promtool check config`. `syntaxOnly` skips checking that referenced files (credentials,
 * rule files) exist, for an example configuration whose paths live on another machine.
 */
export function checkConfig(file: string, options: { syntaxOnly?: boolean } = {}): Promise<PromtoolResult> {
  return runPromtool(["check", "config", ...(options.syntaxOnly ? ["--syntax-only"] : []), file]);
}

async function runPromtool(args: readonly string[]): Promise<PromtoolResult> {
  const promtool = await ensureSystemTool(PROMTOOL);
  return new Promise((resolve, reject) => {
    execFile(promtool, [...args], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error === null) {
        resolve({ exitCode: 0, stdout, stderr });
        return;
      }
      // A numeric code is promtool's verdict; anything else (not executable, killed) is ours.
      if (typeof error.code === "number") {
        resolve({ exitCode: error.code, stdout, stderr });
        return;
      }
      reject(new Error(`promtool ${args.join(" ")} could not run: ${error.message}`));
    });
  });
}
