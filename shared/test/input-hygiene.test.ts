import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ModelgateError } from "../src/errors.js";
import { controlCharacterProblem, freeText, replaceControlCharacters } from "../src/free-text.js";
import { findDuplicateJsonKey } from "../src/json-duplicate-keys.js";
import { decodeJsonText, parseJsonBody, parseJsonBytes } from "../src/request-body.js";

const encode = (text: string) => new TextEncoder().encode(text);

function refusal(run: () => unknown): ModelgateError {
  try {
    run();
  } catch (error) {
    if (error instanceof ModelgateError) return error;
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("freeText", () => {
  const name = freeText({ max: 20, min: 1, trim: true });
  const notes = freeText({ max: 100, multiline: true });

  it("accepts any script, emoji and, in multi-line text, tabs and line breaks", () => {
    expect(name.parse("  Ünïcödé 日本語 🚀 ")).toBe("Ünïcödé 日本語 🚀");
    expect(notes.parse("line one\r\n\tline two\u2028three")).toBe("line one\r\n\tline two\u2028three");
  });

  it("refuses C0 and C1 controls, DEL and unpaired surrogates, naming the character and where it is", () => {
    for (const [text, shown] of [
      ["a\u0000", "U+0000"],
      ["a\u001b[31m", "U+001B"],
      ["a\u007f", "U+007F"],
      ["a\u0085", "U+0085"],
      ["a\ud83d", "U+D83D"],
    ] as const) {
      const parsed = notes.safeParse(text);
      expect(parsed.success, text).toBe(false);
      expect(parsed.error?.issues[0]?.message).toContain(`(${shown}) at character 2`);
    }
    expect(notes.safeParse("a\ud83d\ude80").success).toBe(true);
  });

  it("refuses tabs, line breaks and Unicode line separators in one-line text", () => {
    for (const text of ["a\tb", "a\nb", "a\rb", "a\u2028b", "a\u2029b"])
      expect(name.safeParse(text).success).toBe(false);
  });

  it("keeps the length limits, counted after trimming", () => {
    expect(name.safeParse("   ").success).toBe(false);
    expect(name.safeParse("x".repeat(21)).error?.issues[0]?.message).toBe("must be at most 20 characters");
  });

  it("replaces what it refuses when reading old documents", () => {
    expect(replaceControlCharacters("a\u0000b\nc", true, "\uFFFD")).toBe("a\uFFFDb\nc");
    expect(replaceControlCharacters("a\u0000b\nc", false, " ")).toBe("a b c");
    expect(controlCharacterProblem("fine\ttext", true)).toBeUndefined();
  });
});

describe("findDuplicateJsonKey", () => {
  it("names a repeated key by its dotted path, at any depth and inside arrays", () => {
    expect(findDuplicateJsonKey('{"a":1,"a":2}')).toBe("a");
    expect(findDuplicateJsonKey('{"m":{"x":1,"y":{"z":[1]},"x":3}}')).toBe("m.x");
    expect(findDuplicateJsonKey('{"list":[{"k":1},{"k":1,"k":2}]}')).toBe("list.1.k");
    expect(findDuplicateJsonKey('[[0],[{"a":0,"b":{"c":1,"c":2}}]]')).toBe("1.0.b.c");
  });

  it("compares keys after unescaping, and is not fooled by braces, commas and quotes inside strings", () => {
    expect(findDuplicateJsonKey('{"a":1,"\\u0061":2}')).toBe("a");
    expect(findDuplicateJsonKey('{"a":"},{\\"a\\":","b":"\\\\","c":[",{"]}')).toBeUndefined();
    expect(findDuplicateJsonKey('{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]}')).toBeUndefined();
  });

  it("walks deep nesting without recursion", () => {
    const depth = 100_000;
    expect(findDuplicateJsonKey(`${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`)).toBeUndefined();
  });
});

describe("JSON bodies", () => {
  const Body = z.strictObject({ name: z.string(), tags: z.array(z.string()).optional() });

  it("strips one leading byte-order mark and refuses a second", () => {
    expect(parseJsonBytes(encode('\uFEFF{"name":"x"}'), Body, "body")).toEqual({ name: "x" });
    expect(refusal(() => parseJsonBytes(encode('\uFEFF\uFEFF{"name":"x"}'), Body, "body")).code).toBe("bad_request");
  });

  it("refuses bytes that are not UTF-8 instead of storing U+FFFD", () => {
    const latin1 = new Uint8Array([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d]);
    const error = refusal(() => decodeJsonText(latin1, "body"));
    expect(error.status).toBe(400);
    expect(error.fieldErrors).toEqual([{ field: "", message: "the body must be UTF-8 encoded JSON" }]);
  });

  it("refuses a repeated key with a 400 naming it, before the schema sees last-one-wins data", () => {
    const error = refusal(() => parseJsonBody('{"name":"a","tags":[],"name":"b"}', Body, "body"));
    expect(error.code).toBe("validation_failed");
    expect(error.fieldErrors).toEqual([
      { field: "name", message: "the key is given more than once; send each key once" },
    ]);
  });
});
