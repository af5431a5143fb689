/**
 * The OpenAI-compatible routes against the stand-in worker: every OpenAI field mapped onto the
 * forwarded generate request (the stand-in answers with the body it received as the text),
 * modelgate's results in `modelgate`, refusals named by field with OpenAI's `error` member,
 * streams translated into chunks as they arrive, and streams that fail ending with an error chunk.
 */

import { type GenerateResponse, ProblemDetailsSchema } from "@modelgate/shared";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { chatCompletionChunks, newCompletionEnvelope } from "../src/openai/openai-response.js";
import {
  ChatCompletionChunkSchema,
  ChatCompletionSchema,
  OpenAiErrorSchema,
  TextCompletionChunkSchema,
  TextCompletionSchema,
} from "../src/openai/openai-schemas.js";
import { translateGenerationStream } from "../src/openai/openai-stream.js";
import {
  ADMIN,
  call,
  causalLmRegistration,
  registerAndPromote,
  resetEdge,
  sendHeartbeat,
  tensorRegistration,
} from "./support/requests.js";

beforeEach(async () => {
  await registerAndPromote("demo-lm", causalLmRegistration({ max_context_tokens: 512 }));
  await registerAndPromote("spirals", tensorRegistration());
  await sendHeartbeat({ worker_id: "gpu-box-1", url: inject("standInWorkerUrl") });
});
afterEach(() => resetEdge());

const chat = (body: object, key: string | null = ADMIN) =>
  call("POST", "/v1/chat/completions", { key: key ?? undefined, body });
const complete = (body: object, key: string | null = ADMIN) =>
  call("POST", "/v1/completions", { key: key ?? undefined, body });

const hello = { model: "demo-lm", messages: [{ role: "user", content: "hi" }] };

/** The stand-in's text is the generate request it received. */
const forwardedBody = (text: string) => JSON.parse(text) as Record<string, unknown>;

/** A problem+json answer that also carries OpenAI's `error` member; returns both. */
async function expectOpenAiProblem(response: Response, status: number) {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(text) as { error: unknown };
  return { problem: ProblemDetailsSchema.parse(body), error: OpenAiErrorSchema.parse(body.error) };
}

/** Every `data:` payload of an event stream, parsed (`[DONE]` kept as the string). */
function dataPayloads(stream: string): unknown[] {
  return stream
    .split("\n\n")
    .filter((block) => block.startsWith("data: "))
    .map((block) => {
      const data = block.slice("data: ".length);
      return data === "[DONE]" ? data : JSON.parse(data);
    });
}

describe("POST /v1/chat/completions", () => {
  it("maps every OpenAI field and the modelgate object onto the generate request", async () => {
    const judge = { type: "regex", pattern: "^H" };
    const response = await chat({
      model: "demo-lm@1",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "developer", content: "Answer in English." },
        {
          role: "user",
          content: [
            { type: "text", text: "Status" },
            { type: "text", text: "please?" },
          ],
          name: "ada",
        },
        { role: "assistant", content: "Which part?" },
        { role: "user", content: "All of it." },
      ],
      max_completion_tokens: 20,
      temperature: 0.5,
      top_p: 0.9,
      stop: "END",
      seed: 42,
      n: 1,
      user: "user-1234",
      frequency_penalty: 0,
      presence_penalty: 0,
      stream: false,
      stream_options: null,
      modelgate: {
        top_k: 40,
        repetition_penalty: 1.1,
        min_new_tokens: 2,
        include_latent: true,
        runtime_config: { caws_tier: "tier_3", max_refinement_loops: 2 },
        judge,
      },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(response.headers.get("x-modelgate-worker")).toBe("gpu-box-1");
    expect(response.headers.get("x-modelgate-model")).toBe("demo-lm@1");
    expect(response.headers.get("x-modelgate-route-reason")).toContain("gpu-box-1");
    const completion = ChatCompletionSchema.parse(await response.json());
    const forwarded = forwardedBody(completion.choices[0]?.message.content ?? "");
    const { target, ...request } = forwarded;
    expect(target).toMatchObject({ name: "demo-lm", version: 1 });
    expect(request).toEqual({
      model: "demo-lm@1",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "system", content: "Answer in English." },
        { role: "user", content: "Status\nplease?" },
        { role: "assistant", content: "Which part?" },
        { role: "user", content: "All of it." },
      ],
      max_new_tokens: 20,
      temperature: 0.5,
      top_p: 0.9,
      stop: ["END"],
      seed: 42,
      stream: false,
      top_k: 40,
      repetition_penalty: 1.1,
      min_new_tokens: 2,
      include_latent: true,
      runtime_config: { caws_tier: "tier_3", max_refinement_loops: 2 },
      judge,
    });
  });

  it("answers as OpenAI does, with modelgate's results in `modelgate` and every loop in `usage`", async () => {
    const response = await chat({ ...hello, modelgate: { judge: { type: "regex", pattern: "." } } });
    const completion = ChatCompletionSchema.parse(await response.json());
    expect(completion.id).toMatch(/^chatcmpl-[0-9a-f]{32}$/);
    expect(completion).toMatchObject({ object: "chat.completion", model: "demo-lm@1" });
    expect(Math.abs(completion.created - Date.now() / 1000)).toBeLessThan(60);
    expect(completion.choices).toHaveLength(1);
    expect(completion.choices[0]).toMatchObject({ index: 0, message: { role: "assistant" }, finish_reason: "stop" });
    // The stand-in's two loops: a 1-token draft read 5 prompt tokens, the 2-token answer read 9.
    expect(completion.usage).toEqual({
      prompt_tokens: 14,
      completion_tokens: 3,
      total_tokens: 17,
      completion_tokens_details: { reasoning_tokens: 1 },
    });
    expect(completion.modelgate).toMatchObject({
      refinement_loops: 2,
      stop_reason: "judge_passed",
      halt_probability: 0.25,
      halt_logits: [0, -1],
      latent_spans_used: 0,
      ces_tokens_total: 17,
      seed: 7,
      worker_id: "stand-in",
      finish_reason: "eos",
      tokens_per_second: 150,
    });
    expect(completion.modelgate.loops.map((loop) => loop.judge_score)).toEqual([0.2, 0.9]);
  });

  it("takes max_tokens too, and refuses it when it differs from max_completion_tokens", async () => {
    const legacy = ChatCompletionSchema.parse(await (await chat({ ...hello, max_tokens: 9 })).json());
    expect(forwardedBody(legacy.choices[0]?.message.content ?? "").max_new_tokens).toBe(9);
    const { error } = await expectOpenAiProblem(
      await chat({ ...hello, max_tokens: 9, max_completion_tokens: 10 }),
      400,
    );
    expect(error.param).toBe("max_completion_tokens");
  });

  it.each([
    ["n other than 1", "n", { n: 2 }],
    [
      "an image part",
      "messages.0.content.0.type",
      { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "x" } }] }] },
    ],
    ["a tool message answering no call", "messages.0.tool_call_id", { messages: [{ role: "tool", content: "42" }] }],
    ["content that is neither text nor parts", "messages.0.content", { messages: [{ role: "user", content: 42 }] }],
    ["an unknown field", "logit_bias", { logit_bias: { "50256": -100 } }],
    ["an unknown modelgate option", "modelgate.tier", { modelgate: { tier: "tier_1" } }],
    ["a frequency penalty", "frequency_penalty", { frequency_penalty: 0.5 }],
    ["a presence penalty", "presence_penalty", { presence_penalty: -1 }],
    ["too many stop strings", "stop", { stop: ["a", "b", "c", "d", "e", "f", "g", "h", "i"] }],
    ["a temperature out of range", "temperature", { temperature: 9 }],
    ["no messages", "messages", { messages: [] }],
    ["min_new_tokens over max_tokens", "modelgate.min_new_tokens", { max_tokens: 4, modelgate: { min_new_tokens: 8 } }],
    ["a bad judge regex", "modelgate.judge.pattern", { modelgate: { judge: { type: "regex", pattern: "(" } } }],
    ["max_tokens filling the context", "max_tokens", { max_tokens: 512 }],
  ])("refuses %s with 400 naming %s", async (_case, field, overrides) => {
    const { problem, error } = await expectOpenAiProblem(await chat({ ...hello, ...overrides }), 400);
    expect(problem.errors?.map((e) => e.field)).toContain(field);
    expect(error).toMatchObject({ type: "invalid_request_error", param: field });
    expect(error.message).toContain(field);
  });

  it("answers an unknown model with 404 and an OpenAI error naming it", async () => {
    const { problem, error } = await expectOpenAiProblem(await chat({ ...hello, model: "nobody" }), 404);
    expect(problem.code).toBe("not_found");
    expect(error).toEqual({
      message: "No model named nobody.",
      type: "not_found_error",
      param: "model",
      code: "not_found",
    });
  });

  it("refuses a tensor model, naming model", async () => {
    const { error } = await expectOpenAiProblem(await chat({ ...hello, model: "spirals" }), 400);
    expect(error.param).toBe("model");
  });

  it("refuses a call without a key (401) and a key without the infer scope (403)", async () => {
    const anonymous = await expectOpenAiProblem(await chat(hello, null), 401);
    expect(anonymous.error.type).toBe("authentication_error");
    const created = await call("POST", "/v1/keys", { key: ADMIN, body: { name: "reader", scopes: ["models:read"] } });
    const { key } = (await created.json()) as { key: string };
    const reader = await expectOpenAiProblem(await chat(hello, key), 403);
    expect(reader.error).toMatchObject({ type: "permission_error", code: "forbidden" });
    expect(reader.error.message).toContain("infer");
    await expectOpenAiProblem(await complete({ model: "demo-lm", prompt: "hi" }, key), 403);
    await expectOpenAiProblem(await complete({ model: "demo-lm", prompt: "hi" }, null), 401);
  });
});

describe("POST /v1/chat/completions with stream: true", () => {
  it("sends the role, each token as it arrives, the finish, the usage and [DONE]", async () => {
    const response = await chat({ ...hello, stream: true, stream_options: { include_usage: true } });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(response.headers.get("x-modelgate-worker")).toBe("gpu-box-1");
    const reader = response.body?.getReader();
    if (!reader) throw new Error("no body");
    const decoder = new TextDecoder();
    let text = "";
    // The first token is passed on while the stand-in is still generating.
    while (!text.includes('"content":"Hel"')) {
      const chunk = await reader.read();
      if (chunk.done) throw new Error(`stream ended early: ${text}`);
      text += decoder.decode(chunk.value, { stream: true });
    }
    expect(text).not.toContain("[DONE]");
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += decoder.decode(chunk.value);

    const payloads = dataPayloads(text);
    expect(payloads.at(-1)).toBe("[DONE]");
    const chunks = payloads.slice(0, -1).map((payload) => ChatCompletionChunkSchema.parse(payload));
    const [opening, ...rest] = chunks;
    expect(opening?.choices[0]?.delta).toEqual({ role: "assistant", content: "" });
    expect(chunks.every((chunk) => chunk.id === opening?.id && chunk.model === "demo-lm@1")).toBe(true);
    expect(opening?.id).toMatch(/^chatcmpl-/);
    expect(rest.flatMap((chunk) => chunk.choices.map((choice) => choice.delta.content ?? ""))).toEqual([
      "Hel",
      "lo",
      "",
    ]);
    const finish = rest.at(-2);
    expect(finish?.choices[0]?.finish_reason).toBe("stop");
    expect(finish?.modelgate).toMatchObject({ stop_reason: "no_judge", worker_id: "stand-in" });
    const usage = rest.at(-1);
    expect(usage?.choices).toEqual([]);
    expect(usage?.usage).toEqual({
      prompt_tokens: 5,
      completion_tokens: 2,
      total_tokens: 7,
      completion_tokens_details: { reasoning_tokens: 0 },
    });
    expect(usage?.modelgate).toMatchObject({ refinement_loops: 1, seed: 7 });
    // OpenAI's rule: with include_usage, every other chunk says `usage: null`.
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(true);
  });

  it("sends no usage chunk, and no usage fields, unless asked", async () => {
    const payloads = dataPayloads(await (await chat({ ...hello, stream: true })).text());
    expect(payloads.at(-1)).toBe("[DONE]");
    const chunks = payloads.slice(0, -1).map((payload) => ChatCompletionChunkSchema.parse(payload));
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("stop");
    expect(chunks.every((chunk) => chunk.usage === undefined && chunk.choices.length === 1)).toBe(true);
  });

  it("with a judge, sends only the final answer as content and each loop as progress", async () => {
    const response = await chat({
      ...hello,
      stream: true,
      stream_options: { include_usage: true },
      modelgate: { judge: { type: "regex", pattern: "^Hello$" } },
    });
    const payloads = dataPayloads(await response.text());
    expect(payloads.at(-1)).toBe("[DONE]");
    const chunks = payloads.slice(0, -1).map((payload) => ChatCompletionChunkSchema.parse(payload));
    const content = chunks.flatMap((chunk) => chunk.choices.map((choice) => choice.delta.content ?? "")).join("");
    expect(content).toBe("Hello");
    const progress = chunks.flatMap((chunk) =>
      chunk.modelgate && "loop" in chunk.modelgate ? [chunk.modelgate.loop] : [],
    );
    expect(progress.map((loop) => [loop.loop, loop.text, loop.judge_score])).toEqual([
      [1, "Draft", 0.2],
      [2, "Hello", 0.9],
    ]);
    expect(chunks.at(-1)?.usage).toMatchObject({
      completion_tokens: 3,
      completion_tokens_details: { reasoning_tokens: 1 },
    });
  });

  it("ends a stream the worker cut short with an error chunk, never [DONE]", async () => {
    const response = await chat({
      model: "demo-lm",
      messages: [{ role: "user", content: "[cut-stream]" }],
      stream: true,
    });
    expect(response.status).toBe(200);
    const payloads = dataPayloads(await response.text());
    expect(payloads).not.toContain("[DONE]");
    expect(ChatCompletionChunkSchema.parse(payloads[1]).choices[0]?.delta.content).toBe("Hel");
    const last = payloads.at(-1) as { error: unknown };
    expect(OpenAiErrorSchema.parse(last.error)).toMatchObject({ type: "server_error", code: "upstream_failed" });
  });

  it("ends with an error chunk carrying the worker's error event", async () => {
    const response = await chat({
      model: "demo-lm",
      messages: [{ role: "user", content: "[worker-error]" }],
      stream: true,
    });
    const payloads = dataPayloads(await response.text());
    expect(payloads).not.toContain("[DONE]");
    const last = payloads.at(-1) as { error: unknown };
    expect(OpenAiErrorSchema.parse(last.error)).toEqual({
      message: "boom",
      type: "server_error",
      param: null,
      code: "internal",
    });
  });

  it("refuses a bad streamed request before any stream opens", async () => {
    const { error } = await expectOpenAiProblem(await chat({ ...hello, stream: true, n: 3 }), 400);
    expect(error.param).toBe("n");
  });
});

describe("the stream translator on its own", () => {
  const generation = (text: string): GenerateResponse => ({
    model: "m",
    version: 1,
    worker_id: "w",
    text,
    token_ids: [],
    tokens_generated: 1,
    prompt_tokens: 1,
    finish_reason: "length",
    halt_logits: null,
    halt_probability: null,
    refinement_loops: 1,
    loops: [
      {
        loop: 1,
        text,
        tokens: 1,
        prompt_tokens: 1,
        halt_probability: null,
        judge_score: null,
        judge_feedback: null,
        finish_reason: "length",
      },
    ],
    stop_reason: "no_judge",
    latent_spans_used: 0,
    ces_tokens_total: 2,
    seed: 1,
    inference_time_ms: 1,
    tokens_per_second: 1,
    runtime_config: {
      latent_mode_enabled: false,
      halt_head_enabled: true,
      caws_tier: "tier_2",
      max_refinement_loops: 5,
      judge_score_threshold: 0.8,
      halt_probability_threshold: 0.7,
      curriculum_probability: 1,
      curriculum_slots: 1,
      max_latent_spans: 10,
      max_latent_length: 100,
      temperature: 1,
      max_new_tokens: 256,
      enable_efficiency_tracking: true,
    },
  });

  /** Feeds `parts` (then an end or a failure) through the translator and returns its output. */
  async function translate(parts: string[], ending: "close" | "error"): Promise<unknown[]> {
    const encoder = new TextEncoder();
    const upstream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const part of parts) controller.enqueue(encoder.encode(part));
        if (ending === "close") controller.close();
        else controller.error(new Error("connection reset"));
      },
    });
    const translated = translateGenerationStream(upstream, {
      chunks: chatCompletionChunks(newCompletionEnvelope("chat", "m@1"), false),
      judged: false,
      includeUsage: false,
      fieldNames: {},
      instance: "/v1/chat/completions",
    });
    return dataPayloads(await new Response(translated).text());
  }

  it("parses events split anywhere, CRLF included, and maps a length finish", async () => {
    const done = JSON.stringify(generation("ab"));
    const payloads = await translate(
      [
        "event: tok",
        'en\r\ndata: {"loop":1,"text":"a"}\r',
        '\n\r\nevent: token\ndata: {"loop":1,"text":"b"}\n\n',
        `event: done\ndata: ${done}\n\n`,
      ],
      "close",
    );
    expect(payloads.at(-1)).toBe("[DONE]");
    const chunks = payloads.slice(0, -1).map((payload) => ChatCompletionChunkSchema.parse(payload));
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "")).toEqual(["", "a", "b", ""]);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("length");
  });

  it.each(["close", "error"] as const)(
    "ends with an error chunk when the upstream ends (%s) before done",
    async (ending) => {
      const payloads = await translate(['event: token\ndata: {"loop":1,"text":"a"}\n\n'], ending);
      expect(payloads).not.toContain("[DONE]");
      const last = payloads.at(-1) as { error: unknown };
      expect(OpenAiErrorSchema.parse(last.error)).toMatchObject({ code: "upstream_failed", type: "server_error" });
    },
  );

  it("ends with an error chunk on an event it cannot read", async () => {
    const payloads = await translate(['event: done\ndata: {"text": 1}\n\n'], "close");
    expect(payloads).toHaveLength(2);
    expect(OpenAiErrorSchema.parse((payloads[1] as { error: unknown }).error).code).toBe("upstream_failed");
  });
});

describe("POST /v1/completions", () => {
  it.each([
    ["a string", "Once upon"],
    ["an array of one string", ["Once upon"]],
  ])("completes a prompt given as %s, mapping the knobs", async (_case, prompt) => {
    const response = await complete({ model: "demo-lm", prompt, max_tokens: 12, stop: ["\n"], temperature: 0 });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-modelgate-model")).toBe("demo-lm@1");
    const completion = TextCompletionSchema.parse(await response.json());
    expect(completion).toMatchObject({ object: "text_completion", model: "demo-lm@1" });
    expect(completion.id).toMatch(/^cmpl-/);
    expect(completion.choices[0]).toMatchObject({ index: 0, finish_reason: "stop", logprobs: null });
    expect(forwardedBody(completion.choices[0]?.text ?? "")).toMatchObject({
      model: "demo-lm",
      prompt: "Once upon",
      max_new_tokens: 12,
      stop: ["\n"],
      temperature: 0,
    });
    expect(completion.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 });
  });

  it.each([
    ["two prompts", "prompt", { prompt: ["a", "b"] }],
    ["echo", "echo", { prompt: "a", echo: true }],
    ["n: 2", "n", { prompt: "a", n: 2 }],
    ["max_completion_tokens (a chat field)", "max_completion_tokens", { prompt: "a", max_completion_tokens: 3 }],
  ])("refuses %s, naming %s", async (_case, field, body) => {
    const { error } = await expectOpenAiProblem(await complete({ model: "demo-lm", ...body }), 400);
    expect(error.param).toBe(field);
  });

  it("refuses token ids as a prompt, naming the element", async () => {
    const { problem } = await expectOpenAiProblem(await complete({ model: "demo-lm", prompt: [[1, 2]] }), 400);
    expect(problem.errors?.map((e) => e.field)).toContain("prompt.0");
  });

  it("streams text chunks, the finish, the usage and [DONE]", async () => {
    const response = await complete({
      model: "demo-lm",
      prompt: "hi",
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const payloads = dataPayloads(await response.text());
    expect(payloads.at(-1)).toBe("[DONE]");
    const chunks = payloads.slice(0, -1).map((payload) => TextCompletionChunkSchema.parse(payload));
    expect(chunks.map((chunk) => chunk.choices[0]?.text)).toEqual(["Hel", "lo", "", undefined]);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe("stop");
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { total_tokens: 7 } });
  });
});

describe("GET /v1/models as OpenAI's model list", () => {
  it("adds object: list and the page's causal LMs to the registry search answer", async () => {
    const response = await call("GET", "/v1/models", { key: ADMIN });
    expect(response.status).toBe(200);
    const page = (await response.json()) as {
      object: string;
      data: { id: string; object: string; created: number; owned_by: string }[];
      items: unknown[];
      total: number;
    };
    expect(page.object).toBe("list");
    expect(page.items).toHaveLength(2);
    expect(page.total).toBe(2);
    expect(page.data.map((model) => model.id)).toEqual(["demo-lm", "demo-lm@1"]);
    expect(page.data[0]).toMatchObject({ object: "model", owned_by: "modelgate" });
    expect(Math.abs((page.data[0]?.created ?? 0) - Date.now() / 1000)).toBeLessThan(600);
  });
});
