/**
 * The console's operations views in a real browser against the npm start stack: the fleet live
 * (charts that grow with each heartbeat, the selection flags switched and checked through the
 * API), the playground streaming (tokens before the result, refinement loops one by one, the
 * route), traffic analyses of those generations, the key lifecycle (secret shown once, rotate,
 * revoke, refused afterwards), what narrower keys see, and every view at desktop and phone width.
 */
import type { LocalStack } from "@modelgate/infra/local-stack";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ConsoleFixture,
  newContext,
  type PageProblems,
  screenshot,
  signIn,
  startConsoleFixture,
  watchPage,
} from "../support/browser.js";
import { callEdge, jsonWithStatus } from "../support/stack-calls.js";

let fixture: ConsoleFixture;
let stack: LocalStack;
let browser: Browser;

beforeAll(async () => {
  fixture = await startConsoleFixture("console-operations");
  ({ stack, browser } = fixture);
});

afterAll(() => fixture?.stop());

async function openView(view: string, key = stack.adminKey, size: "desktop" | "phone" = "desktop") {
  const context = await newContext(browser, size);
  const page = await context.newPage();
  const problems = watchPage(page);
  await signIn(page, stack.edgeUrl, key, view);
  return { context, page, problems };
}

async function flags(): Promise<Record<string, boolean>> {
  return (await jsonWithStatus(await callEdge(stack, "GET", "/v1/admin/selection-flags"), 200)) as Record<
    string,
    boolean
  >;
}

async function createKey(name: string, scopes: string[]): Promise<string> {
  const created = (await jsonWithStatus(await callEdge(stack, "POST", "/v1/keys", { name, scopes }), 201)) as {
    key: string;
  };
  return created.key;
}

function whoamiStatus(key: string): Promise<number> {
  return fetch(`${stack.edgeUrl}/v1/whoami`, { headers: { authorization: `Bearer ${key}` } }).then(async (r) => {
    await r.body?.cancel();
    return r.status;
  });
}

/**
 * Records, at every change of the page, how long the streaming loop's text is, how many loops
 * have been judged and whether the result is shown: what a person watching would have seen.
 */
const WATCH_STREAM = `(() => {
  window.__seen = [];
  const record = () => window.__seen.push({
    text: document.querySelector(".playground-stream")?.textContent?.length ?? -1,
    loops: document.querySelectorAll(".playground-loop.done").length,
    done: document.querySelector(".playground-result") !== null,
  });
  window.__observer?.disconnect();
  window.__observer = new MutationObserver(record);
  window.__observer.observe(document.body, { subtree: true, childList: true, characterData: true });
})()`;

interface Seen {
  text: number;
  loops: number;
  done: boolean;
}

/** Fills the playground form (choices first: a judge adds its own fields) and sends it. */
async function generate(page: Page, fields: Record<string, string>, choices: Record<string, string> = {}) {
  for (const [label, value] of Object.entries(choices)) {
    await page.getByLabel(label, { exact: true }).selectOption(value);
  }
  for (const [label, value] of Object.entries(fields)) await page.getByLabel(label, { exact: true }).fill(value);
  await page.evaluate(WATCH_STREAM);
  await page.getByRole("button", { name: "Generate" }).click();
}

async function seenBeforeDone(page: Page): Promise<Seen[]> {
  const seen = await page.evaluate<Seen[]>("window.__seen");
  return seen.filter((entry) => !entry.done);
}

function expectNoProblems(problems: PageProblems) {
  expect(problems.list()).toEqual([]);
}

describe("the console's operations views", () => {
  it("fleet: the worker live with its CPU stand-in, charts that grow every heartbeat, and the selection flags", async () => {
    const { context, page, problems } = await openView("fleet");
    const card = page.getByRole("region", { name: stack.workerId });
    await card.getByText(/^live/).waitFor();
    await expect.poll(() => card.getByText("circuit closed").count()).toBe(1);
    const gpu = card.getByRole("region", { name: /^GPU 0: / });
    await expect.poll(() => gpu.getByText("CPU stand-in").count()).toBe(1);
    const utilization = gpu.locator("figure", { hasText: "Utilization" });
    const points = async () => Number(await utilization.getAttribute("data-points"));
    const first = await points();
    // Heartbeats come every second and the view polls every second: ~3 s adds 2 or more points.
    await expect.poll(points, { timeout: 6000, interval: 250 }).toBeGreaterThanOrEqual(first + 2);
    expect((await gpu.locator("figure", { hasText: "Memory used" }).getAttribute("data-points")) ?? "0").not.toBe("0");

    const gpuAwareness = page.getByRole("switch", { name: "GPU awareness" });
    expect(await gpuAwareness.isChecked()).toBe(true);
    await gpuAwareness.click();
    await expect.poll(async () => (await flags()).gpu_awareness).toBe(false);
    await expect.poll(() => gpuAwareness.isChecked()).toBe(false);
    await expect.poll(() => gpuAwareness.isEnabled()).toBe(true);
    await page.getByRole("status").filter({ hasText: "GPU awareness is off" }).waitFor();
    await gpuAwareness.press("Space");
    await expect.poll(async () => (await flags()).gpu_awareness).toBe(true);
    await expect.poll(() => gpuAwareness.isChecked()).toBe(true);
    expect(await flags()).toEqual({ benchmark_scoring: true, multi_category: true, gpu_awareness: true });

    expect((await screenshot(page, "operations-fleet-desktop")).colours).toBeGreaterThan(3);
    expectNoProblems(problems);
    await context.close();
  });

  it("playground: tokens stream before the result, refinement loops appear one by one, with the route", async () => {
    const { context, page, problems } = await openView("playground");
    await generate(page, {
      "Model or target": "ref-decoder",
      Prompt: "A request arrives at the edge",
      "Max new tokens": "96",
    });
    const result = page.getByRole("region", { name: "Result" });
    await result.waitFor();
    const streamed = (await seenBeforeDone(page)).map((entry) => entry.text).filter((length) => length > 0);
    // The text was on screen, and growing, before the answer was complete.
    expect(new Set(streamed).size, JSON.stringify(streamed)).toBeGreaterThanOrEqual(2);
    const route = page.getByRole("region", { name: "Route" });
    expect(await route.textContent()).toContain(stack.workerId);
    expect(await route.textContent()).toContain("ref-decoder@1");
    expect(await route.locator(".playground-reason code").textContent()).toMatch(/ref-decoder@1 .*on /);
    expect(await result.textContent()).toContain("no_judge");
    expect(await page.getByRole("region", { name: /^Loop \d/ }).count()).toBe(1);

    // A regex no answer matches: every loop is judged, fails, and is refined with the feedback.
    await generate(
      page,
      {
        "Model or target": "auto:code",
        Prompt: "Good serving",
        "Max new tokens": "16",
        Temperature: "0.9",
        Seed: "4",
        "Max refinement loops": "3",
        "Halt probability threshold": "1",
        Pattern: "^impossible$",
      },
      { Judge: "regex", "CAWS tier": "tier_3" },
    );
    await expect.poll(() => result.textContent()).toContain("max_loops");
    const loopsBeforeDone = new Set((await seenBeforeDone(page)).map((entry) => entry.loops));
    expect([...loopsBeforeDone]).toEqual(expect.arrayContaining([1, 2]));
    for (const n of [1, 2, 3]) {
      const loop = page.getByRole("region", { name: `Loop ${n}`, exact: true });
      expect(await loop.textContent()).toContain("judge score 0.000");
      expect(await loop.textContent()).toContain("The answer must match /^impossible$/.");
      expect(await loop.textContent()).toMatch(/halt probability \d\.\d{3}/);
    }
    expect(await result.textContent()).toMatch(/Refinement loops\s*3/);
    expect(await page.getByRole("region", { name: "Route" }).textContent()).toContain("auto:code -> ref-decoder@1");
    expect((await screenshot(page, "operations-playground-desktop")).colours).toBeGreaterThan(3);

    // A bad request is refused before any stream opens, naming the field.
    problems.allow(400, /^\/v1\/generate$/);
    await page.getByLabel("Pattern").fill("(");
    await page.getByRole("button", { name: "Generate" }).click();
    const alert = page.getByRole("alert");
    await expect.poll(() => alert.textContent()).toContain("judge.pattern");
    expect(await alert.textContent()).toContain("does not compile");

    // A second category for the same model (seed 002's multi-category use), then Stop.
    await page.getByLabel("Judge", { exact: true }).selectOption("none");
    await generate(page, { "Model or target": "auto:math", Prompt: "Two plus two", "Max new tokens": "8" });
    await expect.poll(() => result.textContent()).toContain("no_judge");
    await generate(page, {
      "Model or target": "ref-decoder",
      Prompt: "A long story",
      "Max new tokens": "1000",
      "Min new tokens": "1000",
    });
    await page.locator(".playground-stream").filter({ hasText: /\S/ }).waitFor();
    await page.getByRole("button", { name: "Stop" }).click();
    await expect.poll(() => page.locator(".playground-phase").textContent()).toBe("Stopped.");
    expect(await page.getByRole("region", { name: /\(stopped\)$/ }).count()).toBe(1);
    expect(await result.count()).toBe(0);
    expectNoProblems(problems);
    await context.close();
  });

  it("traffic: the three analyses show those generations in the chosen window", async () => {
    const { context, page, problems } = await openView("traffic?window=15m");
    expect(await page.locator("[aria-current=true]").textContent()).toBe("Last 15 min");
    const perCategory = page.getByRole("region", { name: "Models per category" });
    const multi = page.getByRole("region", { name: "Multi-category use" });
    const performance = page.getByRole("region", { name: "Category performance" });
    // Events are written in batches after each response: refresh until the last one is in.
    await expect
      .poll(
        async () => {
          await page.getByRole("button", { name: "Refresh" }).click();
          return multi.textContent();
        },
        { timeout: 10_000, interval: 500 },
      )
      .toContain("auto:math");
    const perCategoryText = (await perCategory.textContent()) ?? "";
    for (const group of ["explicit model", "auto:code", "auto:math"]) expect(perCategoryText).toContain(group);
    expect(await perCategory.getByRole("list", { name: "Models chosen for auto:code" }).textContent()).toContain(
      "ref-decoder@1",
    );
    expect(await multi.textContent()).toMatch(/ref-decoder@1\s*2 categories/);
    const codeRow = performance.getByRole("row", { name: /^auto:code/ });
    expect(await codeRow.textContent()).toContain("100%");
    expect(await codeRow.textContent()).toMatch(/\d+ ms/);
    const explicitRow = performance.getByRole("row", { name: /^explicit model/ });
    expect(await explicitRow.textContent()).toMatch(/[1-9]\d* ok/);
    expect((await screenshot(page, "operations-traffic-desktop")).colours).toBeGreaterThan(3);

    // The window lives in the address.
    await page.getByRole("link", { name: "Last 7 days" }).click();
    await expect.poll(() => page.evaluate<string>("location.hash")).toBe("#/traffic?window=7d");
    await expect.poll(() => perCategory.textContent()).toContain("auto:code");
    expectNoProblems(problems);
    await context.close();
  });

  it("keys: create with scopes and rpm (secret shown once), rotate, revoke after confirming, refused afterwards", async () => {
    const { context, page, problems } = await openView("keys");
    await page.getByLabel("Name", { exact: true }).fill("ci-bot");
    await page.getByRole("checkbox", { name: /^models:read/ }).check();
    await page.getByLabel("Requests per minute").fill("120");
    await page.getByLabel("Max CAWS tier").selectOption("tier_2");
    await page.getByRole("button", { name: "Create key" }).click();
    const secret = page.locator(".keys-secret-value");
    const first = (await secret.textContent()) ?? "";
    expect(first).toMatch(/^mgk_/);
    expect(await page.getByRole("alert").textContent()).toContain("it will not be shown again");
    const firstId = /\((key_[a-z0-9]{16})\)/.exec((await page.getByRole("alert").textContent()) ?? "")?.[1] ?? "";
    expect(firstId).not.toBe("");
    const row = (id: string) => page.locator(`tr[data-key-id="${id}"]`);
    await row(firstId).waitFor();
    expect(await row(firstId).textContent()).toContain("infer, models:read");
    expect(await row(firstId).textContent()).toContain("120 rpm");
    expect(await row(firstId).textContent()).toContain("tier ≤ tier_2");
    expect(await whoamiStatus(first)).toBe(200);

    // Not again after a reload: the page never had it stored.
    await page.reload();
    await row(firstId).waitFor();
    expect(await secret.count()).toBe(0);
    expect(await page.content()).not.toContain(first);

    await page.getByRole("button", { name: "Rotate ci-bot" }).click();
    await page.getByRole("button", { name: "Yes, rotate" }).click();
    await expect.poll(() => secret.count()).toBe(1);
    const second = (await secret.textContent()) ?? "";
    expect(second).toMatch(/^mgk_/);
    expect(second).not.toBe(first);
    const secondId = /\((key_[a-z0-9]{16})\)/.exec((await page.getByRole("alert").textContent()) ?? "")?.[1] ?? "";
    await row(secondId).waitFor();
    await expect.poll(() => row(firstId).textContent()).toContain("revoked");
    expect(await row(secondId).textContent()).toContain(`replaces ${firstId}`);
    expect(await row(secondId).textContent()).toContain("120 rpm");
    await expect.poll(() => whoamiStatus(first)).toBe(401);
    expect(await whoamiStatus(second)).toBe(200);

    // Revoking asks first; Cancel keeps the key.
    await page.getByRole("button", { name: "Revoke ci-bot" }).click();
    await page.getByRole("button", { name: "Cancel" }).click();
    expect(await row(secondId).textContent()).toContain("active");
    await page.getByRole("button", { name: "Revoke ci-bot" }).click();
    expect(await page.getByRole("group", { name: "Confirm revoke" }).textContent()).toContain("stops working");
    await page.getByRole("button", { name: "Yes, revoke" }).click();
    await expect.poll(() => row(secondId).textContent()).toContain("revoked");
    expect(await row(secondId).getByRole("button").count()).toBe(0);
    await expect.poll(() => whoamiStatus(second)).toBe(401);
    expect((await screenshot(page, "operations-keys-desktop")).colours).toBeGreaterThan(3);
    expectNoProblems(problems);
    await context.close();
  });

  it("scopes: an infer-only key sees only the Playground; a models:read key sees no Keys and no flag switches", async () => {
    const inferKey = await createKey("console-infer", ["infer"]);
    const infer = await openView("fleet", inferKey);
    const nav = infer.page.getByRole("navigation", { name: "Views" });
    expect(await nav.getByRole("link").allTextContents()).toEqual(["Playground"]);
    await expect.poll(() => infer.page.locator("[aria-current=page]").textContent()).toBe("Playground");
    await infer.page.getByText("No model suggestions: this key cannot read the registry").waitFor();
    await generate(infer.page, { "Model or target": "demo-lm", Prompt: "hello", "Max new tokens": "4" });
    await infer.page.getByRole("region", { name: "Result" }).waitFor();
    expectNoProblems(infer.problems);
    await infer.context.close();

    const readerKey = await createKey("console-reader", ["models:read"]);
    const reader = await openView("keys", readerKey);
    const links = await reader.page.getByRole("navigation", { name: "Views" }).getByRole("link").allTextContents();
    expect(links).toEqual(["Models"]);
    await expect.poll(() => reader.page.locator("[aria-current=page]").textContent()).toBe("Models");
    await reader.page.goto(`${stack.edgeUrl}/console#/fleet`);
    await expect.poll(() => reader.page.locator("[aria-current=page]").textContent()).toBe("Models");
    expect(await reader.page.getByRole("switch").count()).toBe(0);
    expect(await reader.page.getByRole("heading", { name: "Keys" }).count()).toBe(0);
    expectNoProblems(reader.problems);
    await reader.context.close();
  });

  it("every operations view fits a phone's width: no horizontal page scroll, wide tables scroll in place", async () => {
    const { context, page, problems } = await openView("fleet", stack.adminKey, "phone");
    const views: Array<[string, () => Promise<void>]> = [
      ["fleet", () => page.getByRole("region", { name: stack.workerId }).getByText(/^live/).waitFor()],
      ["traffic?window=1h", () => page.getByRole("row", { name: /^auto:code/ }).waitFor()],
      [
        "playground",
        async () => {
          await generate(page, { "Model or target": "ref-decoder", Prompt: "On a phone", "Max new tokens": "24" });
          await page.getByRole("region", { name: "Result" }).waitFor();
        },
      ],
      ["keys", () => page.locator("tr[data-key-id]").first().waitFor()],
    ];
    for (const [view, ready] of views) {
      await page.goto(`${stack.edgeUrl}/console#/${view}`);
      await ready();
      const name = view.replace(/\?.*/, "");
      expect((await screenshot(page, `operations-${name}-phone`)).colours, name).toBeGreaterThan(3);
      expect(await page.evaluate<number>("document.documentElement.scrollWidth"), name).toBeLessThanOrEqual(390);
    }
    expectNoProblems(problems);
    await context.close();
  });
});
