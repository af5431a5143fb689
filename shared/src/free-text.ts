import { z } from "zod";

/**
 * Free text a person types (names, reasons, notes, descriptions, search terms): any Unicode a
 * keyboard produces, but never control characters. A NUL or an escape sequence stored in a
 * reason ends up in terminals, logs, SQL parameters and other tools' parsers (SQLite stops a
 * LIKE pattern at a NUL, so `q=%00` once matched every version); a lone UTF-16 surrogate cannot
 * be written as UTF-8 at all. Multi-line text may hold tabs and line breaks; single-line text
 * (names, labels) holds none, nor the Unicode line and paragraph separators.
 */
export interface FreeTextOptions {
  max: number;
  min?: number;
  /** Tab, LF and CR allowed (notes, descriptions, reasons). */
  multiline?: boolean;
  /** Trim surrounding white space before the length checks. */
  trim?: boolean;
}

const LINE_BREAKS_AND_TAB = new Set([0x09, 0x0a, 0x0d]);

function isRefusedCodePoint(codePoint: number, multiline: boolean): boolean {
  if (codePoint <= 0x1f) return !(multiline && LINE_BREAKS_AND_TAB.has(codePoint));
  if (codePoint >= 0x7f && codePoint <= 0x9f) return true;
  if (codePoint === 0x2028 || codePoint === 0x2029) return !multiline;
  // A lone surrogate: `codePointAt` answers one only when its pair is missing.
  return codePoint >= 0xd800 && codePoint <= 0xdfff;
}

const hex = (codePoint: number) => `U+${codePoint.toString(16).toUpperCase().padStart(4, "0")}`;

/** Why `text` is not free text (naming the first refused character and where it is), or undefined. */
export function controlCharacterProblem(text: string, multiline: boolean): string | undefined {
  let position = 0;
  for (const character of text) {
    const codePoint = character.codePointAt(0) ?? 0;
    if (isRefusedCodePoint(codePoint, multiline)) {
      const kind = codePoint >= 0xd800 && codePoint <= 0xdfff ? "an unpaired surrogate" : "a control character";
      return `must not contain control characters: ${kind} (${hex(codePoint)}) at character ${position + 1}`;
    }
    position += 1;
  }
  return undefined;
}

/**
 * `text` with each character free text refuses replaced by `replacement`: for reading documents
 * stored before these checks existed (the edge's registry shows them as U+FFFD).
 */
export function replaceControlCharacters(text: string, multiline: boolean, replacement: string): string {
  let result = "";
  for (const character of text) {
    result += isRefusedCodePoint(character.codePointAt(0) ?? 0, multiline) ? replacement : character;
  }
  return result;
}

/** A string schema for free text; use it for every field a person writes, request or query. */
export function freeText(options: FreeTextOptions) {
  const multiline = options.multiline ?? false;
  let schema = z.string();
  if (options.trim) schema = schema.trim();
  if (options.min !== undefined) schema = schema.min(options.min, `must be at least ${options.min} characters`);
  return schema.max(options.max, `must be at most ${options.max} characters`).superRefine((text, ctx) => {
    const problem = controlCharacterProblem(text, multiline);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });
}

/** A stage-change, alias, policy or deletion reason: up to 1000 characters, line breaks allowed. */
export const ReasonTextSchema = freeText({ max: 1000, multiline: true });
