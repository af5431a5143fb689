/**
 * The console's frame in a real browser against the npm start stack: sign-in with a key kept in
 * session storage only, a clear error for a bad key, the views a key's scopes allow (a read-only
 * key sees no Keys, Fleet or Traffic), keyboard access, and a phone-width layout.
 */
import type { LocalStack } from "@modelgate/infra/local-stack";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ConsoleFixture,
  newContext,
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
  fixture = await startConsoleFixture("console-shell");
  ({ stack, browser } = fixture);
});

afterAll(() => fixture?.stop());

describe("the console's sign-in and frame", () => {
  it("refuses a wrong key with the edge's own words, then signs in and keeps the key in session storage only", async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    const problems = watchPage(page);
    problems.allow(401, /^\/v1\/whoami$/);
    await page.goto(`${stack.edgeUrl}/console`);
    await page.getByLabel("API key").fill("mg_not_a_real_key_000000000000");
    await page.keyboard.press("Enter");
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("The API key is not valid.");
    await page.getByLabel("API key").fill(stack.adminKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    const nav = page.getByRole("navigation", { name: "Views" });
    await nav.waitFor();
    expect(await nav.getByRole("link").allTextContents()).toEqual(["Models", "Fleet", "Traffic", "Playground", "Keys"]);
    expect(await page.evaluate<number>("Object.keys(localStorage).length")).toBe(0);
    expect(await page.evaluate<string | null>('sessionStorage.getItem("modelgate.console.key")')).toBe(stack.adminKey);
    // A reload keeps the session (same tab); signing out forgets the key.
    await page.reload();
    await nav.waitFor();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("API key").waitFor();
    expect(await page.evaluate<string | null>('sessionStorage.getItem("modelgate.console.key")')).toBeNull();
    expect(problems.list()).toEqual([]);
    await context.close();
  });

  it("shows a read-only key only the views its scopes allow, and a phone-width layout", async () => {
    const reader = (await jsonWithStatus(
      await callEdge(stack, "POST", "/v1/keys", { name: "console-reader", scopes: ["models:read"] }),
      201,
    )) as { key: string };
    const context = await newContext(browser, "phone");
    const page = await context.newPage();
    const problems = watchPage(page);
    await signIn(page, stack.edgeUrl, reader.key);
    const links = await page.getByRole("navigation", { name: "Views" }).getByRole("link").allTextContents();
    expect(links).toEqual(["Models"]);
    // Asking for a view the key may not use lands on one it may.
    await page.goto(`${stack.edgeUrl}/console#/keys`);
    await expect.poll(() => page.locator("[aria-current=page]").textContent()).toBe("Models");
    const shot = await screenshot(page, "shell-phone-read-only");
    expect(shot.colours).toBeGreaterThan(3);
    // Nothing is wider than the phone's screen.
    expect(await page.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(390);
    expect(problems.list()).toEqual([]);
    await context.close();
  });

  it("follows the system's dark mode and shows times in the viewer's own zone", async () => {
    const colours: string[] = [];
    const times: string[] = [];
    for (const [colorScheme, timezoneId] of [
      ["light", "Pacific/Kiritimati"],
      ["dark", "Pacific/Pago_Pago"],
    ] as const) {
      const context = await newContext(browser, "desktop", { colorScheme, timezoneId });
      const page = await context.newPage();
      const problems = watchPage(page);
      await signIn(page, stack.edgeUrl, stack.adminKey, "models/demo-lm/1");
      const time = page.locator("main time[datetime]").first();
      await time.waitFor();
      const iso = (await time.getAttribute("datetime")) ?? "";
      // The viewer's zone, as the browser's Intl formats it there (UTC+14 and UTC−11: always different days or hours).
      const expected = new Intl.DateTimeFormat("en-US", {
        dateStyle: "medium",
        timeStyle: "medium",
        timeZone: timezoneId,
      }).format(new Date(iso));
      expect(await time.textContent()).toBe(expected);
      times.push(expected);
      colours.push(await page.evaluate<string>("getComputedStyle(document.body).backgroundColor"));
      await screenshot(page, `shell-${colorScheme}`);
      expect(problems.list()).toEqual([]);
      await context.close();
    }
    expect(times[0]).not.toBe(times[1]);
    expect(colours).toEqual(["rgb(247, 248, 250)", "rgb(13, 17, 23)"]);
  });

  it("can be used from the keyboard: the skip link, then the nav", async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, stack.edgeUrl, stack.adminKey);
    await page.keyboard.press("Tab");
    expect(await page.evaluate<string | undefined>("document.activeElement?.textContent")).toBe("Skip to content");
    await page.keyboard.press("Tab");
    expect(await page.evaluate<string | undefined>("document.activeElement?.textContent")).toBe("Models");
    // Following a nav link from the keyboard lands on the new view's heading.
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    await expect.poll(() => page.evaluate<string | undefined>("document.activeElement?.tagName")).toBe("H1");
    expect(await page.evaluate<string | undefined>("document.activeElement?.textContent")).toContain("Fleet");
    await context.close();
  });
});
