/**
 * The generation engine on a real Optimum-layout decoder (the reference decoder, with its
 * tokenizer.json and chat template) behind a real worker: KV-cache decoding agrees with full
 * recompute, continuous batching agrees with decoding alone, latent spans are capped and
 * hidden, and context limits are enforced before inference.
 */
import { Tokenizer } from "@huggingface/tokenizers";
import { type GenerateResponse, GenerateResponseSchema, type ModelVersion } from "@modelgate/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BuiltReferenceDecoder,
  buildDemoLm,
  buildReferenceDecoder,
  REFERENCE_DECODER_LATENT_MESSAGES,
  REFERENCE_DECODER_LATENT_PROMPT,
} from "../src/reference-models/index.js";
import { argmax, ReferenceDecoderRunner } from "./reference-models/reference-decoder-runner.js";
import { type LocalS3, startLocalS3 } from "./support/local-s3.js";
import { uploadReferenceModel } from "./support/model-version.js";
import { readServerSentEvents } from "./support/server-sent-events.js";
import { problemOf, signedPost } from "./support/signed-fetch.js";
import { startTestWorker, type TestWorker } from "./support/test-worker.js";

let s3: LocalS3;
let worker: TestWorker;
let built: BuiltReferenceDecoder;
let target: ModelVersion;
let tokenizer: Tokenizer;
let runner: ReferenceDecoderRunner;

beforeAll(async () => {
  s3 = await startLocalS3();
  worker = await startTestWorker(s3);
  built = buildReferenceDecoder();
  target = await uploadReferenceModel(s3, built);
  tokenizer = new Tokenizer(JSON.parse(built.tokenizerJson), JSON.parse(built.tokenizerConfigJson));
  runner = await ReferenceDecoderRunner.create(built.onnx, built.spec);
});

afterAll(async () => {
  await worker?.close();
  await s3?.close();
});

async function generate(body: Record<string, unknown>): Promise<GenerateResponse> {
  const response = await signedPost(worker.url, "/v1/generate", { model: "ref-decoder", target, ...body });
  expect(response.status, await response.clone().text()).toBe(200);
  return GenerateResponseSchema.parse(await response.json());
}

/**
 * Greedy decoding by full recompute (no cache: the whole sequence every step), with latent
 * markers masked as the engine masks them when latent mode is off.
 */
async function greedyWithoutLatent(promptIds: readonly number[], steps: number): Promise<number[]> {
  const ids = [...promptIds];
  const generated: number[] = [];
  for (let step = 0; step < steps; step++) {
    const logits = runner.logitsAt(await runner.forwardFull(ids), 0);
    logits[built.spec.botTokenId] = Number.NEGATIVE_INFINITY;
    logits[built.spec.eotTokenId] = Number.NEGATIVE_INFINITY;
    const next = argmax(logits);
    ids.push(next);
    generated.push(next);
    if (next === built.spec.eosTokenId) break;
  }
  return generated;
}

const PROMPTS = [
  "The worker",
  "A request arrives at the edge",
  "User: Show me the health as JSON. Assistant:",
  "Good serving",
  "The registry keeps every version of every model, and",
  "When the next request comes in",
  "Each worker reports its health",
  "Streaming sends each token",
];

describe("KV-cache decoding of an Optimum export", () => {
  it("generates exactly the tokens full recompute chooses, greedy", async () => {
    for (const prompt of PROMPTS.slice(0, 3)) {
      const result = await generate({ prompt, max_new_tokens: 48, temperature: 0 });
      const promptIds = tokenizer.encode(prompt).ids;
      expect(result.prompt_tokens).toBe(promptIds.length);
      const reference = await greedyWithoutLatent(promptIds, result.tokens_generated);
      expect(result.token_ids).toEqual(reference);
      // The visible text is the tokenizer's decoding of the answer's ids (special tokens left out).
      expect(result.text).toBe(tokenizer.decode(result.token_ids, { skip_special_tokens: true }));
    }
  });

  it("generates exactly max_new_tokens when min_new_tokens holds EOS back", async () => {
    const body = { prompt: "Keep the models small", max_new_tokens: 96, temperature: 0.8, seed: 105 };
    const free = await generate(body);
    expect(free.finish_reason).toBe("eos");
    const fixed = await generate({ ...body, min_new_tokens: 96 });
    expect(fixed).toMatchObject({ tokens_generated: 96, finish_reason: "length" });
    expect(fixed.token_ids).not.toContain(built.spec.eosTokenId);
  });

  it("reads the halt head after the last kept token", async () => {
    const result = await generate({ prompt: "The worker", max_new_tokens: 24, temperature: 0 });
    const full = await runner.forwardFull([...tokenizer.encode("The worker").ids, ...result.token_ids]);
    expect(full.halt).toBeDefined();
    expect(result.halt_logits?.[0]).toBeCloseTo(full.halt?.[0] ?? Number.NaN, 4);
    expect(result.halt_logits?.[1]).toBeCloseTo(full.halt?.[1] ?? Number.NaN, 4);
  });
});

describe("continuous batching", () => {
  it("gives every concurrent request the answer it gets alone, greedy and sampled", async () => {
    const bodies = PROMPTS.map((prompt, i) => ({
      prompt,
      max_new_tokens: 16 + 8 * i,
      temperature: i % 2 === 0 ? 0 : 0.9,
      top_k: 40,
      seed: 100 + i,
    }));
    const alone: GenerateResponse[] = [];
    for (const body of bodies) alone.push(await generate(body));
    const together = await Promise.all(bodies.map((body) => generate(body)));
    together.forEach((result, i) => {
      expect(result.token_ids, `request ${i}`).toEqual(alone[i]?.token_ids);
      expect(result.halt_logits?.[1]).toBeCloseTo(alone[i]?.halt_logits?.[1] ?? Number.NaN, 3);
    });
  });

  it("keeps /health answering while 16 streams decode", async () => {
    const running = Promise.all(
      Array.from({ length: 16 }, (_, i) => generate({ prompt: PROMPTS[i % PROMPTS.length], max_new_tokens: 96 })),
    );
    const probes: number[] = [];
    let finished = false;
    void running.finally(() => {
      finished = true;
    });
    while (!finished) {
      const started = performance.now();
      await (await fetch(`${worker.url}/health`)).text();
      probes.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const answers = await running;
    expect(answers.every((a) => a.tokens_generated > 0)).toBe(true);
    // A loose bound for a shared CI machine; the benchmark records the real percentiles.
    expect(Math.max(...probes)).toBeLessThan(1000);
  });
});

describe("cancellation", () => {
  it("stops a streamed generation when its client goes away, freeing the batch", async () => {
    // demo-lm recomputes the whole sequence every step: 3000 tokens take seconds, not milliseconds.
    const slow = await uploadReferenceModel(s3, buildDemoLm());
    const started = performance.now();
    const client = new AbortController();
    const response = await signedPost(
      worker.url,
      "/v1/generate",
      { model: "demo-lm", target: slow, prompt: "The worker", max_new_tokens: 3000, temperature: 0.8, stream: true },
      { signal: client.signal },
    );
    const reader = response.body?.getReader();
    if (!reader) throw new Error("no stream");
    await reader.read();
    client.abort();
    await reader.cancel().catch(() => undefined);
    const health = async () => (await (await fetch(`${worker.url}/health`)).json()) as { in_flight: number };
    const deadline = Date.now() + 1000;
    while ((await health()).in_flight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect((await health()).in_flight).toBe(0);
    const stoppedAfter = performance.now() - started;
    // The same generation left to run takes far longer than the stop did.
    const full = await signedPost(worker.url, "/v1/generate", {
      model: "demo-lm",
      target: slow,
      prompt: "The worker",
      max_new_tokens: 3000,
      temperature: 0.8,
    });
    expect(full.status).toBe(200);
    expect(GenerateResponseSchema.parse(await full.json()).inference_time_ms).toBeGreaterThan(2 * stoppedAfter);
    // The worker's throughput window only counts finished generations: the stopped one adds nothing.
    const next = await generate({ prompt: "Good serving", max_new_tokens: 8, temperature: 0 });
    expect(next.tokens_generated).toBe(8);
  });
});

describe("latent spans", () => {
  const latentConfig = { caws_tier: "tier_3", latent_mode_enabled: true, max_latent_spans: 3, max_latent_length: 4 };
  const latentIds = () => ({ begin: built.spec.botTokenId, end: built.spec.eotTokenId });

  it("counts spans, caps their length, and hides them from the text", async () => {
    const result = await generate({
      prompt: REFERENCE_DECODER_LATENT_PROMPT,
      max_new_tokens: 40,
      temperature: 0,
      runtime_config: latentConfig,
    });
    const { begin, end } = latentIds();
    expect(result.latent_spans_used).toBeGreaterThanOrEqual(1);
    expect(result.token_ids).toContain(begin);
    // No span holds more than max_latent_length tokens before its <eot>.
    let inside = -1;
    for (const id of result.token_ids) {
      if (id === begin) inside = 0;
      else if (id === end) inside = -1;
      else if (inside >= 0) inside++;
      expect(inside).toBeLessThanOrEqual(4);
    }
    expect(result.text).not.toContain("<bot>");
    const withLatent = await generate({
      prompt: REFERENCE_DECODER_LATENT_PROMPT,
      max_new_tokens: 40,
      temperature: 0,
      runtime_config: latentConfig,
      include_latent: true,
    });
    expect(withLatent.token_ids).toEqual(result.token_ids);
    expect(withLatent.text).toContain("<bot>");
    expect(withLatent.text.replace(/<bot>.*?(<eot>|$)/gs, "")).toBe(result.text);
  });

  it("opens no span when the tier allows none, and at most max_latent_spans otherwise", async () => {
    const tier1 = await generate({
      prompt: REFERENCE_DECODER_LATENT_PROMPT,
      max_new_tokens: 40,
      temperature: 0,
      runtime_config: { ...latentConfig, caws_tier: "tier_1" },
    });
    expect(tier1.latent_spans_used).toBe(0);
    expect(tier1.token_ids).not.toContain(latentIds().begin);
    const oneSpan = await generate({
      prompt: REFERENCE_DECODER_LATENT_PROMPT,
      max_new_tokens: 80,
      temperature: 1,
      seed: 3,
      runtime_config: { ...latentConfig, max_latent_spans: 1 },
    });
    expect(oneSpan.token_ids.filter((id) => id === latentIds().begin).length).toBeLessThanOrEqual(1);
  });
});

describe("chat templates, stop strings and streaming", () => {
  it("renders messages with the model's chat template", async () => {
    const chat = await generate({ messages: REFERENCE_DECODER_LATENT_MESSAGES, max_new_tokens: 8, temperature: 0 });
    const raw = await generate({ prompt: REFERENCE_DECODER_LATENT_PROMPT, max_new_tokens: 8, temperature: 0 });
    // The template renders those messages to the documented latent prompt, BOS included.
    expect(chat.prompt_tokens).toBe(raw.prompt_tokens);
    expect(chat.token_ids).toEqual(raw.token_ids);
  });

  it("cuts the answer at a stop string that spans BPE tokens", async () => {
    const full = await generate({ prompt: "The worker", max_new_tokens: 40, temperature: 0 });
    const stop = full.text.slice(8, 14);
    const stopped = await generate({ prompt: "The worker", max_new_tokens: 40, temperature: 0, stop: [stop] });
    expect(stopped.finish_reason).toBe("stop");
    expect(stopped.text).toBe(full.text.slice(0, full.text.indexOf(stop)));
  });

  it("streams text that adds up to the answer", async () => {
    const body = {
      model: "ref-decoder",
      target,
      prompt: "Good serving",
      max_new_tokens: 40,
      temperature: 0.7,
      seed: 9,
    };
    const plain = await generate(body);
    const events = await readServerSentEvents(await signedPost(worker.url, "/v1/generate", { ...body, stream: true }));
    const streamed = events
      .filter((e) => e.event === "token")
      .map((e) => (e.data as { text: string }).text)
      .join("");
    expect(streamed).toBe(plain.text);
    expect(events.at(-1)?.event).toBe("done");
  });
});

describe("context limits", () => {
  it("refuses max_new_tokens that fill the context with 400 naming it", async () => {
    const response = await signedPost(worker.url, "/v1/generate", {
      model: "ref-decoder",
      target,
      prompt: "hi",
      max_new_tokens: 1024,
    });
    const problem = await problemOf(response);
    expect(problem.status).toBe(400);
    expect((problem.body.errors as { field: string }[])[0]?.field).toBe("max_new_tokens");
  });

  it("refuses a prompt that leaves too little room, naming max_new_tokens", async () => {
    const response = await signedPost(worker.url, "/v1/generate", {
      model: "ref-decoder",
      target,
      prompt: "x ".repeat(900),
      max_new_tokens: 500,
    });
    const problem = await problemOf(response);
    expect(problem.status).toBe(400);
    expect(String((problem.body.errors as { message: string }[])[0]?.message)).toMatch(/context/);
  });
});
