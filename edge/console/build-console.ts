/**
 * Builds the web console into `edge/console/dist/console/`, the folder wrangler serves as the
 * Worker's static assets (`[assets]` in wrangler.toml; the edge's console route adds the
 * security headers). esbuild, because it is already what wrangler bundles with: one fast step,
 * no second bundler. File names carry a content hash so the index can be short-lived and the
 * rest cached for good.
 *
 * `npm run build:console` runs it; `npm start`, the edge tests and the deploy dry run run it first.
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const CONSOLE_DIR = dirname(fileURLToPath(import.meta.url));
/** wrangler.toml's `[assets] directory`; the console lives under `/console/` inside it. */
export const CONSOLE_ASSETS_DIR = join(CONSOLE_DIR, "dist");
const OUT_DIR = join(CONSOLE_ASSETS_DIR, "console");

export interface ConsoleBuild {
  files: string[];
  scriptBytes: number;
  scriptGzipBytes: number;
  styleBytes: number;
  styleGzipBytes: number;
}

const hashed = (name: string, ext: string, content: Uint8Array) =>
  `${name}-${createHash("sha256").update(content).digest("hex").slice(0, 12)}.${ext}`;

export async function buildConsole(options: { minify?: boolean } = {}): Promise<ConsoleBuild> {
  const minify = options.minify ?? true;
  const bundled = await build({
    entryPoints: [join(CONSOLE_DIR, "src", "main.tsx")],
    bundle: true,
    write: false,
    format: "esm",
    target: "es2022",
    platform: "browser",
    minify,
    sourcemap: false,
    jsx: "automatic",
    jsxImportSource: "preact",
    legalComments: "none",
    logLevel: "silent",
  });
  const script = bundled.outputFiles[0]?.contents;
  if (!script) throw new Error("esbuild produced no console script");
  const css = await build({
    entryPoints: [join(CONSOLE_DIR, "src", "console.css")],
    bundle: true,
    write: false,
    minify,
    logLevel: "silent",
  });
  const style = css.outputFiles[0]?.contents;
  if (!style) throw new Error("esbuild produced no console stylesheet");
  const scriptName = hashed("app", "js", script);
  const styleName = hashed("app", "css", style);
  const template = await readFile(join(CONSOLE_DIR, "src", "index.html"), "utf8");
  const html = template.replace("%SCRIPT%", `/console/${scriptName}`).replace("%STYLE%", `/console/${styleName}`);
  await writeChangedFiles(
    new Map<string, Uint8Array>([
      [scriptName, script],
      [styleName, style],
      ["index.html", Buffer.from(html, "utf8")],
    ]),
  );
  return {
    files: ["index.html", scriptName, styleName],
    scriptBytes: script.byteLength,
    scriptGzipBytes: gzipSync(script).byteLength,
    styleBytes: style.byteLength,
    styleGzipBytes: gzipSync(style).byteLength,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await buildConsole();
  console.log(
    `console built: ${result.files.join(", ")} — script ${(result.scriptGzipBytes / 1024).toFixed(1)} KiB gzip, ` +
      `style ${(result.styleGzipBytes / 1024).toFixed(1)} KiB gzip`,
  );
}

/**
 * Writes only the files whose bytes changed and removes only stale ones. A running `wrangler dev`
 * serves this folder and reloads the Worker when it changes (a request in flight then fails with
 * "Your worker restarted mid-request"), and every stack start, the deploy dry run and the edge
 * tests build the console: identical builds (content-hashed names) must leave the folder untouched.
 */
async function writeChangedFiles(files: ReadonlyMap<string, Uint8Array>): Promise<void> {
  await mkdir(OUT_DIR, { recursive: true });
  const present = await readdir(OUT_DIR);
  await Promise.all([
    ...present
      .filter((name) => !files.has(name))
      .map((name) => rm(join(OUT_DIR, name), { recursive: true, force: true })),
    ...[...files].map(async ([name, content]) => {
      const existing = present.includes(name) ? await readFile(join(OUT_DIR, name)).catch(() => undefined) : undefined;
      if (existing?.equals(content)) return;
      await writeFile(join(OUT_DIR, name), content);
    }),
  ]);
}
