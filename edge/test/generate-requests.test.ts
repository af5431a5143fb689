/**
 * What the edge does with the generation engine's request fields before forwarding: model
 * judges resolved to a scorer version, context limits, bad judges and prompt forms refused
 * with the field named, and streams passed through as they arrive.
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
  tensorRegistration,
} from "./support/requests.js";

interface Echo {
  echoed: {
    judge?: { type: string; model?: string };
    constraint?: unknown;
    judge_target?: { name: string; version: number; kind: string };
    target: { name: string };
  };
}

const SCORER_IO = {
  inputs: [{ name: "input_ids", dtype: "int64" as const, shape: [1, "sequence"] }],
  outputs: [{ name: "score", dtype: "float32" as const, shape: [1, 1] }],
};

beforeEach(async () => {
  await registerAndPromote("demo-lm", causalLmRegistration({ max_context_tokens: 512 }));
  await registerAndPromote("json-scorer", causalLmRegistration({ kind: "scorer", io: SCORER_IO, apply_policy: false }));
  await registerAndPromote("spirals", tensorRegistration());
  await sendHeartbeat({ worker_id: "gpu-box-1", url: inject("standInWorkerUrl") });
});
afterEach(() => resetEdge());

const generate = (body: object, key: string | undefined = ADMIN) => call("POST", "/v1/generate", { key, body });

describe("POST /v1/generate: judges", () => {
  it("resolves a model judge to its scorer version and forwards both, signed", async () => {
    const response = await generate({ model: "demo-lm", prompt: "hi", judge: { type: "model", model: "json-scorer" } });
    expect(response.status).toBe(200);
    const echo = (await response.json()) as Echo;
    expect(echo.echoed.judge_target).toMatchObject({ name: "json-scorer", version: 1, kind: "scorer" });
    expect(echo.echoed.target.name).toBe("demo-lm");
  });

  it("forwards a constraint as it is, tool-call defaults filled in", async () => {
    const constraint = { type: "tool_calls", tools: [{ name: "f", parameters: { type: "object" } }] };
    const messages = [{ role: "user", content: "hi" }];
    const echo = (await (await generate({ model: "demo-lm", messages, constraint })).json()) as Echo;
    expect(echo.echoed.constraint).toEqual({ ...constraint, tool_choice: "auto", parallel: true });
  });

  it("forwards json_schema and regex judges as they are, with no judge_target", async () => {
    const judge = { type: "json_schema", schema: { type: "object", required: ["status"] } };
    const echo = (await (await generate({ model: "demo-lm", prompt: "hi", judge })).json()) as Echo;
    expect(echo.echoed.judge).toEqual(judge);
    expect(echo.echoed.judge_target).toBeUndefined();
  });

  it.each([
    ["a causal LM as judge", { type: "model", model: "demo-lm" }, 400, "judge.model"],
    ["a tensor model as judge", { type: "model", model: "spirals" }, 400, "judge.model"],
    ["an unknown judge model", { type: "model", model: "nobody" }, 404, "judge.model"],
    ["a regex that does not compile", { type: "regex", pattern: "(unclosed" }, 400, "judge.pattern"],
    ["a stateful regex flag", { type: "regex", pattern: "a", flags: "g" }, 400, "judge.flags"],
    ["an unknown judge type", { type: "vibes" }, 400, "judge.type"],
  ])("refuses %s, naming %s", async (_case, judge, status, field) => {
    const problem = await expectProblem(await generate({ model: "demo-lm", prompt: "hi", judge }), status);
    expect(problem.errors?.map((e) => e.field)).toContain(field);
  });
});

describe("POST /v1/generate: request shape", () => {
  it("accepts chat messages instead of a prompt", async () => {
    const messages = [{ role: "user", content: "Status?" }];
    const response = await generate({ model: "demo-lm", messages });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { echoed: { messages: unknown } }).echoed.messages).toEqual(messages);
  });

  it.each([
    ["both prompt and messages", { prompt: "hi", messages: [{ role: "user", content: "hi" }] }, "messages"],
    ["neither prompt nor messages", {}, "prompt"],
    ["a message with an unknown role", { messages: [{ role: "robot", content: "hi" }] }, "messages.0.role"],
    ["max_new_tokens filling the model's 512-token context", { prompt: "hi", max_new_tokens: 512 }, "max_new_tokens"],
    [
      "runtime_config.max_new_tokens filling the context",
      { prompt: "hi", runtime_config: { max_new_tokens: 600 } },
      "runtime_config.max_new_tokens",
    ],
    ["a negative temperature", { prompt: "hi", temperature: -0.5 }, "temperature"],
    ["top_p above 1", { prompt: "hi", top_p: 1.5 }, "top_p"],
    [
      "a constraint keyword the engine cannot enforce",
      { prompt: "hi", constraint: { type: "json_schema", schema: { type: "array", uniqueItems: true } } },
      "constraint.schema.uniqueItems",
    ],
    [
      "an enforcing judge with a format it has no grammar for",
      { prompt: "hi", judge: { type: "json_schema", schema: { type: "string", format: "uri" }, enforce: true } },
      "judge.schema.format",
    ],
    [
      "a constraint and an enforcing judge together",
      {
        prompt: "hi",
        constraint: { type: "choice", choices: ["a"] },
        judge: { type: "json_schema", schema: {}, enforce: true },
      },
      "judge.enforce",
    ],
    [
      "tool calls with a raw prompt",
      { prompt: "hi", constraint: { type: "tool_calls", tools: [{ name: "f" }] } },
      "constraint.tools",
    ],
  ])("refuses %s with 400 naming %s", async (_case, fields, field) => {
    const problem = await expectProblem(await generate({ model: "demo-lm", ...fields }), 400);
    expect(problem.errors?.map((e) => e.field)).toContain(field);
  });

  it("needs the infer scope, for judges as for everything else", async () => {
    await expectProblem(
      await generate({ model: "demo-lm", prompt: "hi", judge: { type: "regex", pattern: "a" } }, ""),
      401,
    );
  });
});

describe("POST /v1/generate with stream: true", () => {
  it("passes the worker's server-sent events through as they arrive", async () => {
    const response = await generate({ model: "demo-lm", prompt: "hi", stream: true });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(response.headers.get("x-modelgate-worker")).toBe("gpu-box-1");
    const reader = response.body?.getReader();
    if (!reader) throw new Error("no body");
    const decoder = new TextDecoder();
    // The first event arrives before the stand-in has finished writing the stream.
    const first = await reader.read();
    expect(decoder.decode(first.value)).toContain("event: token");
    let rest = "";
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += decoder.decode(chunk.value);
    expect(rest).toContain("event: done");
  });
});
