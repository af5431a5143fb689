/**
 * `wrangler deploy --dry-run`: wrangler bundles the edge exactly as a deploy would, resolves
 * one environment's bindings and prints them, then stops before talking to Cloudflare. It
 * needs no account and no network, so a test can check every environment in wrangler.toml and
 * the size of what would be uploaded. A failed run is a value (exit code and output), not an
 * exception, so a test can assert on wrangler's message.
 */
import { spawn } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { gzipSync } from "node:zlib";
import { buildConsole } from "@modelgate/edge/console/build-console";
import { wranglerEntry, wranglerEnvironment } from "../tools/wrangler-command.js";

export interface WranglerDryRunOptions {
  /** The folder wrangler runs in (the repository root). */
  cwd: string;
  /** The wrangler configuration file; wrangler's own lookup from `cwd` when absent. */
  configPath?: string;
  /** The environment (`--env`); undefined is the top-level one, passed as `--env=""` as wrangler asks. */
  env?: string | undefined;
  /** An empty folder for the bundle (`--outdir`): everything in it is counted as the bundle. */
  outDir: string;
  timeoutMs?: number;
}

/** One row of the binding table wrangler prints, e.g. `env.REGISTRY (modelgate-registry)  R2 Bucket`. */
export interface WranglerBinding {
  name: string;
  /** What is in parentheses: a class, bucket or database name, or a variable's quoted value. */
  detail: string | undefined;
  /** `Durable Object`, `R2 Bucket`, `D1 Database`, `Environment Variable`, … */
  type: string;
}

export interface BundleFile {
  /** Relative to the output folder. */
  path: string;
  bytes: number;
  gzipBytes: number;
}

/** What would be uploaded: the modules wrangler wrote, each gzipped as wrangler measures it. */
export interface BundleSize {
  files: BundleFile[];
  bytes: number;
  gzipBytes: number;
}

export interface WranglerDryRunResult {
  exitCode: number;
  /** stdout and stderr as printed, colours removed. */
  output: string;
  /** The first line of each `[WARNING]` / `[ERROR]` wrangler printed, with the lines under it. */
  warnings: string[];
  bindings: WranglerBinding[];
  /** wrangler's own "Total Upload: X KiB / gzip: Y KiB", when printed. */
  reportedUploadKiB: { bytes: number; gzipBytes: number } | undefined;
  bundle: BundleSize;
  /** The names the entry module exports (`default` and every Durable Object class). */
  entryExports: string[];
}

/** wrangler's CLI entry, run with this Node (wrangler 4 needs Node 22, which `node_modules/.bin` provides). */
export async function wranglerDeployDryRun(options: WranglerDryRunOptions): Promise<WranglerDryRunResult> {
  // A deploy uploads the console's built files as the Worker's assets: they must exist.
  await buildConsole();
  const args = [
    wranglerEntry(),
    "deploy",
    "--dry-run",
    "--outdir",
    options.outDir,
    ...(options.configPath === undefined ? [] : ["--config", options.configPath]),
    `--env=${options.env ?? ""}`,
  ];
  const { exitCode, output } = await runNode(args, options.cwd, options.timeoutMs ?? 60_000);
  const bundle = exitCode === 0 ? await measureBundle(options.outDir) : { files: [], bytes: 0, gzipBytes: 0 };
  const entry = bundle.files.find((file) => file.path === "index.js");
  const entryExports =
    entry === undefined ? [] : parseEntryExports(await readFile(join(options.outDir, entry.path), "utf8"));
  return {
    exitCode,
    output,
    warnings: parseWarnings(output),
    bindings: parseBindingTable(output),
    reportedUploadKiB: parseReportedUpload(output),
    bundle,
    entryExports,
  };
}

function runNode(
  args: readonly string[],
  cwd: string,
  timeoutMs: number,
): Promise<{ exitCode: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args], {
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
      env: wranglerEnvironment(),
      timeout: timeoutMs,
      killSignal: "SIGKILL",
    });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.once("error", (error) => reject(new Error(`wrangler could not start: ${error.message}`)));
    child.once("close", (code, signal) => {
      const output = stripVTControlCharacters(Buffer.concat(chunks).toString("utf8"));
      if (code === null) {
        reject(new Error(`wrangler deploy --dry-run was stopped (${signal ?? "no signal"}):\n${output}`));
        return;
      }
      resolve({ exitCode: code, output });
    });
  });
}

// Not uploaded: source maps (only with upload_source_maps, which wrangler.toml leaves off) and
// the README wrangler writes into the output folder to describe it.
const NOT_UPLOADED = (path: string) => path.endsWith(".map") || path === "README.md";

/** Every module in the output folder, raw and gzipped (zlib's default level, as wrangler reports). */
export async function measureBundle(outDir: string): Promise<BundleSize> {
  const entries = await readdir(outDir, { recursive: true, withFileTypes: true });
  const files: BundleFile[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = relative(outDir, join(entry.parentPath, entry.name));
    if (NOT_UPLOADED(path)) continue;
    const content = await readFile(join(outDir, path));
    files.push({ path, bytes: content.length, gzipBytes: gzipSync(content).length });
  }
  files.sort((a, b) => a.path.localeCompare(b.path));
  return {
    files,
    bytes: files.reduce((sum, file) => sum + file.bytes, 0),
    gzipBytes: files.reduce((sum, file) => sum + file.gzipBytes, 0),
  };
}

const BINDING_ROW = /^env\.([A-Za-z_][A-Za-z0-9_]*)(?: \((.*)\))?\s{2,}(\S.*?)\s*$/;

/** The rows under "Your Worker has access to the following bindings:". */
export function parseBindingTable(output: string): WranglerBinding[] {
  const lines = output.split(/\r?\n/);
  const start = lines.findIndex((line) => line.includes("has access to the following bindings"));
  if (start === -1) return [];
  const bindings: WranglerBinding[] = [];
  // The header row ("Binding  Resource") follows; rows run until the first line that is not one.
  for (const line of lines.slice(start + 2)) {
    const match = BINDING_ROW.exec(line);
    if (!match) break;
    const [, name, detail, type] = match;
    if (name === undefined || type === undefined) break;
    bindings.push({ name, detail, type });
  }
  return bindings;
}

/** Each `▲ [WARNING]` / `✘ [ERROR]` block: its first line and the indented lines under it. */
export function parseWarnings(output: string): string[] {
  const lines = output.split(/\r?\n/);
  const warnings: string[] = [];
  lines.forEach((line, index) => {
    const match = /\[(WARNING|ERROR)\]\s*(.*)$/.exec(line);
    if (!match) return;
    const body: string[] = [`${match[1]}: ${match[2] ?? ""}`.trim()];
    for (const next of lines.slice(index + 1)) {
      if (next.trim() !== "" && !/^\s/.test(next)) break;
      if (next.trim() !== "") body.push(next.trim());
    }
    warnings.push(body.join("\n"));
  });
  return warnings;
}

export function parseReportedUpload(output: string): { bytes: number; gzipBytes: number } | undefined {
  const match = /Total Upload: ([0-9.]+) KiB \/ gzip: ([0-9.]+) KiB/.exec(output);
  if (!match?.[1] || !match[2]) return undefined;
  return { bytes: Number(match[1]), gzipBytes: Number(match[2]) };
}

/** The names in the bundle's final `export { A, B, x as default };` (esbuild writes exactly one). */
export function parseEntryExports(source: string): string[] {
  const blocks = [...source.matchAll(/^export\s*\{([^}]*)\};?/gm)];
  const last = blocks.at(-1)?.[1];
  if (last === undefined) return [];
  return last
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean)
    .map((item) => item.split(/\s+as\s+/).at(-1) ?? item);
}
