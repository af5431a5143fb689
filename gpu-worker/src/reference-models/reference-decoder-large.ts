/**
 * ref-decoder-large: ref-decoder with a 4096-wide MLP, a benchmark-size model (about 54 MB of
 * float32 weights, 13.5 M parameters) for the conversion passes, whose cost and size ratios are
 * dominated by the MLP matrices as in a real decoder, while ref-decoder's 512x512 embedding and
 * lm_head make up a third of it. Same tokenizer, corpus and seed, so it predicts the same bigram
 * text and the same evaluation (teacher-forced next token over the corpus) applies to both.
 *
 * It is not one of buildReferenceModels(): building it takes about a second and it is only read
 * by benchmarks and conversion tests, so nothing that builds every reference model pays for it.
 */
import type { ReferenceRegistration } from "./index.js";
import {
  buildReferenceDecoderTokenizer,
  REFERENCE_DECODER_DIMS,
  REFERENCE_DECODER_SEED,
  type ReferenceDecoderSpec,
  referenceDecoderRegistration,
  specOf,
} from "./reference-decoder.js";
import { buildReferenceDecoderGraph } from "./reference-decoder-graph.js";
import {
  buildReferenceDecoderWeights,
  REFERENCE_DECODER_CORPUS,
  type ReferenceDecoderDims,
} from "./reference-decoder-weights.js";
import type { ReferenceTokenizer } from "./reference-tokenizer.js";

export const LARGE_REFERENCE_DECODER_NAME = "ref-decoder-large";

export const LARGE_REFERENCE_DECODER_DIMS: Readonly<ReferenceDecoderDims> = {
  ...REFERENCE_DECODER_DIMS,
  intermediateSize: 4096,
  numLayers: 2,
};

export interface BuiltLargeReferenceDecoder {
  name: typeof LARGE_REFERENCE_DECODER_NAME;
  onnx: Uint8Array;
  dims: Readonly<ReferenceDecoderDims>;
  /** What ReferenceDecoderRunner and the generation engine need; the same token ids as ref-decoder. */
  spec: ReferenceDecoderSpec;
  /** The tokenizer it shares with ref-decoder (encode prompts and the corpus with it). */
  tokenizer: ReferenceTokenizer;
  /** Everything but the artifact and the tokenizer files, as for ref-decoder. */
  registration: ReferenceRegistration;
}

export function buildLargeReferenceDecoder(): BuiltLargeReferenceDecoder {
  const dims = { ...LARGE_REFERENCE_DECODER_DIMS };
  const tokenizer = buildReferenceDecoderTokenizer();
  const weights = buildReferenceDecoderWeights(tokenizer, REFERENCE_DECODER_CORPUS, dims, REFERENCE_DECODER_SEED);
  // Always with the halt head: the converted model must keep every output ref-decoder has.
  const haltHead = true;
  const onnx = buildReferenceDecoderGraph(dims, weights, {
    haltHead,
    docString: `modelgate ${LARGE_REFERENCE_DECODER_NAME}: ref-decoder with a ${dims.intermediateSize}-wide MLP, for benchmarks`,
  });
  const spec = specOf(tokenizer, dims, haltHead);
  const registration = referenceDecoderRegistration(dims, weights.metrics, haltHead, {
    categories: ["general"],
    primary_category: "general",
    description:
      `ref-decoder with a ${dims.intermediateSize}-wide SwiGLU MLP (${dims.numLayers} layers): the same bigram ` +
      "lm_head, tokenizer, corpus and seeded block weights, sized for conversion and serving benchmarks.",
  });
  return { name: LARGE_REFERENCE_DECODER_NAME, onnx, dims, spec, tokenizer, registration };
}
