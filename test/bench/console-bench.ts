/**
 * The web console's weight and first load (the console issue's goal: < 150 KiB gzip of script,
 * first meaningful paint < 500 ms warm on the local stack): the built files' sizes, then headless
 * Chromium (Debian's) loading `/console` through `wrangler dev`, signed in, until the models list
 * shows its rows — cold (a fresh browser context: nothing cached) and warm (a reload: the
 * content-hashed files come from the cache). First contentful paint is Chromium's own figure.
 */
import { buildConsole } from "@modelgate/edge/console/build-console";
import type { LocalStack } from "@modelgate/infra/local-stack";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "../support/browser.js";
import { type BenchRow, fmt, mark, median } from "./bench-stats.js";

const LOADS = 10;
/** The models list has rendered a version (what a person opens the console to see). */
const FIRST_VIEW = "main table tbody tr";

interface Load {
  /** Navigation start to the models list's first row. */
  firstViewMs: number;
  firstContentfulPaintMs: number;
  transferredBytes: number;
}

async function measureLoad(page: Page, url: string, reload: boolean): Promise<Load> {
  if (reload) await page.reload({ waitUntil: "commit" });
  else await page.goto(url, { waitUntil: "commit" });
  await page.waitForSelector(FIRST_VIEW);
  const firstViewMs = await page.evaluate<number>("performance.now()");
  const paint = await page.evaluate<number>(
    "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? Number.NaN",
  );
  const transferred = await page.evaluate<number>(
    "performance.getEntriesByType('resource').concat(performance.getEntriesByType('navigation')).reduce((sum, e) => sum + (e.transferSize ?? 0), 0)",
  );
  return { firstViewMs, firstContentfulPaintMs: paint, transferredBytes: transferred };
}

export async function benchConsole(stack: LocalStack): Promise<{ rows: BenchRow[]; notes: string[] }> {
  const built = await buildConsole();
  const rows: BenchRow[] = [
    [
      "console bundle: script / stylesheet (minified)",
      `${fmt(built.scriptGzipBytes / 1024, 1)} KiB gzip (${fmt(built.scriptBytes / 1024, 1)} KiB raw) ${mark(built.scriptGzipBytes < 150 * 1024)} / ${fmt(built.styleGzipBytes / 1024, 1)} KiB gzip`,
      "< 150 KiB gzip of script",
    ],
  ];
  const browser: Browser = await launchChromium();
  try {
    const url = `${stack.edgeUrl}/console#/models`;
    const cold: Load[] = [];
    const warm: Load[] = [];
    for (let i = 0; i < LOADS; i++) {
      // A fresh context each time: an empty cache, signed in (the key set before the page's script runs).
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      await context.addInitScript(`sessionStorage.setItem("modelgate.console.key", ${JSON.stringify(stack.adminKey)})`);
      const page = await context.newPage();
      cold.push(await measureLoad(page, url, false));
      warm.push(await measureLoad(page, url, true));
      await context.close();
    }
    const m = (loads: Load[], pick: (load: Load) => number) => median(loads.map(pick));
    rows.push([
      `console first load through wrangler dev, signed in, to the models list (median of ${LOADS}): cold / warm`,
      `first view ${fmt(
        m(cold, (l) => l.firstViewMs),
        0,
      )} / ${fmt(
        m(warm, (l) => l.firstViewMs),
        0,
      )} ms ${mark(m(warm, (l) => l.firstViewMs) < 500)}; first contentful paint ${fmt(
        m(cold, (l) => l.firstContentfulPaintMs),
        0,
      )} / ${fmt(
        m(warm, (l) => l.firstContentfulPaintMs),
        0,
      )} ms; transferred ${fmt(m(cold, (l) => l.transferredBytes) / 1024, 1)} / ${fmt(m(warm, (l) => l.transferredBytes) / 1024, 1)} KiB`,
      "< 500 ms warm",
    ]);
  } finally {
    await browser.close();
  }
  return {
    rows,
    notes: [
      "Console: cold is a fresh browser context (nothing cached); warm is a reload of the same page, where the " +
        "content-hashed script and stylesheet come from the cache and only the page and the API calls travel. " +
        "The first view is the models list with its first row, signed in with the admin key.",
    ],
  };
}
