/**
 * Constrained decoding through a real worker on the reference decoder (real onnxruntime-node,
 * real inference thread, its byte-level BPE vocabulary): every output over many seeds and
 * prompts validates with Ajv (an independent validator), inside max_new_tokens; constraints
 * that cannot be enforced are 400 before inference; a batch gives each row what it gets alone;
 * streaming, stop strings, latent spans and tool calls keep the guarantee.
 */
import { type GenerateResponse, GenerateResponseSchema, type ModelVersion, parseToolCalls } from "@modelgate/shared";
import Ajv2020 from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildReferenceDecoder, REFERENCE_DECODER_LATENT_MESSAGES } from "../src/reference-models/index.js";
import { type LocalS3, startLocalS3 } from "./support/local-s3.js";
import { uploadReferenceModel } from "./support/model-version.js";
import { readServerSentEvents } from "./support/server-sent-events.js";
import { problemOf, signedPost } from "./support/signed-fetch.js";
import { startTestWorker, type TestWorker } from "./support/test-worker.js";

let s3: LocalS3;
let worker: TestWorker;
let target: ModelVersion;

beforeAll(async () => {
  s3 = await startLocalS3();
  worker = await startTestWorker(s3);
  target = await uploadReferenceModel(s3, buildReferenceDecoder());
});

afterAll(async () => {
  await worker?.close();
  await s3?.close();
});

const post = (body: Record<string, unknown>) =>
  signedPost(worker.url, "/v1/generate", { model: "ref-decoder", target, ...body });

async function generate(body: Record<string, unknown>): Promise<GenerateResponse> {
  const response = await post(body);
  expect(response.status, await response.clone().text()).toBe(200);
  return GenerateResponseSchema.parse(await response.json());
}

const HEALTH = {
  type: "object",
  properties: {
    status: { enum: ["ok", "degraded", "down"] },
    workers: { type: "integer", minimum: 0, maximum: 64 },
    note: { type: "string", maxLength: 40 },
    gpus: { type: "array", items: { type: "number" }, maxItems: 3 },
  },
  required: ["status", "workers"],
  additionalProperties: false,
};

const PROMPTS = [
  { messages: [{ role: "user", content: "Show me the health as JSON." }] },
  { prompt: "The worker answers a health check with" },
  { messages: [{ role: "user", content: "What does the worker return?" }] },
];

const ajv = new Ajv2020({ strict: false });

describe("json_schema constraint", () => {
  it("validates with Ajv over many seeds and prompts, each inside max_new_tokens", async () => {
    const validate = ajv.compile(HEALTH);
    const answers = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        generate({
          ...PROMPTS[i % PROMPTS.length],
          max_new_tokens: 40,
          temperature: 1,
          seed: 500 + i,
          constraint: { type: "json_schema", schema: HEALTH },
        }),
      ),
    );
    for (const answer of answers) {
      expect(validate(JSON.parse(answer.text)), `${answer.text}: ${ajv.errorsText(validate.errors)}`).toBe(true);
      expect(answer.tokens_generated).toBeLessThanOrEqual(40);
    }
  });

  it("finishes a valid output when the token budget is tight", async () => {
    const schema = { type: "object", properties: { status: { type: "string" } }, required: ["status"] };
    for (const seed of [1, 2, 3, 4]) {
      const answer = await generate({
        prompt: "Status:",
        max_new_tokens: 14,
        temperature: 1.2,
        seed,
        constraint: { type: "json_schema", schema },
      });
      expect(ajv.validate(schema, JSON.parse(answer.text)), answer.text).toBe(true);
    }
  });

  it("gives every row of a batch what it gets alone", async () => {
    const bodies = Array.from({ length: 6 }, (_, i) => ({
      ...PROMPTS[i % PROMPTS.length],
      max_new_tokens: 32,
      temperature: i % 2 === 0 ? 0 : 0.9,
      seed: 900 + i,
      constraint:
        i % 3 === 2 ? { type: "regex", pattern: "[a-z]+( [a-z]+){1,4}\\." } : { type: "json_schema", schema: HEALTH },
    }));
    const alone: GenerateResponse[] = [];
    for (const body of bodies) alone.push(await generate(body));
    const together = await Promise.all(bodies.map((body) => generate(body)));
    for (const [i, answer] of together.entries()) expect(answer.token_ids, `row ${i}`).toEqual(alone[i]?.token_ids);
  });

  it("streams exactly the text it returns, and a stop string ends it only where it is complete", async () => {
    const constraint = { type: "json_schema", schema: HEALTH };
    const streamed = await post({
      ...PROMPTS[0],
      max_new_tokens: 40,
      temperature: 0.9,
      seed: 77,
      stream: true,
      constraint,
    });
    const events = await readServerSentEvents(streamed);
    const done = GenerateResponseSchema.parse(events.find((event) => event.event === "done")?.data);
    const text = events
      .filter((e) => e.event === "token")
      .map((e) => (e.data as { text: string }).text)
      .join("");
    expect(text).toBe(done.text);
    expect(ajv.validate(HEALTH, JSON.parse(done.text))).toBe(true);
    // `"` occurs inside the output many times; it can only stop the answer where the JSON is whole.
    const stopped = await generate({
      ...PROMPTS[0],
      max_new_tokens: 40,
      temperature: 0.9,
      seed: 77,
      stop: ['"', "}"],
      constraint,
    });
    expect(ajv.validate(HEALTH, JSON.parse(stopped.text))).toBe(true);
  });

  it("suspends masking inside latent spans and keeps them out of the validated text", async () => {
    const answer = await generate({
      messages: REFERENCE_DECODER_LATENT_MESSAGES,
      max_new_tokens: 48,
      temperature: 0,
      runtime_config: { caws_tier: "tier_3", latent_mode_enabled: true, max_latent_spans: 2, max_latent_length: 4 },
      constraint: { type: "json_schema", schema: HEALTH },
    });
    expect(answer.latent_spans_used).toBeGreaterThan(0);
    expect(ajv.validate(HEALTH, JSON.parse(answer.text)), answer.text).toBe(true);
  });

  it("constrains every loop of an enforcing judge, which still scores", async () => {
    const answer = await generate({
      ...PROMPTS[0],
      max_new_tokens: 40,
      temperature: 0.9,
      seed: 3,
      judge: { type: "json_schema", schema: HEALTH, enforce: true },
      runtime_config: { caws_tier: "tier_3", max_refinement_loops: 3 },
    });
    expect(answer.stop_reason).toBe("judge_passed");
    expect(answer.loops[0]?.judge_score).toBe(1);
  });
});

describe("regex and choice constraints", () => {
  it("matches the whole pattern, and picks one of the choices", async () => {
    for (const seed of [1, 2, 3]) {
      const regex = await generate({
        prompt: "The worker",
        max_new_tokens: 24,
        temperature: 1,
        seed,
        constraint: { type: "regex", pattern: "^(ok|down) after \\d{1,3} ms$" },
      });
      expect(regex.text).toMatch(/^(ok|down) after \d{1,3} ms$/);
      const choice = await generate({
        prompt: "Is the worker up?",
        max_new_tokens: 8,
        temperature: 1,
        seed,
        constraint: { type: "choice", choices: ["yes", "no", "not sure"] },
      });
      expect(["yes", "no", "not sure"]).toContain(choice.text);
      expect(choice.finish_reason).toBe("eos");
    }
  });
});

describe("tool calls", () => {
  const tools = [
    {
      name: "get_weather",
      description: "Weather in a city",
      parameters: {
        type: "object",
        properties: { city: { type: "string", maxLength: 20 }, unit: { enum: ["c", "f"] } },
        required: ["city"],
      },
    },
    {
      name: "restart_worker",
      parameters: { type: "object", properties: { id: { type: "integer", minimum: 1, maximum: 9 } }, required: ["id"] },
    },
  ];

  it("decodes required calls under the union of the tool schemas and returns them parsed", async () => {
    for (const seed of [11, 12, 13, 14]) {
      const answer = await generate({
        messages: [{ role: "user", content: "What is the weather in Oslo?" }],
        max_new_tokens: 96,
        temperature: 1,
        seed,
        constraint: { type: "tool_calls", tools, tool_choice: "required", parallel: false },
      });
      expect(answer.tool_calls, answer.text).toHaveLength(1);
      const [call] = answer.tool_calls ?? [];
      const tool = tools.find((t) => t.name === call?.name);
      expect(tool).toBeDefined();
      expect(ajv.validate(tool?.parameters ?? {}, call?.arguments), JSON.stringify(call)).toBe(true);
    }
  });

  it("calls the named tool; with none, answers in text; assistant calls and tool turns are accepted back", async () => {
    const named = await generate({
      messages: [{ role: "user", content: "Restart one." }],
      max_new_tokens: 96,
      temperature: 0.7,
      seed: 5,
      constraint: { type: "tool_calls", tools, tool_choice: { name: "restart_worker" } },
    });
    expect(named.tool_calls?.length ?? 0, JSON.stringify(named)).toBeGreaterThan(0);
    expect(named.tool_calls?.every((call) => call.name === "restart_worker")).toBe(true);
    const followUp = await generate({
      messages: [
        { role: "user", content: "Restart one." },
        {
          role: "assistant",
          content: "",
          tool_calls: [{ id: "call_1", type: "function", function: { name: "restart_worker", arguments: { id: 3 } } }],
        },
        { role: "tool", content: "restarted", tool_call_id: "call_1" },
      ],
      max_new_tokens: 16,
      temperature: 0.7,
      seed: 5,
      constraint: { type: "tool_calls", tools, tool_choice: "none" },
    });
    expect(followUp.tool_calls).toBeUndefined();
    expect(followUp.text.startsWith("<tool_call>")).toBe(false);
    expect(parseToolCalls(followUp.text)).toBeUndefined();
  });
});

describe("refused before inference", () => {
  it("names an unsupported keyword, an overlapping oneOf and an unsatisfiable schema", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [
        { type: "json_schema", schema: { type: "object", properties: { n: { type: "number", multipleOf: 3 } } } },
        "constraint.schema.properties.n.multipleOf",
      ],
      [
        { type: "json_schema", schema: { oneOf: [{ type: "number" }, { type: "integer" }] } },
        "constraint.schema.oneOf",
      ],
      [{ type: "json_schema", schema: { type: "object", required: ["a"], additionalProperties: false } }, "constraint"],
      [{ type: "json_schema", schema: { type: "string", pattern: "(?=x)y" } }, "constraint.schema.pattern"],
      [{ type: "regex", pattern: "(a)\\1" }, "constraint.pattern"],
    ];
    for (const [constraint, field] of cases) {
      const response = await post({ prompt: "x", max_new_tokens: 8, constraint, stream: true });
      expect(response.status, JSON.stringify(constraint)).toBe(400);
      const { body } = await problemOf(response);
      expect((body.errors as { field: string }[]).map((e) => e.field)).toContain(field);
    }
  });
});
