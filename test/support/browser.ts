/**
 * A real browser for the console tests: Debian's Chromium (installed by the test set-up as
 * root, or named as missing), driven by playwright-core, which never downloads a browser of its
 * own. Every page is watched for what a user would call broken: console errors, uncaught
 * exceptions, failed requests and error answers the test did not expect; screenshots land in
 * test/.artifacts/console/ and are checked for being more than a blank page.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateSync } from "node:zlib";
import { freeStackPorts, type LocalStack, startLocalStack } from "@modelgate/infra/local-stack";
import { CHROMIUM, ensureSystemTool } from "@modelgate/infra/system-tools";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

export const ARTIFACT_DIR = join(import.meta.dirname, "..", ".artifacts", "console");

export async function launchChromium(): Promise<Browser> {
  const executablePath = await ensureSystemTool(CHROMIUM);
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      // Tests run as root in CI, where Chromium's sandbox cannot start.
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      // This machine reaches nothing outside: Chromium's own background traffic would only fail.
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-default-apps",
      "--metrics-recording-only",
    ],
  });
}

export interface PageProblems {
  /** Console errors, uncaught exceptions, failed requests and unexpected error answers, as text. */
  list(): string[];
  /** Error answers from these paths are part of the test (a refused write, say). */
  allow(status: number, pathPattern: RegExp): void;
  clear(): void;
}

/** Records everything a user would see as broken on `page`. */
export function watchPage(page: Page): PageProblems {
  const problems: string[] = [];
  const allowed: Array<{ status: number; path: RegExp }> = [];
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    // Chromium also logs every error answer here; the response handler below reports each
    // unexpected one with its path, and leaves out the ones a test expects.
    if (message.text().startsWith("Failed to load resource: the server responded with a status of")) return;
    problems.push(`console error: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`uncaught: ${error.message}`));
  page.on("requestfailed", (request) => {
    // A stream the page itself stops (leaving the playground) is not a failure.
    if (request.failure()?.errorText === "net::ERR_ABORTED") return;
    problems.push(`request failed: ${request.method()} ${request.url()} (${request.failure()?.errorText ?? "?"})`);
  });
  page.on("response", (response) => {
    if (response.status() < 400) return;
    const path = new URL(response.url()).pathname;
    if (allowed.some((a) => a.status === response.status() && a.path.test(path))) return;
    problems.push(`HTTP ${response.status()}: ${response.request().method()} ${path}`);
  });
  return {
    list: () => [...problems],
    allow: (status, path) => allowed.push({ status, path }),
    clear: () => {
      problems.length = 0;
    },
  };
}

/** A fresh context (own session storage) at a desktop or phone size, in a given colour scheme and time zone. */
export function newContext(
  browser: Browser,
  size: "desktop" | "phone" = "desktop",
  more: { colorScheme?: "light" | "dark"; timezoneId?: string } = {},
): Promise<BrowserContext> {
  return browser.newContext({
    ...(size === "desktop"
      ? { viewport: { width: 1280, height: 800 } }
      : { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true }),
    ...more,
  });
}

/**
 * Saves a full-page screenshot as test/.artifacts/console/<name>.png and returns what it holds:
 * how many distinct colours a sample of its pixels has (a blank page has one or two).
 */
export async function screenshot(page: Page, name: string): Promise<{ path: string; colours: number }> {
  const png = await page.screenshot({ fullPage: true });
  await mkdir(ARTIFACT_DIR, { recursive: true });
  const path = join(ARTIFACT_DIR, `${name}.png`);
  await writeFile(path, png);
  return { path, colours: distinctColours(png) };
}

/**
 * Distinct colours among sampled pixels of a PNG as Chromium writes it (8-bit RGB or RGBA,
 * not interlaced): the rows are un-filtered as the PNG specification says, then sampled.
 */
export function distinctColours(png: Buffer): number {
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 4;
  const data: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString("ascii", offset + 4, offset + 8);
    const body = png.subarray(offset + 8, offset + 8 + length);
    if (type === "IHDR") {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const colourType = body[9];
      if (body[8] !== 8 || body[12] !== 0 || (colourType !== 2 && colourType !== 6)) {
        throw new Error("not an 8-bit, non-interlaced RGB(A) PNG");
      }
      channels = colourType === 6 ? 4 : 3;
    } else if (type === "IDAT") {
      data.push(body);
    }
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(data));
  const stride = width * channels;
  const previous = Buffer.alloc(stride);
  const row = Buffer.alloc(stride);
  const colours = new Set<number>();
  const sampleEvery = Math.max(1, Math.floor(height / 200));
  for (let y = 0; y < height; y++) {
    const start = y * (stride + 1);
    const filter = raw[start] ?? 0;
    for (let x = 0; x < stride; x++) {
      const value = raw[start + 1 + x] ?? 0;
      const left = x >= channels ? (row[x - channels] ?? 0) : 0;
      const up = previous[x] ?? 0;
      const upLeft = x >= channels ? (previous[x - channels] ?? 0) : 0;
      let predicted = 0;
      if (filter === 1) predicted = left;
      else if (filter === 2) predicted = up;
      else if (filter === 3) predicted = (left + up) >> 1;
      else if (filter === 4) {
        const p = left + up - upLeft;
        const pa = Math.abs(p - left);
        const pb = Math.abs(p - up);
        const pc = Math.abs(p - upLeft);
        predicted = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
      }
      row[x] = (value + predicted) & 0xff;
    }
    if (y % sampleEvery === 0) {
      for (let x = 0; x < width; x += 4) {
        const at = x * channels;
        colours.add(((row[at] ?? 0) << 16) | ((row[at + 1] ?? 0) << 8) | (row[at + 2] ?? 0));
      }
    }
    row.copy(previous);
  }
  return colours.size;
}

/** Opens the console and signs in with `key` the way a person does, waiting for the nav. */
export async function signIn(page: Page, edgeUrl: string, key: string, view = "models"): Promise<void> {
  await page.goto(`${edgeUrl}/console#/${view}`);
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Views" }).waitFor();
}

/** One `npm start` stack and one browser for a console test file. */
export interface ConsoleFixture {
  stack: LocalStack;
  browser: Browser;
  stop(): Promise<void>;
}

/**
 * Starts the local stack (heartbeats every second, so fleet charts move) and Chromium side by
 * side; `workerEnv` adds worker variables (e.g. a faster conversion poll).
 */
export async function startConsoleFixture(
  name: string,
  workerEnv: Record<string, string> = {},
): Promise<ConsoleFixture> {
  const dataDir = await mkdtemp(join(tmpdir(), `modelgate-${name}-`));
  const [stack, browser] = await Promise.all([
    (async () => startLocalStack({ dataDir, ...(await freeStackPorts()), gpuMonitorIntervalMs: 1000, workerEnv }))(),
    launchChromium(),
  ]);
  return {
    stack,
    browser,
    async stop() {
      await browser.close();
      await stack.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
