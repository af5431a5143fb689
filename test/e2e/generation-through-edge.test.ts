/**
 * The generation engine end to end, as `npm start` runs it: the reference decoder (a real
 * Optimum-layout export with tokenizer.json, registered with its files in S3) generates through
 * the edge with the KV cache, streams, refines with each judge kind, and honours a key's tier.
 * transformers.js, loading the same model folder, is the independent oracle for greedy output.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AutoModelForCausalLM, AutoTokenizer, env, type Tensor } from "@huggingface/transformers";
import {
  buildReferenceDecoder,
  REFERENCE_DECODER_LATENT_PROMPT,
  writeHfModelFolder,
} from "@modelgate/gpu-worker/reference-models/index";
import { freeStackPorts, type LocalStack, startLocalStack } from "@modelgate/infra/local-stack";
import { type GenerateResponse, GenerateResponseSchema, ProblemDetailsSchema } from "@modelgate/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let dataDir: string;
let stack: LocalStack;
const decoder = buildReferenceDecoder();

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "modelgate-engine-"));
  stack = await startLocalStack({ dataDir, ...(await freeStackPorts()), gpuMonitorIntervalMs: 1000 });
});

afterAll(async () => {
  await stack?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

function post(path: string, body: unknown, key = stack.adminKey): Promise<Response> {
  return fetch(`${stack.edgeUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
}

async function generate(body: Record<string, unknown>, key = stack.adminKey): Promise<GenerateResponse> {
  const response = await post("/v1/generate", { model: "ref-decoder", ...body }, key);
  expect(response.status, await response.clone().text()).toBe(200);
  return GenerateResponseSchema.parse(await response.json());
}

/** transformers.js's greedy continuation of `prompt` from the same model folder. */
async function transformersGreedy(prompt: string, maxNewTokens: number): Promise<number[]> {
  const parent = await mkdtemp(join(tmpdir(), "modelgate-peer-"));
  try {
    await writeHfModelFolder(join(parent, decoder.name), decoder);
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = `${parent}/`;
    const tokenizer = await AutoTokenizer.from_pretrained(decoder.name);
    const model = await AutoModelForCausalLM.from_pretrained(decoder.name, { dtype: "fp32", device: "cpu" });
    const inputs = tokenizer(prompt);
    const output = (await model.generate({ ...inputs, max_new_tokens: maxNewTokens, do_sample: false })) as Tensor;
    await model.dispose();
    const [row] = output.tolist() as bigint[][];
    return (row ?? []).slice(inputs.input_ids.dims[1]).map(Number);
  } finally {
    await rm(parent, { recursive: true, force: true });
  }
}

describe("the reference decoder through the edge", () => {
  it("generates greedily what transformers.js generates from the same model folder", async () => {
    const prompt = "A request arrives at the edge";
    const answer = await generate({ prompt, max_new_tokens: 32, temperature: 0 });
    expect(answer).toMatchObject({ model: "ref-decoder", version: 1, stop_reason: "no_judge" });
    const peer = await transformersGreedy(prompt, 32);
    // modelgate masks latent markers while latent mode is off; compare up to the peer's first one.
    const { botTokenId, eotTokenId } = decoder.spec;
    const firstMarker = peer.findIndex((id) => id === botTokenId || id === eotTokenId);
    const comparable = firstMarker === -1 ? peer.length : firstMarker;
    expect(comparable).toBeGreaterThanOrEqual(8);
    expect(answer.token_ids.slice(0, comparable)).toEqual(peer.slice(0, comparable));
  });

  it("streams server-sent events through the edge that add up to the answer", async () => {
    const body = { model: "ref-decoder", prompt: "Good serving", max_new_tokens: 48, temperature: 0.8, seed: 21 };
    const plain = await generate(body);
    const response = await post("/v1/generate", { ...body, stream: true });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(response.headers.get("x-modelgate-model")).toBe("ref-decoder@1");
    const text = await response.text();
    const events = text
      .split("\n\n")
      .filter((block) => block.trim() !== "")
      .map((block) => ({
        event: /^event: (.*)$/m.exec(block)?.[1],
        data: JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? "null") as unknown,
      }));
    const streamed = events
      .filter((e) => e.event === "token")
      .map((e) => (e.data as { text: string }).text)
      .join("");
    expect(streamed).toBe(plain.text);
    expect(events.at(-1)?.event).toBe("done");
    expect(GenerateResponseSchema.parse(events.at(-1)?.data).token_ids).toEqual(plain.token_ids);
  });

  it("refines with a json_schema judge and with the registered scorer model", async () => {
    const schema = { type: "object", required: ["status"], properties: { status: { type: "string" } } };
    const runtime_config = { caws_tier: "tier_3", max_refinement_loops: 3, halt_probability_threshold: 1 };
    const bySchema = await generate({
      messages: [{ role: "user", content: "Show me the health as JSON." }],
      max_new_tokens: 40,
      temperature: 0.9,
      seed: 4,
      judge: { type: "json_schema", schema },
      runtime_config,
    });
    expect(bySchema.refinement_loops).toBe(bySchema.loops.length);
    expect(bySchema.loops.every((loop) => loop.judge_score !== null)).toBe(true);
    expect(["judge_passed", "max_loops"]).toContain(bySchema.stop_reason);
    const byModel = await generate({
      prompt: "The status is",
      max_new_tokens: 24,
      temperature: 0,
      judge: { type: "model", model: "demo-scorer" },
      runtime_config: { ...runtime_config, judge_score_threshold: 0.99 },
    });
    expect(byModel.loops.length).toBeGreaterThanOrEqual(1);
    for (const loop of byModel.loops) {
      expect(loop.judge_score).toBeGreaterThan(0);
      expect(loop.judge_score).toBeLessThan(1);
    }
  });

  it("caps loops and latent spans at a key's maximum tier", async () => {
    const created = await post("/v1/keys", { name: "tier-1-bot", scopes: ["infer"], max_tier: "tier_1" });
    const { key } = (await created.json()) as { key: string };
    const asked = {
      prompt: REFERENCE_DECODER_LATENT_PROMPT,
      max_new_tokens: 40,
      temperature: 0,
      judge: { type: "regex", pattern: "^never$" },
      runtime_config: { caws_tier: "tier_3", max_refinement_loops: 3, latent_mode_enabled: true, max_latent_spans: 3 },
    };
    const admin = await generate(asked);
    expect(admin.latent_spans_used).toBeGreaterThan(0);
    expect(admin.refinement_loops).toBe(3);
    const capped = await generate(asked, key);
    expect(capped.runtime_config).toMatchObject({ caws_tier: "tier_1", max_refinement_loops: 1, max_latent_spans: 0 });
    expect(capped.refinement_loops).toBe(1);
    expect(capped.latent_spans_used).toBe(0);
  });

  it("routes auto:<category> to a model that serves the category", async () => {
    for (const category of ["general", "code", "math"]) {
      const response = await post("/v1/generate", {
        model: `auto:${category}`,
        prompt: "The worker",
        max_new_tokens: 4,
      });
      expect(response.status, await response.clone().text()).toBe(200);
      const served = response.headers.get("x-modelgate-model") ?? "";
      const [name] = served.split("@");
      const version = await fetch(`${stack.edgeUrl}/v1/models/${name}/versions/production`, {
        headers: { authorization: `Bearer ${stack.adminKey}` },
      });
      expect(((await version.json()) as { categories: string[] }).categories).toContain(category);
      expect(response.headers.get("x-modelgate-route-reason")).toContain(category);
      await response.body?.cancel();
    }
    const none = await post("/v1/generate", { model: "auto:vision", prompt: "hi" });
    expect(none.status).toBe(404);
  });

  it("answers bad generation requests 4xx before any inference", async () => {
    for (const [body, field] of [
      [{ prompt: "hi", judge: { type: "json_schema", schema: { type: 12 } } }, "judge.schema"],
      [{ prompt: "hi", max_new_tokens: 1024 }, "max_new_tokens"],
      [{ prompt: "hi", temperature: -1 }, "temperature"],
      [{ prompt: "hi", judge: { type: "regex", pattern: "([a-z" } }, "judge.pattern"],
    ] as const) {
      const response = await post("/v1/generate", { model: "ref-decoder", ...body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      const problem = ProblemDetailsSchema.parse(await response.json());
      expect(problem.errors?.map((e) => e.field)).toContain(field);
    }
  });
});
