/**
 * `auto:<category>` targets and seed 002's runtime flags at the edge: the model is chosen by
 * its benchmark scores for the category (weighted as configured), multi-category confidence,
 * and the worker by live load — and switching a flag off changes the next decision at once.
 */

import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import {
  ADMIN,
  call,
  causalLmRegistration,
  expectProblem,
  registerAndPromote,
  resetEdge,
  sendHeartbeat,
} from "./support/requests.js";

interface Echo {
  echoed: { target: { name: string; version: number } };
}

beforeEach(async () => {
  // Strong at code, weak at math.
  await registerAndPromote(
    "coder",
    causalLmRegistration({
      categories: ["code", "math"],
      primary_category: "code",
      benchmark_scores: { HumanEval: 80, MBPP: 70, GSM8K: 20, MATH: 10 },
    }),
  );
  // Strong at math, weaker at code; its primary category is math.
  await registerAndPromote(
    "solver",
    causalLmRegistration({
      categories: ["math", "code"],
      primary_category: "math",
      benchmark_scores: { HumanEval: 40, MBPP: 45, GSM8K: 85, MATH: 70 },
    }),
  );
  await sendHeartbeat({ worker_id: "gpu-box-1", url: inject("standInWorkerUrl") });
});
afterEach(() => resetEdge());

async function routedTo(model: string): Promise<{ name: string; reason: string }> {
  const response = await call("POST", "/v1/generate", { key: ADMIN, body: { model, prompt: "x", max_new_tokens: 4 } });
  expect(response.status, await response.clone().text()).toBe(200);
  const echo = (await response.json()) as Echo;
  expect(response.headers.get("x-modelgate-model")).toBe(`${echo.echoed.target.name}@${echo.echoed.target.version}`);
  return { name: echo.echoed.target.name, reason: response.headers.get("x-modelgate-route-reason") ?? "" };
}

const setFlags = (patch: object, key: string = ADMIN) =>
  call("PATCH", "/v1/admin/selection-flags", { key, body: patch });

describe("auto:<category>", () => {
  it("routes each category to the version whose weighted benchmarks are best for it", async () => {
    expect((await routedTo("auto:code")).name).toBe("coder");
    expect((await routedTo("auto:math")).name).toBe("solver");
  });

  it("refuses a category no Production model serves (404) and a malformed one (400), naming model", async () => {
    const none = await expectProblem(
      await call("POST", "/v1/generate", { key: ADMIN, body: { model: "auto:vision", prompt: "x" } }),
      404,
    );
    expect(none.errors?.map((e) => e.field)).toEqual(["model"]);
    const bad = await expectProblem(
      await call("POST", "/v1/generate", { key: ADMIN, body: { model: "auto:Not A Category", prompt: "x" } }),
      400,
    );
    expect(bad.errors?.map((e) => e.field)).toEqual(["model"]);
  });
});

describe("selection flags", () => {
  it("reads the defaults and refuses an unknown flag or an empty change", async () => {
    const flags = await call("GET", "/v1/admin/selection-flags", { key: ADMIN });
    expect(await flags.json()).toEqual({ benchmark_scoring: true, multi_category: true, gpu_awareness: true });
    await expectProblem(await setFlags({ sparkle: true }), 400);
    await expectProblem(await setFlags({}), 400);
  });

  it("with multi_category off, only a category's primary models are candidates", async () => {
    // solver lists code as a secondary category; coder's primary is code: still coder.
    expect((await routedTo("auto:code")).name).toBe("coder");
    const flags = await setFlags({ multi_category: false });
    expect(await flags.json()).toMatchObject({ multi_category: false });
    // For math, coder (secondary) drops out even though it was never chosen there anyway;
    // turning benchmark scoring off too, math still goes to its only primary model.
    await setFlags({ benchmark_scoring: false });
    expect((await routedTo("auto:math")).name).toBe("solver");
    expect((await routedTo("auto:code")).name).toBe("coder");
  });

  it("with benchmark scoring off, benchmarks stop deciding: stage and confidence do", async () => {
    // A code-only model with poor code benchmarks, registered after coder.
    await registerAndPromote(
      "weak-coder",
      causalLmRegistration({
        categories: ["code"],
        primary_category: "code",
        benchmark_scores: { HumanEval: 20, MBPP: 10 },
      }),
    );
    expect((await routedTo("auto:code")).name).toBe("coder");
    await setFlags({ benchmark_scoring: false });
    // Both in Production; the single-category model has the higher confidence (0.95 vs 0.9).
    expect((await routedTo("auto:code")).name).toBe("weak-coder");
    await setFlags({ benchmark_scoring: true });
    expect((await routedTo("auto:code")).name).toBe("coder");
  });

  it("flips mid-load without failing a request, and the decisions follow the flags", async () => {
    await registerAndPromote(
      "weak-coder",
      causalLmRegistration({
        categories: ["code"],
        primary_category: "code",
        benchmark_scores: { HumanEval: 20, MBPP: 10 },
      }),
    );
    const served: string[] = [];
    let flipping = true;
    // The load runs until every flip is done (and at least 4 requests per client).
    const load = Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let i = 0; flipping || i < 4; i++) served.push((await routedTo("auto:code")).name);
      }),
    );
    // Let the load start under the default flags.
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (const flags of [
      { benchmark_scoring: false },
      { gpu_awareness: false },
      { multi_category: false },
      { benchmark_scoring: true, gpu_awareness: true, multi_category: true },
    ]) {
      expect((await setFlags(flags)).status).toBe(200);
      // Give each rule some requests of its own.
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    flipping = false;
    await load;
    expect(served.length).toBeGreaterThanOrEqual(16);
    // Both rules were in force at some point during the load.
    expect(new Set(served)).toEqual(new Set(["coder", "weak-coder"]));
    expect((await routedTo("auto:code")).name).toBe("coder");
  });

  it("needs the admin scope to change", async () => {
    const created = await call("POST", "/v1/keys", { key: ADMIN, body: { name: "reader", scopes: ["models:read"] } });
    const { key } = (await created.json()) as { key: string };
    await expectProblem(await setFlags({ gpu_awareness: false }, key), 403);
    await expectProblem(await setFlags({ gpu_awareness: false }, ""), 401);
  });
});
