/**
 * The inference thread's side of constrained decoding: a constraint spec paired with a loaded
 * model's vocabulary, cached per (tokenizer, spec) so that the trie and the masks a schema's
 * states need are built once and reused by every request (and every row of a batch) after it.
 */
import type { ConstraintSpec } from "@modelgate/shared";
import type { TextTokenizer } from "../../inference/tokenizers/text-tokenizer.js";
import { CONSTRAINT_CACHE_SIZE, compileConstraint, constraintKey } from "./compile-constraint.js";
import { TokenConstraint } from "./token-masks.js";
import { VocabularyTrie } from "./token-vocabulary.js";

interface ModelConstraints {
  trie: VocabularyTrie;
  constraints: Map<string, TokenConstraint>;
}

const byTokenizer = new WeakMap<TextTokenizer, ModelConstraints>();

/** The vocabulary trie of a tokenizer (built once per loaded model). */
export function trieFor(tokenizer: TextTokenizer): VocabularyTrie {
  return modelConstraints(tokenizer).trie;
}

function modelConstraints(tokenizer: TextTokenizer): ModelConstraints {
  let entry = byTokenizer.get(tokenizer);
  if (!entry) {
    entry = { trie: new VocabularyTrie(tokenizer.vocabulary()), constraints: new Map() };
    byTokenizer.set(tokenizer, entry);
  }
  return entry;
}

export function constraintFor(
  tokenizer: TextTokenizer,
  spec: ConstraintSpec,
): { ok: true; value: TokenConstraint } | { ok: false; message: string } {
  const entry = modelConstraints(tokenizer);
  const key = constraintKey(spec);
  const cached = entry.constraints.get(key);
  if (cached) {
    entry.constraints.delete(key);
    entry.constraints.set(key, cached);
    return { ok: true, value: cached };
  }
  const compiled = compileConstraint(spec);
  // The HTTP process checked the same spec before sending it; this is a second line of defence.
  if (!compiled.ok)
    return { ok: false, message: compiled.problems.map((p) => `${p.path.join(".")}: ${p.message}`).join("; ") };
  const constraint = new TokenConstraint(compiled.value.dfa, entry.trie);
  entry.constraints.set(key, constraint);
  if (entry.constraints.size > CONSTRAINT_CACHE_SIZE) {
    const oldest = entry.constraints.keys().next();
    if (oldest.done !== true) entry.constraints.delete(oldest.value);
  }
  return { ok: true, value: constraint };
}
