/**
 * `response_format` and `tools` on the OpenAI-compatible route, against the stand-in worker
 * (which answers with the generate request it received): each is translated to the engine's
 * `constraint` and nothing else; what the engine cannot enforce is refused at the edge, before
 * forwarding, naming the field as the client wrote it; tool calls come back as
 * `message.tool_calls` and streamed `delta.tool_calls`.
 */

import { type GenerateResponse, ProblemDetailsSchema } from "@modelgate/shared";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { chatCompletion, chatCompletionChunks, newCompletionEnvelope } from "../src/openai/openai-response.js";
import { ChatCompletionChunkSchema, ChatCompletionSchema } from "../src/openai/openai-schemas.js";
import { translateGenerationStream } from "../src/openai/openai-stream.js";
import { ADMIN, call, causalLmRegistration, registerAndPromote, resetEdge, sendHeartbeat } from "./support/requests.js";

beforeEach(async () => {
  await registerAndPromote("demo-lm", causalLmRegistration({ max_context_tokens: 512 }));
  await sendHeartbeat({ worker_id: "gpu-box-1", url: inject("standInWorkerUrl") });
});
afterEach(() => resetEdge());

const hello = { model: "demo-lm", messages: [{ role: "user", content: "hi" }] };
const weather = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    strict: true,
  },
};

/** The generate request the stand-in worker received. */
async function forwarded(body: object): Promise<Record<string, unknown>> {
  const response = await call("POST", "/v1/chat/completions", { key: ADMIN, body: { ...hello, ...body } });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  const content = ChatCompletionSchema.parse(JSON.parse(text)).choices[0]?.message.content ?? "";
  return JSON.parse(content) as Record<string, unknown>;
}

async function refusedField(body: object): Promise<string[]> {
  const response = await call("POST", "/v1/chat/completions", { key: ADMIN, body: { ...hello, ...body } });
  const text = await response.text();
  expect(response.status, text).toBe(400);
  return (ProblemDetailsSchema.parse(JSON.parse(text)).errors ?? []).map((e) => e.field);
}

describe("response_format", () => {
  it("becomes the engine's json_schema constraint (json_object: any object; text: none)", async () => {
    const schema = {
      type: "object",
      properties: { ok: { type: "boolean" } },
      required: ["ok"],
      additionalProperties: false,
    };
    expect(
      (await forwarded({ response_format: { type: "json_schema", json_schema: { name: "s", schema, strict: true } } }))
        .constraint,
    ).toEqual({
      type: "json_schema",
      schema,
    });
    expect((await forwarded({ response_format: { type: "json_object" } })).constraint).toEqual({
      type: "json_schema",
      schema: { type: "object" },
    });
    expect((await forwarded({ response_format: { type: "text" } })).constraint).toBeUndefined();
  });

  it("refuses what cannot be enforced before forwarding, naming the keyword as the client wrote it", async () => {
    const format = (schema: object) => ({
      response_format: { type: "json_schema", json_schema: { name: "s", schema } },
    });
    expect(
      await refusedField(format({ type: "object", properties: { n: { type: "integer", multipleOf: 2 } } })),
    ).toEqual(["response_format.json_schema.schema.properties.n.multipleOf"]);
    expect(await refusedField(format({ type: "array", minItems: 3, maxItems: 2 }))).toEqual([
      "response_format.json_schema.schema.maxItems",
    ]);
    expect(await refusedField({ response_format: { type: "xml" } })).toContain("response_format.type");
  });
});

describe("tools", () => {
  it("become a tool_calls constraint; calls and tool answers sent back become chat turns", async () => {
    const body = await forwarded({
      tools: [weather],
      tool_choice: { type: "function", function: { name: "get_weather" } },
      parallel_tool_calls: false,
      messages: [
        { role: "user", content: "Weather in Oslo?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } },
          ],
        },
        { role: "tool", tool_call_id: "call_1", content: "12 C" },
      ],
    });
    expect(body.constraint).toEqual({
      type: "tool_calls",
      tools: [{ name: "get_weather", description: "Weather in a city", parameters: weather.function.parameters }],
      tool_choice: { name: "get_weather" },
      parallel: false,
    });
    expect(body.messages).toEqual([
      { role: "user", content: "Weather in Oslo?" },
      {
        role: "assistant",
        content: "",
        tool_calls: [
          { id: "call_1", type: "function", function: { name: "get_weather", arguments: { city: "Oslo" } } },
        ],
      },
      { role: "tool", content: "12 C", tool_call_id: "call_1", name: "get_weather" },
    ]);
    expect(((await forwarded({ tools: [weather] })).constraint as { tool_choice: string }).tool_choice).toBe("auto");
  });

  it.each([
    [
      "an unsupported keyword in parameters",
      { tools: [{ type: "function", function: { name: "f", parameters: { type: "object", not: {} } } }] },
      "tools.0.function.parameters.not",
    ],
    ["two tools with one name", { tools: [weather, weather] }, "tools.1.function.name"],
    [
      "a tool_choice naming no tool",
      { tools: [weather], tool_choice: { type: "function", function: { name: "nope" } } },
      "tool_choice.function.name",
    ],
    ["tool_choice without tools", { tool_choice: "required" }, "tool_choice"],
    ["tools with a response_format", { tools: [weather], response_format: { type: "json_object" } }, "response_format"],
    [
      "arguments that are not a JSON object",
      {
        messages: [
          {
            role: "assistant",
            content: null,
            tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "[1]" } }],
          },
        ],
      },
      "messages.0.tool_calls.0.function.arguments",
    ],
    ["a user message without content", { messages: [{ role: "user", content: null }] }, "messages.0.content"],
  ])("refuses %s, naming the field", async (_case, body, field) => {
    expect(await refusedField(body)).toContain(field);
  });
});

describe("tool calls in the answer", () => {
  const calls = [{ name: "get_weather", arguments: { city: "Oslo" } }];
  const generation = (text: string, toolCalls?: typeof calls): GenerateResponse => ({
    model: "m",
    version: 1,
    worker_id: "w",
    text,
    token_ids: [],
    tokens_generated: 1,
    prompt_tokens: 1,
    finish_reason: "eos",
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
        finish_reason: "eos",
      },
    ],
    stop_reason: "no_judge",
    ...(toolCalls ? { tool_calls: toolCalls } : {}),
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
  const callText = '<tool_call>{"name":"get_weather","arguments":{"city":"Oslo"}}</tool_call>';

  it("are message.tool_calls with ids, content null and finish_reason tool_calls", () => {
    const completion = ChatCompletionSchema.parse(
      chatCompletion(newCompletionEnvelope("chat", "m@1"), generation(callText, calls)),
    );
    const [choice] = completion.choices;
    expect(choice?.finish_reason).toBe("tool_calls");
    expect(choice?.message.content).toBeNull();
    expect(choice?.message.tool_calls?.[0]).toMatchObject({
      type: "function",
      function: { name: "get_weather", arguments: '{"city":"Oslo"}' },
    });
    expect(choice?.message.tool_calls?.[0]?.id).toMatch(/^call_[0-9a-f]{24}$/);
  });

  async function streamed(tokens: string[], done: GenerateResponse) {
    const encoder = new TextEncoder();
    const events = [
      ...tokens.map((text) => `event: token\ndata: ${JSON.stringify({ loop: 1, text })}\n\n`),
      `event: done\ndata: ${JSON.stringify(done)}\n\n`,
    ];
    const upstream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const event of events) controller.enqueue(encoder.encode(event));
        controller.close();
      },
    });
    const translated = translateGenerationStream(upstream, {
      chunks: chatCompletionChunks(newCompletionEnvelope("chat", "m@1"), false),
      judged: false,
      toolCalls: true,
      includeUsage: false,
      fieldNames: {},
      instance: "/v1/chat/completions",
    });
    const text = await new Response(translated).text();
    return text
      .split("\n\n")
      .filter((block) => block.startsWith("data: ") && block !== "data: [DONE]")
      .map((block) => ChatCompletionChunkSchema.parse(JSON.parse(block.slice(6))).choices[0]);
  }

  it("stream as delta.tool_calls, the call's text never as content", async () => {
    const choices = await streamed(["<tool", "_call>{", callText.slice(13)], generation(callText, calls));
    expect(choices.some((c) => c?.delta.content)).toBe(false);
    const deltas = choices.flatMap((c) => c?.delta.tool_calls ?? []);
    expect(deltas[0]).toMatchObject({ index: 0, type: "function", function: { name: "get_weather", arguments: "" } });
    expect(deltas.map((d) => d.function.arguments).join("")).toBe('{"city":"Oslo"}');
    expect(choices.at(-1)?.finish_reason).toBe("tool_calls");
  });

  it("stream a text answer as content once it cannot be a call, held back until then", async () => {
    const choices = await streamed(["<to", "day is", " sunny"], generation("<today is sunny"));
    expect(choices.map((c) => c?.delta.content ?? "").join("")).toBe("<today is sunny");
    expect(choices.filter((c) => c?.delta.content).map((c) => c?.delta.content)).toEqual(["<today is", " sunny"]);
    expect(choices.at(-1)?.finish_reason).toBe("stop");
  });
});
