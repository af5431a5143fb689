/**
 * Structured outputs and tool calling through the stack `npm start` runs, with the `openai` npm
 * SDK's own helpers: `chat.completions.parse` with a zod schema (non-streamed and streamed),
 * `runTools` with a zod-typed function (the call decoded under its schema, its answer sent back
 * as a `tool` message), and an unenforceable schema refused with the SDK's error naming it.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freeStackPorts, type LocalStack, startLocalStack } from "@modelgate/infra/local-stack";
import OpenAI from "openai";
import { zodFunction, zodResponseFormat } from "openai/helpers/zod";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";

let dataDir: string;
let stack: LocalStack;
let client: OpenAI;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "modelgate-structured-"));
  stack = await startLocalStack({ dataDir, ...(await freeStackPorts()), gpuMonitorIntervalMs: 1000 });
  client = new OpenAI({ baseURL: `${stack.edgeUrl}/v1`, apiKey: stack.adminKey, maxRetries: 0 });
});

afterAll(async () => {
  await stack?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

const Health = z.object({
  status: z.enum(["ok", "degraded", "down"]),
  workers: z.number().int().min(0).max(64),
  note: z.string().max(30).nullable(),
});

const question = { role: "user", content: "Show me the health as JSON." } as const;

describe("response_format with the openai SDK", () => {
  it("parses a zod schema's answer, non-streamed and streamed, over several seeds", async () => {
    for (const seed of [1, 2, 3]) {
      const completion = await client.chat.completions.parse({
        model: "ref-decoder",
        messages: [question],
        response_format: zodResponseFormat(Health, "health"),
        max_completion_tokens: 64,
        temperature: 1,
        seed,
      });
      const message = completion.choices[0]?.message;
      expect(Health.safeParse(message?.parsed).success, message?.content ?? "").toBe(true);
    }
    const stream = client.chat.completions.stream({
      model: "ref-decoder",
      messages: [question],
      response_format: zodResponseFormat(Health, "health"),
      max_completion_tokens: 64,
      temperature: 1,
      seed: 4,
    });
    let deltas = 0;
    stream.on("content.delta", () => {
      deltas++;
    });
    const final = await stream.finalChatCompletion();
    expect(deltas).toBeGreaterThan(1);
    expect(Health.safeParse(final.choices[0]?.message.parsed).success).toBe(true);
  });

  it("refuses a schema it cannot enforce with a 400 the SDK raises, naming the keyword", async () => {
    const request = client.chat.completions.create({
      model: "ref-decoder",
      messages: [question],
      response_format: {
        type: "json_schema",
        json_schema: { name: "n", schema: { type: "object", properties: { n: { type: "integer", multipleOf: 5 } } } },
      },
    });
    await expect(request).rejects.toMatchObject({
      status: 400,
      param: "response_format.json_schema.schema.properties.n.multipleOf",
    });
  });
});

describe("tools with the openai SDK", () => {
  const RestartArgs = z.object({ worker: z.enum(["gpu-box-1", "gpu-box-2"]), reason: z.string().max(24) });

  it("runTools: the call is decoded under the tool's schema, run, and its answer sent back", async () => {
    const called: z.infer<typeof RestartArgs>[] = [];
    const runner = client.chat.completions.runTools({
      model: "ref-decoder",
      messages: [{ role: "user", content: "Restart the slow worker." }],
      tools: [
        zodFunction({
          name: "restart_worker",
          parameters: RestartArgs,
          function: (args: z.infer<typeof RestartArgs>) => {
            called.push(args);
            return { restarted: args.worker };
          },
        }),
      ],
      tool_choice: { type: "function", function: { name: "restart_worker" } },
      max_completion_tokens: 96,
      temperature: 0.8,
      seed: 7,
    });
    await runner.done();
    expect(called).toHaveLength(1);
    expect(RestartArgs.safeParse(called[0]).success).toBe(true);
    const [, assistant, toolAnswer] = runner.messages;
    expect(assistant).toMatchObject({ role: "assistant", content: null });
    expect(toolAnswer).toMatchObject({ role: "tool", content: JSON.stringify({ restarted: called[0]?.worker }) });

    // The conversation goes on with the call and its answer in it; tool_choice none answers in text.
    const followUp = await client.chat.completions.create({
      model: "ref-decoder",
      messages: runner.messages as OpenAI.Chat.ChatCompletionMessageParam[],
      tools: [{ type: "function", function: { name: "restart_worker", parameters: z.toJSONSchema(RestartArgs) } }],
      tool_choice: "none",
      max_completion_tokens: 16,
      temperature: 0,
    });
    expect(followUp.choices[0]?.finish_reason).not.toBe("tool_calls");
    expect(followUp.choices[0]?.message.content?.startsWith("<tool_call>")).toBe(false);
  });

  it("streams a required call as delta.tool_calls that the SDK assembles", async () => {
    const stream = client.chat.completions.stream({
      model: "ref-decoder",
      messages: [{ role: "user", content: "Restart a worker." }],
      tools: [{ type: "function", function: { name: "restart_worker", parameters: z.toJSONSchema(RestartArgs) } }],
      tool_choice: "required",
      parallel_tool_calls: false,
      max_completion_tokens: 96,
      temperature: 0.8,
      seed: 9,
    });
    const final = await stream.finalChatCompletion();
    const [choice] = final.choices;
    expect(choice?.finish_reason).toBe("tool_calls");
    const [call] = choice?.message.tool_calls ?? [];
    expect(call?.type === "function" && call.function.name).toBe("restart_worker");
    const args = call?.type === "function" ? JSON.parse(call.function.arguments) : undefined;
    expect(RestartArgs.safeParse(args).success, JSON.stringify(args)).toBe(true);
  });
});
