import { writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { GenerateResponseSchema, ProblemDetailsSchema, RefinementLoopSchema } from "@modelgate/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { GenerationTokenSchema } from "../src/generation-stream.js";
import { readServerSentEvents } from "../src/sse-reader.js";
import { modelgate } from "./support/run.js";
import { cli, parseJson, stack, tempDir } from "./support/stack.js";

// Every run asks for few tokens with a fixed seed: demo-lm is deterministic for a given seed.
const SHORT = ["--max-new-tokens", "12", "--seed", "7"];

/** The summary's numbers line, e.g. `12 tokens (length, halt p=0.05), 1 loop (no_judge), … seed 7`. */
const SUMMARY =
  /^12 tokens \((length|stop|eos)(, halt p=\d\.\d\d)?\), \d loops? \(\w+\).*, \d+ latent spans?, .* ms, [\d.]+ tok\/s, seed 7$/m;

describe("generate: flags map into the request", () => {
  it("--top-k 1 with a seed decodes greedily, the same text as --temperature 0", async () => {
    const topK = await cli(["generate", "demo-lm", "hello", ...SHORT, "--top-k", "1"]);
    const greedy = await cli(["generate", "demo-lm", "hello", "--max-new-tokens", "12", "--temperature", "0"]);
    const sampled = await cli(["generate", "demo-lm", "hello", ...SHORT]);
    expect(topK.code).toBe(0);
    expect(topK.stdout).toBe(greedy.stdout);
    expect(sampled.stdout).not.toBe(greedy.stdout);
    expect(topK.stderr).toContain(`demo-lm@1 on ${stack().workerId}`);
    expect(topK.stderr).toMatch(SUMMARY);
  });

  it("--stop ends the answer before the stop string, with finish reason stop", async () => {
    const greedy = ["generate", "demo-lm", "hello", "--max-new-tokens", "12", "--temperature", "0", "--json"];
    const full = parseJson(await cli(greedy), GenerateResponseSchema);
    const stopAt = full.text.indexOf("the");
    expect(stopAt).toBeGreaterThan(0);
    const stopped = parseJson(await cli([...greedy, "--stop", "the", "--stop", "zzz"]), GenerateResponseSchema);
    expect(stopped.finish_reason).toBe("stop");
    expect(stopped.text).toBe(full.text.slice(0, stopAt));
  });

  it("--top-p, --repetition-penalty, --tier, --max-loops and thresholds reach the edge", async () => {
    const run = await cli([
      "generate",
      "demo-lm",
      "hello",
      ...SHORT,
      "--top-p",
      "0.9",
      "--repetition-penalty",
      "1.3",
      "--tier",
      "tier_1",
      "--max-loops",
      "2",
      "--judge-threshold",
      "0.5",
      "--halt-threshold",
      "0.9",
    ]);
    expect(run.code).toBe(0);
    // The edge echoes the effective configuration: the tier asked for caps the loops asked for.
    expect(run.stderr).toContain("--max-loops 2 was capped to 1 by tier_1");
    const json = parseJson(
      await cli(["generate", "demo-lm", "hello", ...SHORT, "--tier", "tier_3", "--judge-threshold", "0.5", "--json"]),
      GenerateResponseSchema,
    );
    expect(json.runtime_config).toMatchObject({ caws_tier: "tier_3", judge_score_threshold: 0.5 });
    const latent = parseJson(
      await cli([
        "generate",
        "demo-lm",
        "hello",
        ...SHORT,
        "--latent",
        "--include-latent",
        "--tier",
        "tier_3",
        "--json",
      ]),
      GenerateResponseSchema,
    );
    expect(latent.runtime_config.latent_mode_enabled).toBe(true);
  });

  it("--chat --system sends messages, rendered by the model's chat template", async () => {
    const chat = parseJson(
      await cli(["generate", "demo-lm", "hi", ...SHORT, "--chat", "--system", "be brief", "--json"]),
      GenerateResponseSchema,
    );
    // demo-lm has no template of its own, so the worker renders the messages with its fallback.
    const rendered = parseJson(
      await cli(["generate", "demo-lm", "system: be brief\nuser: hi\nassistant:", ...SHORT, "--json"]),
      GenerateResponseSchema,
    );
    const plain = parseJson(await cli(["generate", "demo-lm", "hi", ...SHORT, "--json"]), GenerateResponseSchema);
    expect(chat.prompt_tokens).toBe(rendered.prompt_tokens);
    expect(chat.text).toBe(rendered.text);
    expect(chat.prompt_tokens).toBeGreaterThan(plain.prompt_tokens);
    const userOnly = parseJson(
      await cli(["generate", "demo-lm", "hi", ...SHORT, "--chat", "--json"]),
      GenerateResponseSchema,
    );
    expect(userOnly.prompt_tokens).toBe(Buffer.byteLength("user: hi\nassistant:") + 1);
  });
});

describe("generate: judges and refinement", () => {
  it("--judge-regex with --max-loops 3 reports every loop and why refinement stopped", async () => {
    const argv = ["generate", "demo-lm", "hello", ...SHORT, "--judge-regex", "^zzz$", "--max-loops", "3"];
    const run = await cli([...argv, "--tier", "tier_3"]);
    expect(run.code).toBe(0);
    const loopLines = run.stderr.split("\n").filter((line) => line.startsWith("loop "));
    expect(loopLines).toHaveLength(3);
    expect(loopLines[0]).toMatch(
      /^loop 1: 12 tokens, judge 0\.00, halt 0\.\d\d — The answer must match \/\^zzz\$\/\.$/,
    );
    expect(run.stderr).toMatch(/3 loops \(max_loops\), judge 0\.00/);
    const json = parseJson(await cli([...argv, "--tier", "tier_3", "--json"]), GenerateResponseSchema);
    expect(json.refinement_loops).toBe(3);
    expect(json.stop_reason).toBe("max_loops");
    expect(`${json.text}\n`).toBe(run.stdout);

    const passing = parseJson(
      await cli(["generate", "demo-lm", "hello", ...SHORT, "--judge-regex", "[a-z]", "--json"]),
      GenerateResponseSchema,
    );
    expect(passing).toMatchObject({ refinement_loops: 1, stop_reason: "judge_passed" });
    expect(passing.loops[0]?.judge_score).toBe(1);
  });

  it("--judge-schema with an invalid JSON Schema is rejected by the edge (exit 5, judge.schema)", async () => {
    const run = await cli(["generate", "demo-lm", "hello", ...SHORT, "--judge-schema", '{"type":"nope"}']);
    expect(run.code).toBe(5);
    expect(run.stderr).toMatch(/^ {2}judge\.schema: /m);
    const directory = await tempDir();
    await writeFile(join(directory, "answer.schema.json"), '{"type":"object","required":["a"]}');
    const fromFile = parseJson(
      await cli(["generate", "demo-lm", "hello", ...SHORT, "--judge-schema", "answer.schema.json", "--json"], {
        cwd: directory,
      }),
      GenerateResponseSchema,
    );
    expect(fromFile.loops[0]?.judge_feedback).not.toBeNull();
    // Streaming changes nothing about a request refused before generation starts.
    const streamed = await cli(["generate", "demo-lm", "hi", "--judge-schema", '{"type":"nope"}', "--stream"]);
    expect(streamed.code).toBe(5);
  });
});

describe("generate --stream", () => {
  it("prints the same text as the non-streamed run for the same seed, then the summary", async () => {
    const plain = await cli(["generate", "demo-lm", "hello", ...SHORT]);
    const streamed = await cli(["generate", "demo-lm", "hello", ...SHORT, "--stream"]);
    expect(streamed.code).toBe(0);
    expect(streamed.stdout).toBe(plain.stdout);
    expect(streamed.stderr).toContain(`demo-lm@1 on ${stack().workerId}`);
    expect(streamed.stderr).toMatch(SUMMARY);
  });

  it("separates refinement loops on stderr and prints every loop's text as it comes", async () => {
    const argv = ["generate", "demo-lm", "hello", ...SHORT, "--judge-regex", "^zzz$", "--max-loops", "3"];
    const json = parseJson(await cli([...argv, "--tier", "tier_3", "--json"]), GenerateResponseSchema);
    const streamed = await cli([...argv, "--tier", "tier_3", "--stream"]);
    expect(streamed.code).toBe(0);
    expect(streamed.stdout).toBe(json.loops.map((loop) => `${loop.text}\n`).join(""));
    expect(streamed.stderr).toContain("--- loop 2 ---\n");
    expect(streamed.stderr).toContain("--- loop 3 ---\n");
    expect(streamed.stderr).toMatch(/3 loops \(max_loops\)/);
  });

  it("--json prints one JSON line per event, the last one done", async () => {
    const run = await cli(["generate", "demo-lm", "hello", ...SHORT, "--stream", "--json"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("");
    const events = run.stdout
      .trimEnd()
      .split("\n")
      .map((line) => z.object({ event: z.string(), data: z.unknown() }).parse(JSON.parse(line)));
    const tokens = events.filter((e) => e.event === "token").map((e) => GenerationTokenSchema.parse(e.data));
    expect(tokens.length).toBeGreaterThan(0);
    expect(events.filter((e) => e.event === "loop").map((e) => RefinementLoopSchema.parse(e.data).loop)).toEqual([1]);
    const last = events.at(-1);
    expect(last?.event).toBe("done");
    const done = GenerateResponseSchema.parse(last?.data);
    expect(tokens.map((t) => t.text).join("")).toBe(done.text);
    expect(events.filter((e) => e.event === "done")).toHaveLength(1);
  });
});

/**
 * A stand-in edge for what the real stack cannot be made to do on demand: fail in the middle
 * of a stream. It also counts requests, to show that usage errors never send one.
 */
describe("generate against a stand-in edge", () => {
  let requests = 0;
  let answer: (response: ServerResponse) => void = (response) => response.end();
  let url = "";
  const server = createServer((_request: IncomingMessage, response: ServerResponse) => {
    requests += 1;
    answer(response);
  });
  const sse = (response: ServerResponse, events: string[]) => {
    response.writeHead(200, { "content-type": "text/event-stream", "x-modelgate-worker": "fake-worker" });
    response.end(events.join(""));
  };
  const run = (argv: string[], cwd?: string) =>
    modelgate(["--url", url, "--key", "mg_test", ...argv], cwd === undefined ? {} : { cwd });

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it.each([
    [["--judge-regex", "a", "--judge-model", "scorer"], "Give at most one judge."],
    [["--top-p", "2"], "option '--top-p <p>' argument '2' is invalid"],
    [["--judge-schema", "missing.schema.json"], "Cannot read --judge-schema file missing.schema.json (ENOENT)"],
    [["--judge-schema", "{not json"], "--judge-schema is not valid JSON"],
    [["--judge-regex", "(unclosed"], "--judge-regex does not compile"],
    [["--judge-flags", "i"], "--judge-flags applies to --judge-regex only"],
    [["--stop", ""], '--stop "" must be 1 to 64 characters long'],
    [["--tier", "tier_9"], "Allowed choices are tier_1, tier_2, tier_3"],
    [["--max-loops", "17"], "option '--max-loops <n>' argument '17' is invalid"],
  ])("%j is a usage error (exit 2) and sends nothing", async (flags, message) => {
    const before = requests;
    const result = await run(["generate", "demo-lm", "hello", ...flags], await tempDir());
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe("");
    expect(requests).toBe(before);
  });

  it("an error event is reported like an error status, with that status's exit code", async () => {
    const problem = { type: "about:blank", title: "Too many requests", status: 429, code: "rate_limited" };
    answer = (response) =>
      sse(response, [
        'event: token\ndata: {"loop":1,"text":"par"}\n\n',
        `event: error\ndata: ${JSON.stringify({ ...problem, detail: "Slow down." })}\n\n`,
      ]);
    const result = await run(["generate", "demo-lm", "hello", "--stream"]);
    expect(result.code).toBe(5);
    expect(result.stdout).toBe("par\n");
    expect(result.stderr).toContain("modelgate: Slow down. (429 rate_limited)");
    expect(result.stderr).toContain("hint: rate limited");
    const json = await run(["generate", "demo-lm", "hello", "--stream", "--json"]);
    expect(json.code).toBe(5);
    expect(JSON.parse(json.stdout.trimEnd().split("\n").at(-1) ?? "")).toMatchObject({ event: "error", data: problem });
    expect(ProblemDetailsSchema.parse(JSON.parse(json.stderr))).toMatchObject(problem);
  });

  it("a stream that ends without done or error fails with exit 6", async () => {
    answer = (response) =>
      sse(response, ['event: token\ndata: {"loop":1,"text":"half"}\n\n', 'event: token\ndata: {"loop":1,']);
    const result = await run(["generate", "demo-lm", "hello", "--stream"]);
    expect(result.code).toBe(6);
    expect(result.stdout).toBe("half\n");
    expect(result.stderr).toContain(
      "modelgate: The stream ended early: the edge closed it without a done or error event",
    );
  });
});

describe("readServerSentEvents", () => {
  const streamOf = (chunks: string[]) =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
        controller.close();
      },
    });
  const readAll = async (chunks: string[]) => {
    const events = [];
    for await (const event of readServerSentEvents(streamOf(chunks))) events.push(event);
    return events;
  };

  it("joins events split across chunks, CRLF and multi-byte characters, and skips comments", async () => {
    const euro = new TextEncoder().encode("€");
    const events = [];
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        const encode = (s: string) => new TextEncoder().encode(s);
        controller.enqueue(encode(": keep-alive\r\nevent: tok"));
        controller.enqueue(encode("en\r\ndata: a\r"));
        controller.enqueue(encode("\ndata:b"));
        controller.enqueue(euro.subarray(0, 1));
        controller.enqueue(euro.subarray(1));
        controller.enqueue(encode("\r\n\r\ndata: plain\n\n"));
        controller.close();
      },
    });
    for await (const event of readServerSentEvents(body)) events.push(event);
    expect(events).toEqual([
      { event: "token", data: "a\nb€" },
      { event: "message", data: "plain" },
    ]);
  });

  it("drops an event the stream cut off before its blank line", async () => {
    expect(await readAll(["event: done\ndata: {}\n\nevent: done\ndata: {"])).toEqual([{ event: "done", data: "{}" }]);
  });
});
