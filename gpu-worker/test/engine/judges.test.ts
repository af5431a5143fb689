import { err, type JudgeSpec, ModelgateError, ok, type Result } from "@modelgate/shared";
import { describe, expect, it } from "vitest";
import {
  createJudge,
  type Judge,
  type JudgeDeps,
  type JudgeVerdict,
  parseJsonAnswer,
  REGEX_INPUT_MAX_CHARS,
  VALIDATOR_CACHE_SIZE,
} from "../../src/engine/judges.js";

const context = { prompt: "Describe Ada as JSON." };

function judgeFor(spec: JudgeSpec, deps: JudgeDeps = {}): Judge {
  const created = createJudge(spec, deps);
  if (!created.ok) throw new Error(`expected a judge, got ${created.error.message}`);
  return created.value;
}

async function verdict(judge: Judge, answer: string): Promise<JudgeVerdict> {
  const scored = await judge.score(answer, context);
  if (!scored.ok) throw new Error(`expected a verdict, got ${scored.error.message}`);
  return scored.value;
}

function expectError<T>(result: Result<T>): ModelgateError {
  if (result.ok) throw new Error("expected an error");
  return result.error;
}

const personSchema = {
  type: "object",
  properties: { name: { type: "string" }, age: { type: "integer", minimum: 0 } },
  required: ["name", "age"],
  additionalProperties: false,
};

describe("json_schema judge", () => {
  const judge = judgeFor({ type: "json_schema", schema: personSchema });

  it("scores a valid answer 1 with no feedback", async () => {
    expect(await verdict(judge, '{"name": "Ada", "age": 36}')).toEqual({ score: 1, feedback: null });
  });

  it("finds the JSON inside prose or a Markdown fence", async () => {
    expect(await verdict(judge, 'Here you go: {"name": "Ada", "age": 36} Hope that helps!')).toEqual({
      score: 1,
      feedback: null,
    });
    expect((await verdict(judge, '```json\n{"name": "Ada", "age": 36}\n```')).score).toBe(1);
  });

  it("scores an answer that is not JSON 0 and says why", async () => {
    const result = await verdict(judge, "Ada is 36 years old.");
    expect(result.score).toBe(0);
    expect(result.feedback).toMatch(/^The answer must be JSON: .*not valid JSON/);
    expect((await verdict(judge, "   ")).feedback).toBe("The answer must be JSON: the answer is empty.");
  });

  it("gives partial credit that falls as errors grow, with the errors in the feedback", async () => {
    const oneError = await verdict(judge, '{"name": "Ada", "age": "36"}');
    const threeErrors = await verdict(judge, '{"name": 1, "age": -1, "nickname": "A"}');
    expect(oneError.score).toBeCloseTo(0.5, 10);
    expect(oneError.feedback).toBe("The answer's JSON does not match the schema: /age must be integer.");
    expect(threeErrors.score).toBeLessThan(oneError.score);
    expect(threeErrors.score).toBeGreaterThan(0);
    expect(threeErrors.feedback).toContain("(root) must NOT have additional properties ('nickname')");
    expect(threeErrors.feedback).toContain("/name must be string");
    expect(threeErrors.feedback).toContain("/age must be >= 0");
    // Any JSON beats no JSON; any invalid JSON stays below a pass.
    const wrongType = await verdict(judge, "[]");
    expect(wrongType.score).toBeGreaterThan(0);
    expect(wrongType.score).toBeLessThan(1);
  });

  it("quotes at most five errors and counts the rest", async () => {
    const strict = judgeFor({
      type: "json_schema",
      schema: { type: "array", items: { type: "string" } },
    });
    const result = await verdict(strict, "[1, 2, 3, 4, 5, 6, 7]");
    expect(result.feedback).toBe(
      "The answer's JSON does not match the schema: /0 must be string; /1 must be string; /2 must be string; " +
        "/3 must be string; /4 must be string; and 2 more.",
    );
  });

  it("understands draft 2020-12 keywords", async () => {
    const tuple = judgeFor({
      type: "json_schema",
      schema: {
        $schema: "https://json-schema.org/draft/2020-12/schema",
        type: "array",
        prefixItems: [{ type: "number" }, { type: "string" }],
        items: false,
      },
    });
    expect((await verdict(tuple, '[1, "a"]')).score).toBe(1);
    expect((await verdict(tuple, '[1, "a", true]')).score).toBeLessThan(1);
  });

  it("refuses an invalid schema at creation, naming judge.schema", () => {
    const error = expectError(createJudge({ type: "json_schema", schema: { type: "nope" } }, {}));
    expect(error.code).toBe("validation_failed");
    expect(error.status).toBe(400);
    expect(error.fieldErrors?.[0]?.field).toBe("judge.schema");
    expect(error.fieldErrors?.[0]?.message).toContain("type");

    const unresolvable = expectError(createJudge({ type: "json_schema", schema: { $ref: "https://example.com/x" } }));
    expect(unresolvable.fieldErrors?.map((problem) => problem.field)).toEqual(["judge.schema"]);
  });

  it("keeps callers' schemas apart even when they share an $id", async () => {
    const id = "https://example.com/shared";
    const first = judgeFor({ type: "json_schema", schema: { $id: id, type: "string" } });
    const second = judgeFor({ type: "json_schema", schema: { $id: id, type: "number" } });
    expect((await verdict(first, '"a"')).score).toBe(1);
    expect((await verdict(second, "1")).score).toBe(1);
    expect((await verdict(second, '"a"')).score).toBeLessThan(1);
  });

  it("still judges correctly after more distinct schemas than the validator cache holds", async () => {
    const judges = Array.from({ length: VALIDATOR_CACHE_SIZE + 6 }, (_, i) =>
      judgeFor({ type: "json_schema", schema: { const: i } }),
    );
    for (const [i, judge] of judges.entries()) {
      expect((await verdict(judge, String(i))).score).toBe(1);
      expect((await verdict(judge, String(i + 1))).score).toBeLessThan(1);
    }
    // Recreated after eviction, the first schema still compiles to the same rule.
    const again = judgeFor({ type: "json_schema", schema: { const: 0 } });
    expect((await verdict(again, "0")).score).toBe(1);
  });

  it("accepts the boolean schemas", async () => {
    expect((await verdict(judgeFor({ type: "json_schema", schema: true }), "null")).score).toBe(1);
    expect((await verdict(judgeFor({ type: "json_schema", schema: false }), "null")).score).toBeLessThan(1);
  });

  it("stops a schema pattern that backtracks catastrophically", async () => {
    const slow = judgeFor({ type: "json_schema", schema: { type: "string", pattern: "^(a+)+$" } });
    const error = expectError(await slow.score(`"${"a".repeat(40)}b"`, context));
    expect(error.fieldErrors?.[0]?.field).toBe("judge.schema");
  });
});

describe("parseJsonAnswer", () => {
  it("tries the opener that comes first, then the other", () => {
    expect(parseJsonAnswer("Result: [1, 2] and that is all")).toEqual(ok([1, 2]));
    expect(parseJsonAnswer('See [note] below: {"a": 1}')).toEqual(ok({ a: 1 }));
  });
});

describe("regex judge", () => {
  it("scores a match 1 and a miss 0 with the pattern in the feedback", async () => {
    const judge = judgeFor({ type: "regex", pattern: "^answer: \\d+$", flags: "im" });
    expect(await verdict(judge, "Thinking...\nANSWER: 42")).toEqual({ score: 1, feedback: null });
    expect(await verdict(judge, "answer: forty-two")).toEqual({
      score: 0,
      feedback: "The answer must match /^answer: \\d+$/im.",
    });
  });

  it("reads only the first REGEX_INPUT_MAX_CHARS characters", async () => {
    const judge = judgeFor({ type: "regex", pattern: "END" });
    expect((await verdict(judge, `${"x".repeat(REGEX_INPUT_MAX_CHARS - 3)}END`)).score).toBe(1);
    expect((await verdict(judge, `${"x".repeat(REGEX_INPUT_MAX_CHARS)}END`)).score).toBe(0);
  });

  it("returns an error instead of hanging on catastrophic backtracking", async () => {
    const judge = judgeFor({ type: "regex", pattern: "^(a+)+$" });
    const started = performance.now();
    const error = expectError(await judge.score(`${"a".repeat(40)}b`, context));
    expect(performance.now() - started).toBeLessThan(5000);
    expect(error.code).toBe("validation_failed");
    expect(error.fieldErrors?.[0]?.field).toBe("judge.pattern");
  });

  it("refuses a pattern that does not compile", () => {
    const error = expectError(createJudge({ type: "regex", pattern: "(" }));
    expect(error.fieldErrors?.[0]?.field).toBe("judge.pattern");
  });
});

describe("model judge", () => {
  it("passes the prompt and answer to the scorer and reports its score", async () => {
    const calls: [string, string][] = [];
    const judge = judgeFor(
      { type: "model", model: "demo-scorer@production" },
      {
        scoreWithModel: async (prompt, answer) => {
          calls.push([prompt, answer]);
          return ok(answer.startsWith("{") ? 1 : 0.4567);
        },
      },
    );
    expect(await verdict(judge, "{}")).toEqual({ score: 1, feedback: null });
    expect(await verdict(judge, "prose")).toEqual({ score: 0.4567, feedback: "The scorer rated the answer 0.456." });
    expect(calls).toEqual([
      [context.prompt, "{}"],
      [context.prompt, "prose"],
    ]);
  });

  it("never prints a failing score as 1", async () => {
    const judge = judgeFor({ type: "model", model: "s" }, { scoreWithModel: async () => ok(0.99995) });
    expect((await verdict(judge, "x")).feedback).toBe("The scorer rated the answer 0.999.");
  });

  it("refuses scores outside [0, 1] and NaN", async () => {
    for (const bad of [1.5, -0.1, Number.NaN]) {
      const judge = judgeFor({ type: "model", model: "s" }, { scoreWithModel: async () => ok(bad) });
      expect(expectError(await judge.score("x", context)).code).toBe("internal");
    }
  });

  it("passes the scorer's own error through", async () => {
    const failure = new ModelgateError("upstream_failed", "scorer crashed");
    const judge = judgeFor({ type: "model", model: "s" }, { scoreWithModel: async () => err(failure) });
    expect(expectError(await judge.score("x", context))).toBe(failure);
  });

  it("needs a scorer runner", () => {
    expect(expectError(createJudge({ type: "model", model: "s" }, {})).code).toBe("internal");
  });
});
