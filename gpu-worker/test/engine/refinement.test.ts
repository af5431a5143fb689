import { err, ModelgateError, ok, type RefinementLoop, type Result } from "@modelgate/shared";
import { describe, expect, it } from "vitest";
import { createJudge, type Judge } from "../../src/engine/judges.js";
import {
  buildRefinementPrompt,
  type LoopGeneration,
  type PromptForm,
  type RefinementInput,
  type RefinementOutcome,
  runRefinement,
} from "../../src/engine/refinement.js";

const textPrompt: PromptForm = { kind: "text", text: "Give Ada's record as JSON." };

function generation(text: string, haltProbability: number | null = null): LoopGeneration {
  return { text, tokens: text.length, promptTokens: 10, haltProbability, finishReason: "eos" };
}

/** A model that answers from a script, one entry per loop, recording every prompt it is given. */
function scriptedModel(answers: readonly (LoopGeneration | ModelgateError)[]) {
  const prompts: PromptForm[] = [];
  const loopNumbers: number[] = [];
  const generate = async (prompt: PromptForm, loop: number): Promise<Result<LoopGeneration>> => {
    prompts.push(prompt);
    loopNumbers.push(loop);
    const answer = answers[loop - 1];
    if (answer === undefined) throw new Error(`loop ${loop} was not scripted`);
    return answer instanceof ModelgateError ? err(answer) : ok(answer);
  };
  return { generate, prompts, loopNumbers };
}

/** Scores an answer by a table of exact texts (unknown texts score 0). */
function tableJudge(scores: Record<string, number>): Judge {
  return {
    async score(answer) {
      const score = scores[answer] ?? 0;
      return ok({ score, feedback: score < 1 ? `fix "${answer}"` : null });
    },
  };
}

const jsonJudge = (() => {
  const created = createJudge({
    type: "json_schema",
    schema: { type: "object", required: ["name", "age"], properties: { age: { type: "integer" } } },
  });
  if (!created.ok) throw created.error;
  return created.value;
})();

function base(overrides: Partial<RefinementInput> & Pick<RefinementInput, "generate">): RefinementInput {
  return {
    prompt: textPrompt,
    maxLoops: 5,
    judgeScoreThreshold: 0.8,
    haltProbabilityThreshold: 0.7,
    judge: undefined,
    ...overrides,
  };
}

async function run(input: RefinementInput): Promise<RefinementOutcome> {
  const result = await runRefinement(input);
  if (!result.ok) throw new Error(`expected an outcome, got ${result.error.message}`);
  return result.value;
}

describe("runRefinement", () => {
  it("without a judge runs one loop and stops with no_judge", async () => {
    const model = scriptedModel([generation("hello"), generation("never")]);
    const outcome = await run(base({ generate: model.generate }));
    expect(outcome.stopReason).toBe("no_judge");
    expect(outcome.loops).toEqual([
      {
        loop: 1,
        text: "hello",
        tokens: 5,
        prompt_tokens: 10,
        halt_probability: null,
        judge_score: null,
        judge_feedback: null,
        finish_reason: "eos",
      },
    ]);
    expect(outcome.final).toBe(outcome.loops[0]);
    expect(model.prompts).toEqual([textPrompt]);
  });

  it("refines a failing answer and stops with judge_passed when the judge passes", async () => {
    const model = scriptedModel([generation('{"name": "Ada"}'), generation('{"name": "Ada", "age": 36}')]);
    const seen: RefinementLoop[] = [];
    const outcome = await run(base({ generate: model.generate, judge: jsonJudge, onLoop: (loop) => seen.push(loop) }));
    expect(outcome.stopReason).toBe("judge_passed");
    expect(outcome.loops.map((loop) => [loop.loop, loop.judge_score])).toEqual([
      [1, 0.5],
      [2, 1],
    ]);
    expect(outcome.loops[0]?.judge_feedback).toBe(
      "The answer's JSON does not match the schema: (root) must have required property 'age'.",
    );
    expect(outcome.final.text).toBe('{"name": "Ada", "age": 36}');
    expect(seen).toEqual(outcome.loops);
    expect(model.loopNumbers).toEqual([1, 2]);
  });

  it("feeds the previous answer and the judge's feedback into the next prompt", async () => {
    const model = scriptedModel([generation('{"name": "Ada"}'), generation('{"name": "Ada", "age": 36}')]);
    await run(base({ generate: model.generate, judge: jsonJudge }));
    expect(model.prompts[1]).toEqual({
      kind: "text",
      text:
        "Give Ada's record as JSON.\n\nPrevious answer:\n" +
        '{"name": "Ada"}\n\n' +
        "Feedback: The answer's JSON does not match the schema: (root) must have required property 'age'.\n\n" +
        "Improved answer:\n",
    });
  });

  it("refines from the original prompt and only the latest answer", async () => {
    const model = scriptedModel([generation("first"), generation("second"), generation("third")]);
    await run(base({ generate: model.generate, judge: tableJudge({}), maxLoops: 3 }));
    const third = model.prompts[2];
    expect(third).toEqual(buildRefinementPrompt(textPrompt, "second", 'fix "second"'));
    expect(third?.kind === "text" && third.text.includes("first")).toBe(false);
  });

  it("stops a failing loop when the halt head says halt", async () => {
    const model = scriptedModel([generation("meh", 0.2), generation("still meh", 0.9), generation("never")]);
    const outcome = await run(base({ generate: model.generate, judge: tableJudge({ meh: 0.6, "still meh": 0.3 }) }));
    expect(outcome.stopReason).toBe("halted");
    expect(outcome.loops).toHaveLength(2);
    // The model chose to stop: its last answer stands even though loop 1 scored higher.
    expect(outcome.final.text).toBe("still meh");
    expect(outcome.final.halt_probability).toBe(0.9);
  });

  it("prefers judge_passed over halted when both hold", async () => {
    const model = scriptedModel([generation("good", 0.99)]);
    const outcome = await run(base({ generate: model.generate, judge: tableJudge({ good: 0.9 }) }));
    expect(outcome.stopReason).toBe("judge_passed");
  });

  it("on max_loops returns the best-scoring loop, the later one on a tie", async () => {
    const model = scriptedModel([generation("a"), generation("b"), generation("c"), generation("d")]);
    const outcome = await run(
      base({ generate: model.generate, judge: tableJudge({ a: 0.3, b: 0.6, c: 0.6, d: 0.1 }), maxLoops: 4 }),
    );
    expect(outcome.stopReason).toBe("max_loops");
    expect(outcome.loops.map((loop) => loop.text)).toEqual(["a", "b", "c", "d"]);
    expect(outcome.final.text).toBe("c");
    expect(outcome.final.loop).toBe(3);
  });

  it("never runs more loops than the budget", async () => {
    for (const maxLoops of [1, 2, 3, 7]) {
      const model = scriptedModel(Array.from({ length: 10 }, (_, i) => generation(`try ${i + 1}`)));
      const outcome = await run(base({ generate: model.generate, judge: tableJudge({}), maxLoops }));
      expect(outcome.stopReason).toBe("max_loops");
      expect(outcome.loops).toHaveLength(maxLoops);
      expect(model.loopNumbers).toEqual(Array.from({ length: maxLoops }, (_, i) => i + 1));
    }
  });

  it("with messages appends the previous answer as an assistant turn and the feedback as a user turn", async () => {
    const messages: PromptForm = {
      kind: "messages",
      messages: [
        { role: "system", content: "Answer in JSON." },
        { role: "user", content: "Who is Ada?" },
      ],
    };
    const model = scriptedModel([generation("Ada Lovelace"), generation('{"name": "Ada"}')]);
    const outcome = await run(
      base({ prompt: messages, generate: model.generate, judge: tableJudge({ '{"name": "Ada"}': 1 }) }),
    );
    expect(outcome.stopReason).toBe("judge_passed");
    expect(model.prompts[1]).toEqual({
      kind: "messages",
      messages: [
        { role: "system", content: "Answer in JSON." },
        { role: "user", content: "Who is Ada?" },
        { role: "assistant", content: "Ada Lovelace" },
        { role: "user", content: 'Feedback: fix "Ada Lovelace"\nPlease give an improved answer.' },
      ],
    });
  });

  it("gives the judge the prompt as text, messages one per line", async () => {
    const prompts: string[] = [];
    const judge: Judge = {
      async score(_answer, context) {
        prompts.push(context.prompt);
        return ok({ score: 1, feedback: null });
      },
    };
    const model = scriptedModel([generation("x")]);
    await run(
      base({
        prompt: { kind: "messages", messages: [{ role: "user", content: "Hi" }] },
        generate: model.generate,
        judge,
      }),
    );
    expect(prompts).toEqual(["user: Hi"]);
  });

  it("stops on a generation error and returns it", async () => {
    const failure = new ModelgateError("upstream_failed", "the model crashed");
    const model = scriptedModel([generation("bad"), failure, generation("never")]);
    const result = await runRefinement(base({ generate: model.generate, judge: tableJudge({}) }));
    expect(result).toEqual({ ok: false, error: failure });
    expect(model.loopNumbers).toEqual([1, 2]);
  });

  it("stops on a judge error and returns it", async () => {
    const failure = new ModelgateError("internal", "the scorer is down");
    const judge: Judge = { score: async () => err(failure) };
    const model = scriptedModel([generation("x"), generation("never")]);
    const result = await runRefinement(base({ generate: model.generate, judge }));
    expect(result).toEqual({ ok: false, error: failure });
    expect(model.loopNumbers).toEqual([1]);
  });

  it("refuses a budget below one loop", async () => {
    const model = scriptedModel([generation("x")]);
    const result = await runRefinement(base({ generate: model.generate, maxLoops: 0 }));
    expect(result.ok).toBe(false);
    expect(model.loopNumbers).toEqual([]);
  });
});
