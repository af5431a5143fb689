/**
 * `JSON.parse` keeps the last of two equal keys and drops the first without a word, so
 * `{"reason": "a", "reason": "b"}` silently loses data. This finds such a key in a text that
 * `JSON.parse` already accepted, as the dotted path a field problem names (`metrics.val_acc`,
 * `messages.0.role`). Keys compare after unescaping (`"a"` and `"\u0061"` are the same key).
 * Iterative, so nesting depth cannot overflow the stack.
 */
type Frame =
  | { kind: "object"; keys: Set<string>; awaitingKey: boolean; key: string | undefined }
  | { kind: "array"; index: number };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Index just past the closing quote of the string that opens at `start`. */
function endOfString(text: string, start: number): number {
  let index = start + 1;
  for (;;) {
    const code = text.charCodeAt(index);
    if (code === QUOTE) return index + 1;
    index += code === BACKSLASH ? 2 : 1;
  }
}

function pathOf(stack: Frame[], key: string): string {
  const parts: string[] = [];
  for (const frame of stack.slice(0, -1)) parts.push(frame.kind === "array" ? String(frame.index) : (frame.key ?? ""));
  parts.push(key);
  return parts.join(".");
}

export function findDuplicateJsonKey(text: string): string | undefined {
  const stack: Frame[] = [];
  let index = 0;
  while (index < text.length) {
    const code = text.charCodeAt(index);
    if (code === QUOTE) {
      const end = endOfString(text, index);
      const top = stack.at(-1);
      if (top?.kind === "object" && top.awaitingKey) {
        const raw = text.slice(index + 1, end - 1);
        const key = raw.includes("\\") ? (JSON.parse(text.slice(index, end)) as string) : raw;
        if (top.keys.has(key)) return pathOf(stack, key);
        top.keys.add(key);
        top.key = key;
        top.awaitingKey = false;
      }
      index = end;
      continue;
    }
    if (code === 0x7b) stack.push({ kind: "object", keys: new Set(), awaitingKey: true, key: undefined });
    else if (code === 0x5b) stack.push({ kind: "array", index: 0 });
    else if (code === 0x7d || code === 0x5d) stack.pop();
    else if (code === 0x2c) {
      const top = stack.at(-1);
      if (top?.kind === "object") top.awaitingKey = true;
      else if (top?.kind === "array") top.index += 1;
    }
    index += 1;
  }
  return undefined;
}
