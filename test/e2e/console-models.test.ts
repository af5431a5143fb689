/**
 * The console's Models views in a real browser against the npm start stack: finding versions by
 * filters kept in the address, a promotion that lands on the timeline with its reason, aliases
 * and tags/notes edited through the UI (and stored, as the API shows), a conversion followed
 * live to its end with its gates, a read-only key seeing no write controls, the edge's own
 * words for a refused promotion, and both pages at desktop and phone width.
 */
import type { LocalStack } from "@modelgate/infra/local-stack";
import type {
  ConversionJob,
  ModelView,
  ProblemDetails,
  RegisteredVersion,
  VersionWithAliases,
} from "@modelgate/shared";
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
/** demo-lm's second version, registered (stage None) from the first one's artifact. */
let demoLmV2: number;

/** UI changes wait on the edge, which shares two cores with the worker and Chromium: allow for a busy machine. */
const BUSY = { timeout: 15_000 };

const call = (method: string, path: string, body?: unknown) => callEdge(stack, method, path, body);
const decoderVersion = () => stack.seeded.find((model) => model.name === "ref-decoder")?.version ?? 1;

/** Registers another version of a seeded model: the same artifact, outside the registration policy. */
async function registerCopyOf(name: string, version: number): Promise<number> {
  const source = (await jsonWithStatus(
    await call("GET", `/v1/models/${name}/versions/${version}`),
    200,
  )) as VersionWithAliases;
  const registered = (await jsonWithStatus(
    await call("POST", `/v1/models/${name}/versions`, {
      kind: source.kind,
      artifact: source.artifact,
      io: source.io,
      tokenizer: source.tokenizer,
      runtime_config: source.runtime_config,
      metrics: source.metrics,
      description: "The demo bigram LM again, registered by the console test to be promoted through the UI.",
      categories: source.categories,
      primary_category: source.primary_category,
      benchmark_scores: source.benchmark_scores,
      apply_policy: false,
    }),
    201,
  )) as RegisteredVersion;
  return registered.version;
}

async function openPage(size: "desktop" | "phone" = "desktop", key = stack.adminKey) {
  const context = await newContext(browser, size);
  const page = await context.newPage();
  const problems = watchPage(page);
  await signIn(page, stack.edgeUrl, key);
  return { context, page, problems };
}

async function show(page: Page, route: string, heading: string) {
  await page.goto(`${stack.edgeUrl}/console#${route}`);
  await page.getByRole("heading", { level: 1, name: heading, exact: true }).waitFor();
}

async function expectNoProblems(problems: PageProblems) {
  expect(problems.list()).toEqual([]);
}

beforeAll(async () => {
  fixture = await startConsoleFixture("console-models", { MODELGATE_CONVERSION_POLL_MS: "200" });
  ({ stack, browser } = fixture);
  const demoLm = stack.seeded.find((model) => model.name === "demo-lm")?.version ?? 1;
  demoLmV2 = await registerCopyOf("demo-lm", demoLm);
});

afterAll(() => fixture?.stop());

describe("the console's models views", () => {
  it("narrows the list as filters are typed and chosen, keeps them in the address, and opens the model and its version", async () => {
    const { context, page, problems } = await openPage();
    await page.getByRole("heading", { level: 1, name: "Models" }).waitFor();
    const versionLinks = () => page.getByRole("table").getByRole("link", { name: /@\d+$/ }).allTextContents();
    await expect.poll(versionLinks, BUSY).toContain("ref-decoder@1");

    await page.getByLabel("Search").fill("demo");
    await expect.poll(versionLinks, BUSY).toEqual([`demo-lm@${demoLmV2}`, "demo-scorer@1", "demo-lm@1"]);
    await page.getByLabel("Stage").selectOption("None");
    await expect.poll(versionLinks, BUSY).toEqual([`demo-lm@${demoLmV2}`]);
    expect(await page.getByRole("status").filter({ hasText: "match" }).textContent()).toBe("1 version matches");
    const hash = new URLSearchParams((await page.evaluate<string>("location.hash")).replace(/^#\/models\?/, ""));
    expect(Object.fromEntries(hash)).toEqual({ q: "demo", stage: "None" });
    await screenshot(page, "models-list-desktop").then((shot) => expect(shot.colours).toBeGreaterThan(3));

    // The model page: its versions, aliases, policy and history.
    await page.getByRole("table").getByRole("link", { name: "demo-lm", exact: true }).click();
    await page.getByRole("heading", { level: 1, name: "demo-lm" }).waitFor();
    await expect
      .poll(() => page.getByRole("table").getByRole("link").allTextContents(), BUSY)
      .toEqual([`demo-lm@${demoLmV2}`, "demo-lm@1"]);
    expect(await page.getByText("val_acc").count()).toBeGreaterThan(0);
    await page.getByRole("link", { name: `demo-lm@${demoLmV2}` }).click();
    await page.getByRole("heading", { level: 1, name: `demo-lm@${demoLmV2}` }).waitFor();

    // A shared link (or the back button) lands on the same filtered list.
    await page.goBack();
    await page.goBack();
    await expect.poll(() => page.getByLabel("Search").inputValue(), BUSY).toBe("demo");
    expect(await page.getByLabel("Stage").inputValue()).toBe("None");
    await expect.poll(versionLinks, BUSY).toEqual([`demo-lm@${demoLmV2}`]);
    await expectNoProblems(problems);
    await context.close();
  });

  it("promotes a version with a reason that the timeline shows, sets an alias and edits tags and notes, all stored", async () => {
    const { context, page, problems } = await openPage();
    const label = `demo-lm@${demoLmV2}`;
    await show(page, `/models/demo-lm/${demoLmV2}`, label);

    const stageForm = page.getByRole("form", { name: "Change stage" });
    await stageForm.getByLabel("Stage").selectOption("Production");
    await stageForm.getByLabel(/^Reason/).fill("canary matched version 1 on the demo corpus");
    await stageForm.getByRole("button", { name: "Change stage" }).click();
    await expect.poll(() => stageForm.getByRole("status").textContent(), BUSY).toBe(`${label} is in Production.`);
    const timeline = page.getByRole("list", { name: `History of ${label}` });
    const promotion = timeline.getByRole("listitem").filter({ hasText: "moved from None to Production" });
    await expect.poll(() => promotion.textContent(), BUSY).toContain("“canary matched version 1 on the demo corpus”");
    // Newest first: the promotion heads the timeline.
    expect(await timeline.getByRole("listitem").first().textContent()).toContain("moved from None to Production");

    const aliasForm = page.getByRole("form", { name: "Set an alias" });
    await aliasForm.getByLabel("Alias").fill("champion");
    await aliasForm.getByLabel(/^Reason/).fill("best demo LM");
    // From the keyboard: Enter in a field submits its form.
    await aliasForm.getByLabel(/^Reason/).press("Enter");
    await expect.poll(() => page.getByText(`@champion now points at version ${demoLmV2}.`).count(), BUSY).toBe(1);
    await expect.poll(() => page.getByRole("button", { name: "Remove alias champion" }).count(), BUSY).toBe(1);

    const metadataForm = page.getByRole("form", { name: "Edit metadata" });
    await metadataForm.getByLabel("Tags").fill("canary, bigram");
    await metadataForm.getByLabel("Notes").fill("Promoted from the console test.");
    await metadataForm.getByRole("button", { name: "Save metadata" }).click();
    await expect
      .poll(() => metadataForm.getByRole("status").textContent(), BUSY)
      .toBe("Saved as metadata revision 2 (tags, notes).");
    await expect.poll(() => timeline.getByRole("listitem").first().textContent(), BUSY).toContain("metadata edited");

    const stored = (await jsonWithStatus(
      await call("GET", `/v1/models/demo-lm/versions/${demoLmV2}`),
      200,
    )) as VersionWithAliases;
    expect(stored).toMatchObject({
      stage: "Production",
      tags: ["canary", "bigram"],
      notes: "Promoted from the console test.",
      aliases: ["champion"],
    });
    const model = (await jsonWithStatus(await call("GET", "/v1/models/demo-lm"), 200)) as ModelView;
    expect(model.aliases).toEqual({ champion: demoLmV2 });
    expect(model.versions.find((version) => version.version === 1)?.stage).toBe("Archived");
    await expectNoProblems(problems);
    await context.close();
  });

  it("requests a conversion and follows it live to done, then shows the new format with its gates", async () => {
    const { context, page, problems } = await openPage();
    const label = `ref-decoder@${decoderVersion()}`;
    await show(page, `/models/ref-decoder/${decoderVersion()}`, label);
    // Set before the conversion: still there after it, so the page was never reloaded.
    await page.evaluate("window.modelsTestMarker = 'not reloaded'");
    const form = page.getByRole("form", { name: "Request a conversion" });
    await form.getByLabel("int8").check();
    await form.getByLabel("Shapes").fill("128");
    await form.getByLabel("Primary shape").fill("128");
    await form.getByRole("button", { name: "Convert" }).click();

    const job = page.getByRole("article", { name: /^Conversion job cj_/ });
    await job.waitFor();
    const seen = new Set<string>();
    await expect
      .poll(
        async () => {
          seen.add((await job.getAttribute("data-status")) ?? "");
          return job.getAttribute("data-status");
        },
        { timeout: 60_000, interval: 100 },
      )
      .toBe("succeeded");
    expect([...seen].some((status) => status === "queued" || status === "running")).toBe(true);
    expect(await job.getByRole("status").textContent()).toMatch(/Status\s*succeeded.*Step\s*done.*100 %/);
    expect(await job.getByRole("progressbar").getAttribute("value")).toBe("1");
    expect(await page.evaluate<string>("window.modelsTestMarker")).toBe("not reloaded");

    // Polling stopped with the job.
    const jobId = ((await job.getAttribute("aria-label")) ?? "").replace("Conversion job ", "");
    let pollsAfterDone = 0;
    page.on("request", (request) => {
      if (request.url().endsWith(`/v1/conversions/${jobId}`)) pollsAfterDone++;
    });

    // The page reloaded the version's verification by itself: int8 with its gates.
    const int8 = page.getByRole("region", { name: "int8 format" });
    await int8.waitFor();
    expect(await int8.getByText("gates passed").count()).toBe(1);
    const gates = int8.getByRole("table", { name: "int8 gates" });
    expect(await gates.getByRole("row", { name: /top1_agreement/ }).textContent()).toContain("passed");
    expect(await gates.getByRole("row", { name: /halt_probability_diff/ }).textContent()).toContain("must pass");
    expect(
      await page.getByRole("table", { name: "Shape validation (fp32)" }).getByRole("row", { name: /T128/ }).count(),
    ).toBe(1);
    await page.waitForTimeout(1200);
    expect(pollsAfterDone).toBe(0);
    await screenshot(page, "models-version-desktop").then((shot) => expect(shot.colours).toBeGreaterThan(3));

    // Leaving the page stops following a job that is still running.
    await form.getByLabel("int8").uncheck();
    await form.getByLabel("fp16").check();
    await form.getByRole("button", { name: "Convert" }).click();
    const fp16 = page.getByRole("article", { name: /^Conversion job cj_/ }).filter({ hasText: "fp16" });
    await fp16.waitFor();
    const fp16Id = ((await fp16.getAttribute("aria-label")) ?? "").replace("Conversion job ", "");
    const leftAt = Date.now();
    await page.getByRole("navigation", { name: "Breadcrumb" }).getByRole("link", { name: "ref-decoder" }).click();
    await page.getByRole("heading", { level: 1, name: "ref-decoder" }).waitFor();
    let pollsAfterLeaving = 0;
    page.on("request", (request) => {
      if (request.url().endsWith(`/v1/conversions/${fp16Id}`)) pollsAfterLeaving++;
    });
    await page.waitForTimeout(1200);
    expect(pollsAfterLeaving).toBe(0);
    // …and it was still running when the page was left, so following it had not simply ended.
    const left = (await jsonWithStatus(await call("GET", `/v1/conversions/${fp16Id}`), 200)) as ConversionJob;
    expect(left.finished_at === undefined || Date.parse(left.finished_at) > leftAt, JSON.stringify(left)).toBe(true);
    await expectNoProblems(problems);
    await context.close();
  });

  it("shows a models:read key the list and the version page without any write control", async () => {
    const reader = (await jsonWithStatus(
      await call("POST", "/v1/keys", { name: "console-models-reader", scopes: ["models:read"] }),
      201,
    )) as { key: string };
    const { context, page, problems } = await openPage("desktop", reader.key);
    await page.getByRole("heading", { level: 1, name: "Models" }).waitFor();
    await expect
      .poll(() => page.getByRole("table").getByRole("link", { name: /@\d+$/ }).count(), BUSY)
      .toBeGreaterThan(3);
    await show(page, `/models/ref-decoder/${decoderVersion()}`, `ref-decoder@${decoderVersion()}`);
    await page.getByRole("region", { name: "int8 format" }).waitFor();
    for (const form of ["Change stage", "Set an alias", "Edit metadata", "Request a conversion"]) {
      expect(await page.getByRole("form", { name: form }).count(), form).toBe(0);
    }
    for (const button of ["Change stage", "Set alias", "Save metadata", "Convert", "Cancel job", /^Remove/]) {
      expect(await page.getByRole("button", { name: button }).count(), String(button)).toBe(0);
    }
    await show(page, "/models/demo-lm", "demo-lm");
    await page.getByText(`demo-lm@champion`).waitFor();
    expect(await page.getByRole("form").count()).toBe(0);
    expect(await page.getByRole("button", { name: /^Remove/ }).count()).toBe(0);
    await expectNoProblems(problems);
    await context.close();
  });

  it("names the edge's reason when it refuses a promotion or an alias", async () => {
    // An int4 conversion held to a halt-probability tolerance it cannot meet: its must-pass gate fails.
    const version = decoderVersion();
    const queued = (await jsonWithStatus(
      await call("POST", `/v1/models/ref-decoder/versions/${version}/conversions`, {
        targets: ["int4"],
        shapes: [128],
        primary: 128,
        thresholds: { int4: { max_halt_probability_diff: 0.0001 } },
      }),
      202,
    )) as ConversionJob;
    await expect
      .poll(
        async () =>
          ((await jsonWithStatus(await call("GET", `/v1/conversions/${queued.id}`), 200)) as ConversionJob).status,
        { timeout: 60_000, interval: 200 },
      )
      .toBe("succeeded");
    const { context, page, problems } = await openPage();
    problems.allow(422, new RegExp(`^/v1/models/ref-decoder/versions/${version}/stage$`));
    problems.allow(400, /^\/v1\/models\/ref-decoder\/aliases\/latest$/);
    problems.allow(404, /^\/v1\/models\/demo-lm\/versions\/99(\/verification)?$/);

    // A version that does not exist: the page says so in the edge's words.
    await show(page, "/models/demo-lm/99", "demo-lm@99");
    const missing = (await jsonWithStatus(await call("GET", "/v1/models/demo-lm/versions/99"), 404)) as ProblemDetails;
    await expect.poll(() => page.getByRole("alert").first().textContent(), BUSY).toContain(missing.detail);

    await show(page, `/models/ref-decoder/${version}`, `ref-decoder@${version}`);
    const stageForm = page.getByRole("form", { name: "Change stage" });
    await stageForm.getByLabel("Served format").selectOption({ label: "int4 (gates failed: halt_probability_diff)" });
    await stageForm.getByRole("button", { name: "Change stage" }).click();
    const refusal = stageForm.getByRole("alert");
    await refusal.waitFor();
    expect(await refusal.textContent()).toContain(
      `ref-decoder@${version} cannot move to Production: ref-decoder@${version}:int4 failed must-pass gates halt_probability_diff. Pass force: true with a reason to override.`,
    );
    expect(await refusal.textContent()).toContain("A must-pass quality gate failed: ");

    const aliasForm = page.getByRole("form", { name: "Set an alias" });
    await aliasForm.getByLabel("Alias").fill("latest");
    await aliasForm.getByRole("button", { name: "Set alias" }).click();
    const aliasRefusal = aliasForm.getByRole("alert");
    await aliasRefusal.waitFor();
    const problem = (await jsonWithStatus(
      await call("PUT", "/v1/models/ref-decoder/aliases/latest", { version }),
      400,
    )) as ProblemDetails;
    expect(await aliasRefusal.textContent()).toContain(problem.detail);
    expect(await aliasRefusal.getByRole("listitem").textContent()).toBe(`alias ${problem.errors?.[0]?.message}`);
    // The refusals changed nothing.
    const stored = (await jsonWithStatus(
      await call("GET", `/v1/models/ref-decoder/versions/${version}`),
      200,
    )) as VersionWithAliases;
    expect(stored.serving_format).toBeUndefined();
    expect(stored.aliases).toEqual([]);
    await expectNoProblems(problems);
    await context.close();
  });

  it("fits the list and the version page on a phone: no sideways page scroll, wide tables scroll inside", async () => {
    const { context, page, problems } = await openPage("phone");
    const pageWidth = () => page.evaluate<number>("document.documentElement.scrollWidth");
    await page.getByRole("heading", { level: 1, name: "Models" }).waitFor();
    await expect
      .poll(() => page.getByRole("table").getByRole("link", { name: /@\d+$/ }).count(), BUSY)
      .toBeGreaterThan(3);
    expect(await pageWidth()).toBeLessThanOrEqual(390);
    await screenshot(page, "models-list-phone").then((shot) => expect(shot.colours).toBeGreaterThan(3));

    await show(page, `/models/ref-decoder/${decoderVersion()}`, `ref-decoder@${decoderVersion()}`);
    await page.getByRole("region", { name: "int8 format" }).waitFor();
    expect(await pageWidth()).toBeLessThanOrEqual(390);
    await screenshot(page, "models-version-phone").then((shot) => expect(shot.colours).toBeGreaterThan(3));
    await expectNoProblems(problems);
    await context.close();
  });
});
