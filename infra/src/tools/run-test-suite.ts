/**
 * `npm test`'s vitest step: the e2e project in one vitest process and every other project in a
 * second one, side by side, with the same arguments.
 *
 * Why two processes: e2e files run one at a time (each starts a whole local stack, and two stacks
 * on two cores starve each other's leases and heartbeats), and vitest 4 puts a project whose
 * files run one at a time in a group of its own that starts only when every other project has
 * finished. From a fresh clone that was ~180 s of unit and workerd tests, then ~190 s of e2e files
 * one after another: 382 s. Most of both waits (on wrangler dev, worker processes, Chromium,
 * module imports), so they overlap well.
 *
 * `--outputFile.json=F` (what `.ci/run` passes) gets one report per process, merged into F with
 * the same top-level counts, so readers of F see one run.
 */
import { spawn } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";

const E2E_PROJECT = "e2e";
const JSON_OUTPUT = "--outputFile.json=";

interface VitestJsonReport {
  numTotalTestSuites: number;
  numPassedTestSuites: number;
  numFailedTestSuites: number;
  numPendingTestSuites: number;
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  startTime: number;
  success: boolean;
  testResults: unknown[];
  [key: string]: unknown;
}

const COUNTS = [
  "numTotalTestSuites",
  "numPassedTestSuites",
  "numFailedTestSuites",
  "numPendingTestSuites",
  "numTotalTests",
  "numPassedTests",
  "numFailedTests",
  "numPendingTests",
  "numTodoTests",
] as const;

function runVitest(projectFilter: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn("npx", ["vitest", "run", "--project", projectFilter, ...args], { stdio: "inherit" });
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    child.on("error", () => resolve(1));
  });
}

function mergeReports(reports: VitestJsonReport[]): VitestJsonReport {
  const [first, ...rest] = reports;
  if (!first) throw new Error("no vitest report to merge");
  const merged: VitestJsonReport = { ...first, testResults: [...first.testResults] };
  for (const report of rest) {
    for (const count of COUNTS) merged[count] += report[count];
    merged.startTime = Math.min(merged.startTime, report.startTime);
    merged.success &&= report.success;
    merged.testResults.push(...report.testResults);
  }
  return merged;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const jsonOutput = args.find((arg) => arg.startsWith(JSON_OUTPUT))?.slice(JSON_OUTPUT.length);
  const argsFor = (name: string) =>
    jsonOutput === undefined ? args : args.map((arg) => (arg.startsWith(JSON_OUTPUT) ? `${arg}.${name}` : arg));

  const runs = [
    { name: E2E_PROJECT, filter: E2E_PROJECT },
    { name: "unit", filter: `!${E2E_PROJECT}` },
  ];
  const codes = await Promise.all(runs.map((run) => runVitest(run.filter, argsFor(run.name))));

  if (jsonOutput !== undefined) {
    const parts = runs.map((run) => `${jsonOutput}.${run.name}`);
    const reports: VitestJsonReport[] = [];
    for (const part of parts) {
      try {
        reports.push(JSON.parse(await readFile(part, "utf8")) as VitestJsonReport);
      } catch (error) {
        console.error(`run-test-suite: no JSON report at ${part} (${String(error)})`);
        return 1;
      }
    }
    await writeFile(jsonOutput, JSON.stringify(mergeReports(reports)));
    await Promise.all(parts.map((part) => rm(part, { force: true })));
  }
  return Math.max(...codes);
}

process.exitCode = await main();
