/**
 * A model's vocabulary as the constraint engine sees it: the bytes each token adds to the output,
 * in a trie, so that the tokens allowed in an automaton state are found by one walk that stops at
 * the first byte no output can continue with (a dead branch prunes every token below it).
 */

export interface TokenVocabulary {
  /** Logits per step: ids run from 0 to size − 1. */
  readonly size: number;
  /**
   * The bytes of each token's text (byte-level BPE: the token's bytes, which may end inside a
   * UTF-8 character). Undefined for tokens that never add visible text (special tokens).
   */
  readonly tokenBytes: readonly (Uint8Array | undefined)[];
  readonly eosTokenIds: readonly number[];
}

export class VocabularyTrie {
  readonly vocabulary: TokenVocabulary;
  /** Per node: the byte leading to it, its first child and its next sibling (−1: none). */
  readonly byte: Uint8Array;
  readonly firstChild: Int32Array;
  readonly nextSibling: Int32Array;
  /** Tokens ending at node n: tokenIds[tokenStart[n] .. tokenStart[n + 1]). */
  readonly tokenStart: Int32Array;
  readonly tokenIds: Int32Array;
  /** Whether every single byte is a token of its own (then a distance in bytes bounds one in tokens). */
  readonly coversEveryByte: boolean;

  constructor(vocabulary: TokenVocabulary) {
    this.vocabulary = vocabulary;
    const children: Map<number, number>[] = [new Map()];
    const ending: number[][] = [[]];
    const singleBytes = new Set<number>();
    vocabulary.tokenBytes.forEach((bytes, id) => {
      if (bytes === undefined || bytes.length === 0) return;
      if (bytes.length === 1) singleBytes.add(bytes[0] ?? 0);
      let node = 0;
      for (const byte of bytes) {
        const map = children[node] ?? new Map<number, number>();
        let child = map.get(byte);
        if (child === undefined) {
          child = children.length;
          children.push(new Map());
          ending.push([]);
          map.set(byte, child);
        }
        node = child;
      }
      ending[node]?.push(id);
    });
    const count = children.length;
    this.byte = new Uint8Array(count);
    this.firstChild = new Int32Array(count).fill(-1);
    this.nextSibling = new Int32Array(count).fill(-1);
    children.forEach((map, node) => {
      let previous = -1;
      for (const [byte, child] of [...map.entries()].sort((a, b) => a[0] - b[0])) {
        this.byte[child] = byte;
        if (previous < 0) this.firstChild[node] = child;
        else this.nextSibling[previous] = child;
        previous = child;
      }
    });
    this.tokenStart = new Int32Array(count + 1);
    let total = 0;
    for (let node = 0; node < count; node++) {
      this.tokenStart[node] = total;
      total += ending[node]?.length ?? 0;
    }
    this.tokenStart[count] = total;
    this.tokenIds = Int32Array.from(ending.flat());
    this.coversEveryByte = singleBytes.size === 256;
  }

  get nodeCount(): number {
    return this.byte.length;
  }
}
