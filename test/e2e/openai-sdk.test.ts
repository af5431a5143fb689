/**
 * The OpenAI-compatible API with a real client: the `openai` npm SDK, pointed at the stack
 * `npm start` runs, chats with the reference decoder (non-streamed, streamed with usage, and
 * refined with modelgate's own options), completes text, lists models, and shows an error's message.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freeStackPorts, type LocalStack, startLocalStack } from "@modelgate/infra/local-stack";
import OpenAI from "openai";
import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionCreateParamsStreaming } from "openai/resources";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let dataDir: string;
let stack: LocalStack;
let client: OpenAI;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "modelgate-openai-"));
  stack = await startLocalStack({ dataDir, ...(await freeStackPorts()), gpuMonitorIntervalMs: 1000 });
  client = new OpenAI({ baseURL: `${stack.edgeUrl}/v1`, apiKey: stack.adminKey, maxRetries: 0 });
});

afterAll(async () => {
  await stack?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

/** What modelgate adds to OpenAI's shapes (the SDK passes unknown fields through). */
interface ModelgateResult {
  stop_reason: string;
  refinement_loops: number;
  loops: { loop: number; text: string; judge_score: number | null }[];
  worker_id: string;
  seed: number;
  halt_probability: number | null;
}
const modelgateOf = (value: object) => (value as { modelgate?: ModelgateResult }).modelgate;

const question = { role: "user", content: "Show me the health as JSON." } as const;

describe("the openai SDK against the local stack", () => {
  it("completes a chat with ref-decoder", async () => {
    const { data: completion, response } = await client.chat.completions
      .create({ model: "ref-decoder", messages: [question], max_tokens: 24, temperature: 0 })
      .withResponse();
    expect(response.headers.get("x-modelgate-worker")).toBe(stack.workerId);
    expect(response.headers.get("x-modelgate-model")).toBe("ref-decoder@1");
    expect(completion).toMatchObject({ object: "chat.completion", model: "ref-decoder@1" });
    expect(completion.id).toMatch(/^chatcmpl-/);
    const [choice] = completion.choices;
    expect(choice?.message.role).toBe("assistant");
    expect(choice?.message.content?.length).toBeGreaterThan(0);
    expect(["stop", "length"]).toContain(choice?.finish_reason);
    const usage = completion.usage;
    expect(usage?.completion_tokens).toBeGreaterThan(0);
    expect(usage?.completion_tokens).toBeLessThanOrEqual(24);
    expect(usage?.prompt_tokens).toBeGreaterThan(0);
    expect(usage?.total_tokens).toBe((usage?.prompt_tokens ?? 0) + (usage?.completion_tokens ?? 0));
    expect(modelgateOf(completion)).toMatchObject({ stop_reason: "no_judge", refinement_loops: 1 });
  });

  it("streams the same chat token by token, then the usage chunk and the end", async () => {
    const request = { model: "ref-decoder", messages: [question], max_tokens: 24, temperature: 0 };
    const whole = await client.chat.completions.create(request);
    const stream = await client.chat.completions.create({
      ...request,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let contentChunks = 0;
    let finish: string | null = null;
    let usageChunk: OpenAI.Chat.Completions.ChatCompletionChunk | undefined;
    let role: string | undefined;
    for await (const chunk of stream) {
      expect(chunk.object).toBe("chat.completion.chunk");
      expect(chunk.model).toBe("ref-decoder@1");
      if (chunk.usage) {
        usageChunk = chunk;
        continue;
      }
      const [choice] = chunk.choices;
      role ??= choice?.delta.role;
      if (choice?.delta.content) {
        text += choice.delta.content;
        contentChunks++;
      }
      finish = choice?.finish_reason ?? finish;
    }
    expect(role).toBe("assistant");
    // Greedy decoding: the stream says what the whole answer said, in more than one piece.
    expect(text).toBe(whole.choices[0]?.message.content);
    expect(contentChunks).toBeGreaterThan(1);
    expect(finish).toBe(whole.choices[0]?.finish_reason);
    expect(usageChunk?.choices).toEqual([]);
    expect(usageChunk?.usage).toEqual(whole.usage);
    expect(usageChunk && modelgateOf(usageChunk)).toMatchObject({ stop_reason: "no_judge" });
  });

  it("carries modelgate's options in `modelgate`: a judge refines, and only the answer is streamed", async () => {
    const options = {
      judge: { type: "json_schema", schema: { type: "object", required: ["status"] } },
      // The halt head may not stop it early: every loop is judged.
      runtime_config: { caws_tier: "tier_3", max_refinement_loops: 3, halt_probability_threshold: 1 },
    };
    // The SDK sends fields it does not know as they are.
    const refined = await client.chat.completions.create({
      model: "ref-decoder",
      messages: [question],
      temperature: 0.9,
      seed: 4,
      modelgate: options,
    } as ChatCompletionCreateParamsNonStreaming);
    const result = modelgateOf(refined);
    // Seed 4's first answer is not JSON; the second is (the reference decoder's corpus ends paragraphs with one).
    expect(result?.refinement_loops).toBeGreaterThan(1);
    expect(result?.loops.every((loop) => loop.judge_score !== null)).toBe(true);
    expect(["judge_passed", "max_loops"]).toContain(result?.stop_reason);

    const stream = await client.chat.completions.create({
      model: "ref-decoder",
      messages: [question],
      temperature: 0.9,
      seed: 4,
      stream: true,
      modelgate: options,
    } as ChatCompletionCreateParamsStreaming);
    let text = "";
    let progress = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      if ((chunk as { modelgate?: { loop?: unknown } }).modelgate?.loop) progress++;
    }
    // The same seed gives the same refinement: the streamed content is exactly the final answer.
    expect(text).toBe(refined.choices[0]?.message.content);
    expect(progress).toBe(result?.refinement_loops);
  });

  it("completes text with completions.create", async () => {
    const completion = await client.completions.create({
      model: "ref-decoder",
      prompt: "A request arrives at the edge",
      max_tokens: 16,
      temperature: 0,
    });
    expect(completion).toMatchObject({ object: "text_completion", model: "ref-decoder@1" });
    expect(completion.choices[0]?.text.length).toBeGreaterThan(0);
    expect(completion.usage?.completion_tokens).toBeLessThanOrEqual(16);
  });

  it("lists ref-decoder among the models", async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toContain("ref-decoder");
    expect(ids).toContain("ref-decoder@1");
    expect(ids).not.toContain("spirals");
  });

  it("surfaces modelgate's error message through the SDK's error", async () => {
    const failure = await client.chat.completions.create({ model: "no-such-model", messages: [question] }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(OpenAI.NotFoundError);
    const error = failure as InstanceType<typeof OpenAI.NotFoundError>;
    expect(error.status).toBe(404);
    expect(error.message).toContain("No model named no-such-model");
    expect(error.param).toBe("model");

    const refused = await client.chat.completions.create({ model: "ref-decoder", messages: [question], n: 2 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect((refused as InstanceType<typeof OpenAI.BadRequestError>).message).toContain("only n = 1 is supported");
  });
});
