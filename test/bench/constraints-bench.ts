/**
 * Constrained decoding (issue 14), side by side in one run:
 *
 * 1. the engine's 160 JSON requests (halt-efficiency-bench.ts: same prompts, seeds, temperature,
 *    token budget and schema): decoded under the schema (one loop) vs today's judge + refinement
 *    (halt head on, and off) — pass rate (Ajv on the returned text) and tokens;
 * 2. per-step cost of the mask on ref-decoder through the worker: tokens/s at batch 1 and 16,
 *    exactly 128 tokens each, constrained (JSON Lines, so the state moves every few tokens and
 *    the output never has to end) vs not, alternated;
 * 3. how the mask's cost grows with the vocabulary: in this process, reference vocabularies of
 *    512 to 131k byte-level tokens (≥ 32k: built from the corpus's substrings, JSON punctuation
 *    and split UTF-8 characters), trie build, first-visit mask builds, per-step masking vs the
 *    sampler's own per-step cost;
 * 4. compile time of tool-call grammars (four tool schemas), cold and cached.
 */
import { compileConstraint } from "@modelgate/gpu-worker/engine/constraints/compile-constraint";
import { ConstraintCursor, TokenConstraint } from "@modelgate/gpu-worker/engine/constraints/token-masks";
import { VocabularyTrie } from "@modelgate/gpu-worker/engine/constraints/token-vocabulary";
import { createJudge } from "@modelgate/gpu-worker/engine/judges";
import { createSeededRandom, sampleToken } from "@modelgate/gpu-worker/inference/sampling";
import { REFERENCE_DECODER_CORPUS } from "@modelgate/gpu-worker/reference-models/reference-decoder-weights";
import type { ConstraintSpec, GenerateRequest } from "@modelgate/shared";
import Ajv2020 from "ajv/dist/2020.js";
import { type BenchRow, fmt, mark, median, timeIt } from "./bench-stats.js";
import { HALT_BENCH, HALT_BENCH_PROMPTS, requestFor, STATUS_JUDGE } from "./halt-efficiency-bench.js";
import { createWorkerClient, type StackAddresses, type WorkerClient } from "./worker-client.js";

export interface ConstraintsBenchResult {
  rows: BenchRow[];
  notes: string[];
}

export async function benchConstraints(stack: StackAddresses): Promise<ConstraintsBenchResult> {
  const worker = await createWorkerClient(stack, "ref-decoder");
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  rows.push(...(await benchJsonRequests(worker)));
  rows.push(...(await benchMaskCost(worker)));
  const vocabulary = benchVocabularySizes();
  rows.push(...vocabulary.rows);
  notes.push(...vocabulary.notes);
  rows.push(...benchToolCompile());
  return { rows, notes };
}

// ---- 1. the 160 JSON requests ------------------------------------------------------------------

async function benchJsonRequests(worker: WorkerClient): Promise<BenchRow[]> {
  const validate = new Ajv2020({ strict: false }).compile(STATUS_JUDGE.schema);
  const valid = (text: string) => {
    try {
      return validate(JSON.parse(text)) === true;
    } catch {
      return false;
    }
  };
  const judge = createJudge(STATUS_JUDGE);
  if (!judge.ok) throw judge.error;
  const modes = {
    constrained: { pass: 0, judged: 0, tokens: 0, ces: 0, ms: 0 },
    refineHalt: { pass: 0, judged: 0, tokens: 0, ces: 0, ms: 0 },
    refineJudge: { pass: 0, judged: 0, tokens: 0, ces: 0, ms: 0 },
  };
  const record = async (
    mode: keyof typeof modes,
    answer: Awaited<ReturnType<WorkerClient["generate"]>>,
    ms: number,
  ) => {
    const totals = modes[mode];
    if (valid(answer.text)) totals.pass++;
    // The judge's own reading, as the halt-efficiency bench counts a pass: it also accepts JSON
    // found inside prose (from the first { to the last }).
    const verdict = await judge.value.score(answer.text, { prompt: "" });
    if (verdict.ok && verdict.value.score >= HALT_BENCH.judgeScoreThreshold) totals.judged++;
    totals.tokens += answer.loops.reduce((sum, loop) => sum + loop.tokens, 0);
    totals.ces += answer.ces_tokens_total;
    totals.ms += ms;
  };
  let finishedByLength = 0;
  for (let i = 0; i < HALT_BENCH.requests; i++) {
    const prompt = HALT_BENCH_PROMPTS[i % HALT_BENCH_PROMPTS.length] ?? { kind: "text", text: "Health:" };
    const seed = HALT_BENCH.firstSeed + i;
    const constrainedRequest: GenerateRequest = {
      ...requestFor(prompt, seed),
      constraint: { type: "json_schema", schema: STATUS_JUDGE.schema },
    };
    const [cMs, constrained] = await timeIt(() => worker.generate(constrainedRequest));
    if (constrained.finish_reason === "length") finishedByLength++;
    await record("constrained", constrained, cMs);
    const [aMs, refinedHalt] = await timeIt(() =>
      worker.generate({ ...requestFor(prompt, seed), judge: STATUS_JUDGE }),
    );
    await record("refineHalt", refinedHalt, aMs);
    const [jMs, refinedJudge] = await timeIt(() =>
      worker.generate({ ...requestFor(prompt, seed, false), judge: STATUS_JUDGE }),
    );
    await record("refineJudge", refinedJudge, jMs);
  }
  const n = HALT_BENCH.requests;
  const describe = (mode: keyof typeof modes) => {
    const t = modes[mode];
    return `valid JSON ${t.pass}/${n} (${fmt((100 * t.pass) / n, 0)} %), judge passes ${t.judged}/${n} (${fmt((100 * t.judged) / n, 0)} %), ${t.tokens} tokens generated, ces_tokens_total ${t.ces}, ${fmt(t.ms / 1000, 1)} s`;
  };
  const c = modes.constrained;
  const ratio = c.tokens / modes.refineJudge.tokens;
  return [
    [
      `the engine's ${n} JSON requests (halt-efficiency prompts, seeds ${HALT_BENCH.firstSeed}…, temperature ${HALT_BENCH.temperature}, max_new_tokens ${HALT_BENCH.maxNewTokens}, schema {status: string} required), valid JSON = the returned text parses and validates with Ajv; judge passes = the json_schema judge's score ≥ 0.8: (C) constraint json_schema, one loop`,
      `C ${describe("constrained")} (${finishedByLength} ended at max_new_tokens, still complete)`,
      `target 100 % valid ${mark(c.pass === n)}`,
    ],
    [
      "same requests, today's judge + refinement (tier_3 × 3 loops): (A) halt head on (threshold 0.7), (J) halt head off",
      `A ${describe("refineHalt")}; J ${describe("refineJudge")}`,
      `C vs J tokens **${fmt(ratio, 2)}×**, vs A ${fmt(c.tokens / modes.refineHalt.tokens, 2)}×; target fewer tokens ${mark(c.tokens < modes.refineHalt.tokens && c.tokens < modes.refineJudge.tokens)}`,
    ],
  ];
}

// ---- 2. per-step cost through the worker ---------------------------------------------------------

const MASK_TOKENS = 128;
/** JSON Lines: the state moves every few tokens, and another line may always follow. */
const JSON_LINES: ConstraintSpec = {
  type: "regex",
  pattern: '(?:\\{"status": "[a-z ]{0,24}", "workers": \\d{1,3}\\}\\n)*',
};

async function benchMaskCost(worker: WorkerClient): Promise<BenchRow[]> {
  const request = (seed: number, constrained: boolean): GenerateRequest => ({
    model: "ref-decoder",
    prompt: 'Health as JSON lines: {"status": "ok", "workers": 2}\n',
    // Room past the minimum: near its end the budget stops a constrained output from starting a
    // line it could not finish, which may end it after the minimum but before the maximum.
    max_new_tokens: MASK_TOKENS + 64,
    min_new_tokens: MASK_TOKENS,
    temperature: 0.8,
    seed,
    ...(constrained ? { constraint: JSON_LINES } : {}),
  });
  await worker.generate(request(1, true));
  await worker.generate(request(1, false));
  const single = { on: [] as number[], off: [] as number[] };
  for (let run = 0; run < 15; run++) {
    for (const constrained of run % 2 === 0 ? [true, false] : [false, true]) {
      const answer = await worker.generate(request(200 + run, constrained));
      if (answer.tokens_generated < MASK_TOKENS) {
        throw new Error(`a run ended early: ${answer.finish_reason} ${JSON.stringify(answer.text)}`);
      }
      (constrained ? single.on : single.off).push(answer.tokens_per_second);
    }
  }
  const batch = { on: [] as number[], off: [] as number[] };
  for (let round = 0; round < 5; round++) {
    for (const constrained of round % 2 === 0 ? [true, false] : [false, true]) {
      const [ms, answers] = await timeIt(() =>
        Promise.all(Array.from({ length: 16 }, (_, i) => worker.generate(request(300 + round * 16 + i, constrained)))),
      );
      batch[constrained ? "on" : "off"].push((answers.reduce((sum, a) => sum + a.tokens_generated, 0) / ms) * 1000);
    }
  }
  const cost = (on: number[], off: number[]) => 1 - median(on) / median(off);
  const singleCost = cost(single.on, single.off);
  const batchCost = cost(batch.on, batch.off);
  return [
    [
      `mask cost on ref-decoder (vocab 512), batch 1: ${MASK_TOKENS}–${MASK_TOKENS + 64} tokens (min_new_tokens), temperature 0.8, constrained to JSON Lines vs unconstrained, alternated, median of 15 (tokens/s inside the worker thread)`,
      `constrained ${fmt(median(single.on), 0)} vs ${fmt(median(single.off), 0)} tok/s: cost **${fmt(100 * singleCost, 1)} %** (negative: faster, i.e. noise)`,
      `target ≤ 10 % ${mark(singleCost <= 0.1)}`,
    ],
    [
      "same, batch 16 (16 concurrent requests signed straight to the worker, aggregate tokens/s, median of 5 rounds)",
      `constrained ${fmt(median(batch.on), 0)} vs ${fmt(median(batch.off), 0)} tok/s: cost **${fmt(100 * batchCost, 1)} %**`,
      `target ≤ 10 % ${mark(batchCost <= 0.1)}`,
    ],
  ];
}

// ---- 3. vocabulary size --------------------------------------------------------------------------

/**
 * A byte-level vocabulary of `size` tokens: the 256 bytes, then the corpus's most frequent
 * substrings (2–12 bytes, words with their leading space among them), JSON punctuation runs, whole
 * and split multi-byte characters, and seeded random lowercase pieces when those run out.
 */
export function referenceVocabulary(size: number): Uint8Array[] {
  const encoder = new TextEncoder();
  const tokens: Uint8Array[] = Array.from({ length: 256 }, (_, byte) => Uint8Array.of(byte));
  const seen = new Set<string>();
  const add = (bytes: Uint8Array) => {
    const key = bytes.join(",");
    if (tokens.length >= size || seen.has(key) || bytes.length < 2) return;
    seen.add(key);
    tokens.push(bytes);
  };
  for (const piece of ['":', '",', '"}', '{"', '":"', '", "', "},", "],", "[{", '"]', "null", "true", "false"])
    add(encoder.encode(piece));
  for (const char of "éüñßøåçλπЖ日本語中文한국") {
    const bytes = encoder.encode(char);
    add(bytes);
    add(bytes.slice(0, -1));
    add(bytes.slice(1));
    add(encoder.encode(` ${char}`));
  }
  const text = REFERENCE_DECODER_CORPUS.join(" ");
  const counts = new Map<string, number>();
  for (let length = 2; length <= 12; length++) {
    for (let at = 0; at + length <= text.length; at++) {
      const piece = text.slice(at, at + length);
      counts.set(piece, (counts.get(piece) ?? 0) + 1);
    }
  }
  for (const [piece] of [...counts.entries()].sort((a, b) => b[1] - a[1])) add(encoder.encode(piece));
  const random = createSeededRandom(32_000);
  while (tokens.length < size) {
    const length = 2 + Math.floor(random() * 8);
    const piece =
      (random() < 0.4 ? " " : "") +
      Array.from({ length }, () => String.fromCharCode(97 + Math.floor(random() * 26))).join("");
    add(encoder.encode(piece));
  }
  return tokens;
}

function benchVocabularySizes(): { rows: BenchRow[]; notes: string[] } {
  const rows: BenchRow[] = [];
  const cells: string[] = [];
  const spec: ConstraintSpec = { type: "json_schema", schema: STATUS_JUDGE.schema };
  const compiled = compileConstraint(spec);
  if (!compiled.ok) throw new Error("the status schema does not compile");
  for (const size of [512, 8192, 32_768, 131_072]) {
    const tokens = referenceVocabulary(size);
    const eos = tokens.length;
    const [trieMs, trie] = timeSync(
      () => new VocabularyTrie({ size: eos + 1, tokenBytes: [...tokens, undefined], eosTokenIds: [eos] }),
    );
    // A fresh automaton per size, so the first-visit figures are not the previous size's cache.
    const fresh = compileConstraint({
      type: "json_schema",
      schema: { ...(STATUS_JUDGE.schema as Record<string, unknown>), title: `v${size}` },
    });
    if (!fresh.ok) throw new Error("the status schema does not compile");
    const constraint = new TokenConstraint(fresh.value.dfa, trie);
    const random = createSeededRandom(size);
    const logits = new Float32Array(eos + 1);
    const steps = 400;
    let maskMs = 0;
    let sampleMs = 0;
    let cursor = new ConstraintCursor(constraint);
    let outputs = 0;
    let remaining = 64;
    for (let step = 0; step < steps; step++) {
      for (let i = 0; i < logits.length; i++) logits[i] = random() * 8;
      const copy = logits.slice();
      const maskStart = performance.now();
      cursor.apply(logits, { remaining, eosAllowed: true });
      maskMs += performance.now() - maskStart;
      const sampleStart = performance.now();
      sampleToken(copy, 0.8, random);
      sampleMs += performance.now() - sampleStart;
      const token = sampleToken(logits, 0.8, random);
      remaining--;
      if (token === eos || cursor.finished || remaining === 0) {
        cursor = new ConstraintCursor(constraint);
        outputs++;
        remaining = 64;
      } else {
        cursor.advance(token);
        if (cursor.finished) {
          cursor = new ConstraintCursor(constraint);
          outputs++;
          remaining = 64;
        }
      }
    }
    const perStep = ((maskMs - constraint.maskBuildMs) / steps) * 1000;
    const perBuild = (constraint.maskBuildMs / Math.max(1, constraint.cachedMasks)) * 1000;
    cells.push(
      `${size}: trie ${trie.nodeCount} nodes in ${fmt(trieMs, 0)} ms; ${constraint.cachedMasks} masks built, ${fmt(perBuild, 0)} µs each; masking ${fmt(perStep, 1)} µs/step vs sampling ${fmt((sampleMs / steps) * 1000, 1)} µs/step; ${outputs} outputs`,
    );
    rows.push([
      `mask cost vs vocabulary size, in this process: reference byte-level vocabulary of ${size} tokens, status schema, 400 sampled steps over random logits`,
      `masking (cached mask) **${fmt(perStep, 1)} µs/step**; first visit of a state ${fmt(perBuild, 0)} µs (${constraint.cachedMasks} states); trie of ${trie.nodeCount} nodes built in ${fmt(trieMs, 0)} ms`,
      `the sampler alone (softmax over the vocabulary) ${fmt((sampleMs / steps) * 1000, 1)} µs/step`,
    ]);
  }
  return { rows, notes: [`constraint masks by vocabulary size — ${cells.join("; ")}`] };
}

function timeSync<T>(fn: () => T): [number, T] {
  const started = performance.now();
  const value = fn();
  return [performance.now() - started, value];
}

// ---- 4. tool grammars --------------------------------------------------------------------------

const TOOLS = [
  {
    name: "get_weather",
    description: "Weather in a city",
    parameters: {
      type: "object",
      properties: { city: { type: "string", maxLength: 40 }, unit: { enum: ["c", "f"] } },
      required: ["city"],
      additionalProperties: false,
    },
  },
  {
    name: "restart_worker",
    parameters: {
      type: "object",
      properties: { worker: { type: "string", pattern: "^gpu-box-\\d{1,2}$" }, drain: { type: "boolean" } },
      required: ["worker"],
    },
  },
  {
    name: "search_models",
    parameters: {
      type: "object",
      properties: {
        query: { type: "string" },
        stage: { anyOf: [{ enum: ["Staging", "Production"] }, { type: "null" }] },
        tags: { type: "array", items: { type: "string", maxLength: 16 }, maxItems: 5 },
        limit: { type: "integer", minimum: 1, maximum: 100 },
      },
      required: ["query"],
    },
  },
  {
    name: "open_ticket",
    parameters: {
      type: "object",
      properties: {
        title: { type: "string", minLength: 4, maxLength: 80 },
        due: { type: "string", format: "date" },
        owner: { type: "string", format: "email" },
        severity: { type: "integer", minimum: 1, maximum: 4 },
      },
      required: ["title", "severity"],
    },
  },
];

function benchToolCompile(): BenchRow[] {
  const spec = (parallel: boolean, salt: string): ConstraintSpec => ({
    type: "tool_calls",
    tools: TOOLS.map((tool) => ({ ...tool, description: `${tool.description ?? tool.name} ${salt}` })),
    tool_choice: "auto",
    parallel,
  });
  const cold: number[] = [];
  const cached: number[] = [];
  let states = 0;
  for (let run = 0; run < 7; run++) {
    const fresh = spec(true, `run ${run}`);
    const [coldMs, compiled] = timeSync(() => compileConstraint(fresh));
    if (!compiled.ok) throw new Error(JSON.stringify(compiled.problems));
    states = compiled.value.nfaStates;
    const [cachedMs] = timeSync(() => compileConstraint(fresh));
    if (run > 0) {
      cold.push(coldMs);
      cached.push(cachedMs * 1000);
    }
  }
  const tokens = referenceVocabulary(32_768);
  const trie = new VocabularyTrie({
    size: tokens.length + 1,
    tokenBytes: [...tokens, undefined],
    eosTokenIds: [tokens.length],
  });
  const compiled = compileConstraint(spec(true, "mask"));
  if (!compiled.ok) throw new Error("tools do not compile");
  const constraint = new TokenConstraint(compiled.value.dfa, trie);
  const [firstMaskMs] = timeSync(() => constraint.maskFor(compiled.value.dfa.start));
  return [
    [
      `grammar compile, tool calls: the union of ${TOOLS.length} tool schemas (enums, a pattern, formats, bounded integers, arrays, anyOf), auto + parallel, median of 6 after a warm-up`,
      `cold **${fmt(median(cold), 1)} ms** (${states} NFA states); cached ${fmt(median(cached), 1)} µs (per spec, in the HTTP process and each inference thread)`,
      `first mask at the start state over the 32k vocabulary: ${fmt(firstMaskMs, 1)} ms (then cached per state)`,
    ],
  ];
}
