/**
 * Code point ranges as UTF-8 byte-range sequences, so that an automaton over bytes accepts exactly
 * the UTF-8 encodings of the characters (the construction of Rust's regex-syntax `Utf8Sequences`).
 * Byte-level BPE tokens can end in the middle of a character; an automaton over bytes handles them
 * with no special case.
 */

/** An inclusive range of byte values. */
export type ByteRange = readonly [low: number, high: number];
/** One byte range per byte of the encoding: 1 to 4 of them. */
export type ByteSequence = readonly ByteRange[];

export interface CodePointRange {
  min: number;
  max: number;
}

export const MAX_CODE_POINT = 0x10ffff;
const LENGTH_BOUNDARIES = [0x7f, 0x7ff, 0xffff];

export function encodeUtf8(codePoint: number): number[] {
  if (codePoint <= 0x7f) return [codePoint];
  if (codePoint <= 0x7ff) return [0xc0 | (codePoint >> 6), 0x80 | (codePoint & 0x3f)];
  if (codePoint <= 0xffff) {
    return [0xe0 | (codePoint >> 12), 0x80 | ((codePoint >> 6) & 0x3f), 0x80 | (codePoint & 0x3f)];
  }
  return [
    0xf0 | (codePoint >> 18),
    0x80 | ((codePoint >> 12) & 0x3f),
    0x80 | ((codePoint >> 6) & 0x3f),
    0x80 | (codePoint & 0x3f),
  ];
}

/**
 * The byte sequences whose union is the UTF-8 encoding of every code point in `ranges`.
 * Surrogates (U+D800–U+DFFF) have no UTF-8 encoding and are left out.
 */
export function utf8Sequences(ranges: readonly CodePointRange[]): ByteSequence[] {
  const sequences: ByteSequence[] = [];
  const pending: [number, number][] = ranges.map((range) => [range.min, Math.min(range.max, MAX_CODE_POINT)]);
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [low, high] = next;
    if (low > high) continue;
    if (low <= 0xdfff && high >= 0xd800) {
      if (low < 0xd800) pending.push([low, 0xd7ff]);
      if (high > 0xdfff) pending.push([0xe000, high]);
      continue;
    }
    const boundary = LENGTH_BOUNDARIES.find((limit) => low <= limit && high > limit);
    if (boundary !== undefined) {
      pending.push([low, boundary], [boundary + 1, high]);
      continue;
    }
    if (high <= 0x7f) {
      sequences.push([[low, high]]);
      continue;
    }
    // Split until every continuation byte spans a whole 0x80–0xBF block or is the same in both ends.
    let split = false;
    for (let continuation = 1; continuation < 4 && !split; continuation++) {
      const mask = (1 << (6 * continuation)) - 1;
      if ((low & ~mask) === (high & ~mask)) continue;
      if ((low & mask) !== 0) {
        pending.push([low, low | mask], [(low | mask) + 1, high]);
        split = true;
      } else if ((high & mask) !== mask) {
        pending.push([low, (high & ~mask) - 1], [high & ~mask, high]);
        split = true;
      }
    }
    if (split) continue;
    const lowBytes = encodeUtf8(low);
    const highBytes = encodeUtf8(high);
    sequences.push(lowBytes.map((byte, i) => [byte, highBytes[i] ?? byte] as const));
  }
  return sequences;
}
