/**
 * Halt efficiency: what the halt head saves in a refinement workload, against always running the
 * tier's maximum number of loops.
 *
 * (A) The worker's own refinement: a json_schema judge, the halt head on. It stops on a pass or
 *     when the halt head says the model is done.
 * (B) Always the maximum loops, no early stop. The public API cannot ask for that, so B runs the
 *     engine's own `runRefinement` here with the real judge wrapped so the loop never sees a pass
 *     (the real score is recorded) and a halt threshold above 1; each loop is one single-loop
 *     worker call on the prompt the refinement template builds, seeded `seed + loop - 1` as the
 *     worker seeds loop k. A's loops are therefore a prefix of B's, which the bench checks.
 */
import { createJudge, type Judge } from "@modelgate/gpu-worker/engine/judges";
import { type LoopGeneration, type PromptForm, runRefinement } from "@modelgate/gpu-worker/engine/refinement";
import { type GenerateRequest, type JudgeSpec, ok, type RefinementLoop, type Result } from "@modelgate/shared";
import { type BenchRow, fmt, mark } from "./bench-stats.js";
import type { WorkerClient } from "./worker-client.js";

export const STATUS_JUDGE: Extract<JudgeSpec, { type: "json_schema" }> = {
  type: "json_schema",
  schema: { type: "object", required: ["status"], properties: { status: { type: "string" } } },
};

/**
 * Requests for the worker's health as JSON, as a client would ask them: three chat turns (the
 * model's template applies) and one raw prompt. ref-decoder answers some with a well-formed
 * `{"status": …}` object and some with prose.
 */
export const HALT_BENCH_PROMPTS: PromptForm[] = [
  { kind: "messages", messages: [{ role: "user", content: "Show me the health as JSON." }] },
  { kind: "messages", messages: [{ role: "user", content: "Report the worker health as JSON." }] },
  { kind: "text", text: "The worker answers a health check with a small JSON object." },
  { kind: "messages", messages: [{ role: "user", content: "What does the worker return?" }] },
];

export const HALT_BENCH = {
  requests: 160,
  maxLoops: 3,
  maxNewTokens: 48,
  temperature: 0.9,
  judgeScoreThreshold: 0.8,
  haltProbabilityThreshold: 0.7,
  firstSeed: 7000,
} as const;

export function requestFor(prompt: PromptForm, seed: number, haltHead = true): GenerateRequest {
  return {
    model: "ref-decoder",
    ...(prompt.kind === "text" ? { prompt: prompt.text } : { messages: prompt.messages }),
    max_new_tokens: HALT_BENCH.maxNewTokens,
    temperature: HALT_BENCH.temperature,
    seed,
    runtime_config: {
      caws_tier: "tier_3",
      max_refinement_loops: HALT_BENCH.maxLoops,
      halt_head_enabled: haltHead,
      halt_probability_threshold: HALT_BENCH.haltProbabilityThreshold,
      judge_score_threshold: HALT_BENCH.judgeScoreThreshold,
    },
  };
}

/** The engine's max_loops answer (refinement.ts `bestLoop`): the best real score, the later loop on a tie. */
function bestByRealScore(loops: readonly { loop: RefinementLoop; realScore: number }[]) {
  return loops.reduce((best, candidate) => (candidate.realScore >= best.realScore ? candidate : best));
}

interface AlwaysMaxOutcome {
  loops: { loop: RefinementLoop; realScore: number }[];
}

/** (B): every loop runs; the judge's real score is recorded but the loop is told it failed. */
async function runAlwaysMaxLoops(worker: WorkerClient, prompt: PromptForm, seed: number): Promise<AlwaysMaxOutcome> {
  const created = createJudge(STATUS_JUDGE);
  if (!created.ok) throw created.error;
  const realJudge = created.value;
  const realScores: number[] = [];
  const neverPassing: Judge = {
    async score(answer, context) {
      const verdict = await realJudge.score(answer, context);
      if (!verdict.ok) return verdict;
      realScores.push(verdict.value.score);
      // The real feedback goes on, so each loop's prompt is the one A's worker builds.
      return ok({ score: 0, feedback: verdict.value.feedback });
    },
  };
  const base = requestFor(prompt, seed);
  const outcome = await runRefinement({
    prompt,
    maxLoops: HALT_BENCH.maxLoops,
    judgeScoreThreshold: HALT_BENCH.judgeScoreThreshold,
    haltProbabilityThreshold: 1.1, // never halts
    judge: neverPassing,
    async generate(loopPrompt, loop): Promise<Result<LoopGeneration>> {
      const { prompt: _text, messages: _messages, ...settings } = base;
      const answer = await worker.generate({
        ...settings,
        ...(loopPrompt.kind === "text" ? { prompt: loopPrompt.text } : { messages: loopPrompt.messages }),
        seed: (seed + loop - 1) >>> 0,
      });
      if (answer.finish_reason === "halt") throw new Error("a single-loop generation cannot finish by halting");
      return ok({
        text: answer.text,
        tokens: answer.tokens_generated,
        promptTokens: answer.prompt_tokens,
        haltProbability: answer.halt_probability,
        finishReason: answer.finish_reason,
      });
    },
  });
  if (!outcome.ok) throw outcome.error;
  return { loops: outcome.value.loops.map((loop, i) => ({ loop, realScore: realScores[i] ?? 0 })) };
}

export async function benchHaltEfficiency(worker: WorkerClient): Promise<{ rows: BenchRow[]; notes: string[] }> {
  const notes: string[] = [];
  const totals = { tokensA: 0, tokensB: 0, tokensJ: 0, cesA: 0, cesB: 0, passA: 0, passB: 0, passJ: 0, loopsA: 0 };
  const stopReasons = new Map<string, number>();
  /** Per loop number: loops A ran, how many the halt head stopped, and how many hit max_new_tokens. */
  const perLoop = Array.from({ length: HALT_BENCH.maxLoops }, () => ({ ran: 0, haltSaid: 0, cutByLength: 0 }));
  let prefixMismatches = 0;
  for (let i = 0; i < HALT_BENCH.requests; i++) {
    const prompt = HALT_BENCH_PROMPTS[i % HALT_BENCH_PROMPTS.length] ?? {
      kind: "text",
      text: "A finished job returns",
    };
    const seed = HALT_BENCH.firstSeed + i;
    const a = await worker.generate({ ...requestFor(prompt, seed), judge: STATUS_JUDGE });
    const b = await runAlwaysMaxLoops(worker, prompt, seed);
    // (J) the same refinement with the halt head switched off: stops only when the judge passes.
    const judgeOnly = await worker.generate({ ...requestFor(prompt, seed, false), judge: STATUS_JUDGE });
    totals.tokensJ += judgeOnly.loops.reduce((sum, loop) => sum + loop.tokens, 0);
    if (
      (judgeOnly.loops.find((loop) => loop.text === judgeOnly.text)?.judge_score ?? 0) >= HALT_BENCH.judgeScoreThreshold
    ) {
      totals.passJ++;
    }

    totals.tokensA += a.loops.reduce((sum, loop) => sum + loop.tokens, 0);
    totals.cesA += a.ces_tokens_total;
    totals.loopsA += a.refinement_loops;
    // The returned answer is one of the loops (the last, or the best one after max_loops); loops
    // with the same text have the same score.
    const finalScoreA = a.loops.find((loop) => loop.text === a.text)?.judge_score ?? 0;
    if (finalScoreA >= HALT_BENCH.judgeScoreThreshold) totals.passA++;
    stopReasons.set(a.stop_reason, (stopReasons.get(a.stop_reason) ?? 0) + 1);
    for (const loop of a.loops) {
      const counts = perLoop[loop.loop - 1];
      if (!counts) continue;
      counts.ran++;
      if ((loop.halt_probability ?? 0) >= HALT_BENCH.haltProbabilityThreshold) counts.haltSaid++;
      if (loop.finish_reason === "length") counts.cutByLength++;
    }

    totals.tokensB += b.loops.reduce((sum, { loop }) => sum + loop.tokens, 0);
    totals.cesB += b.loops.reduce((sum, { loop }) => sum + loop.prompt_tokens + loop.tokens, 0);
    if (bestByRealScore(b.loops).realScore >= HALT_BENCH.judgeScoreThreshold) totals.passB++;

    const prefixHolds = a.loops.every((loop, k) => {
      const twin = b.loops[k];
      return twin !== undefined && twin.loop.text === loop.text && twin.realScore === loop.judge_score;
    });
    if (!prefixHolds) prefixMismatches++;
  }
  const n = HALT_BENCH.requests;
  if (prefixMismatches > 0) {
    notes.push(`WARNING: on ${prefixMismatches} of ${n} requests A's loops were not a prefix of B's loops`);
  }
  notes.push(
    `halt efficiency, A per loop: ${perLoop
      .map(
        (c, k) =>
          `loop ${k + 1}: ${c.ran} ran, halt head ≥ threshold on ${c.haltSaid}, cut at max_new_tokens ${c.cutByLength}`,
      )
      .join("; ")}`,
  );
  const ratio = totals.tokensA / totals.tokensB;
  const reasons = [...stopReasons.entries()].map(([reason, count]) => `${reason} ${count}`).join(", ");
  const setting =
    `${n} requests (4 prompts asking for the worker's health as JSON, run one at a time), temperature ${HALT_BENCH.temperature}, ` +
    `max_new_tokens ${HALT_BENCH.maxNewTokens}, tier_3 × ${HALT_BENCH.maxLoops} loops, json_schema judge`;
  return {
    notes,
    rows: [
      [
        `halt efficiency, tokens generated: (A) halt head, threshold ${HALT_BENCH.haltProbabilityThreshold} vs (B) always ${HALT_BENCH.maxLoops} loops; ${setting}`,
        `A ${totals.tokensA} vs B ${totals.tokensB} tokens: **${fmt(ratio, 2)}×** (A ${fmt(totals.loopsA / n, 2)} loops/request; stops: ${reasons}; ces_tokens_total A ${totals.cesA} vs B ${totals.cesB}: ${fmt(totals.cesA / totals.cesB, 2)}×)`,
        `target ≤ 0.6× ${mark(ratio <= 0.6)}`,
      ],
      [
        "halt efficiency, for comparison: (J) the same refinement with the halt head off (stops only when the judge passes)",
        `J ${totals.tokensJ} tokens (${fmt(totals.tokensJ / totals.tokensB, 2)}× B), pass ${totals.passJ}/${n} (${fmt((100 * totals.passJ) / n, 0)} %)`,
        "—",
      ],
      [
        `halt efficiency, pass rate (answer's judge_score ≥ ${HALT_BENCH.judgeScoreThreshold}); A's loops are a prefix of B's on ${n - prefixMismatches}/${n}`,
        `A ${totals.passA}/${n} (${fmt((100 * totals.passA) / n, 0)} %)`,
        `B ${totals.passB}/${n} (${fmt((100 * totals.passB) / n, 0)} %); target A ≥ B ${mark(totals.passA >= totals.passB)}`,
      ],
    ],
  };
}
