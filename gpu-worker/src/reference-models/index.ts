/**
 * Reference models: small ONNX models built from TypeScript source, byte-for-byte reproducible,
 * so that a fresh checkout can register and serve something real without downloading weights.
 */
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { IoContract, ModelFile, RegisterVersionRequest, TokenizerSpec } from "@modelgate/shared";
import { buildDemoLm } from "./demo-lm.js";
import { buildDemoScorer } from "./demo-scorer.js";
import { buildReferenceDecoder } from "./reference-decoder.js";
import { buildSpiralsClassifier } from "./spirals.js";

/**
 * A version registration without its artifact, which is only known once the file is uploaded.
 * `io` is what the graph declares (the registry reads the same from the file).
 */
export type ReferenceRegistration = Omit<RegisterVersionRequest, "artifact" | "io"> & {
  io: IoContract;
  metrics: Record<string, number>;
};

export interface BuiltReferenceModel {
  name: "demo-lm" | "spirals" | string;
  onnx: Uint8Array;
  /** Everything needed to register a version except the artifact (which is known after upload). */
  registration: ReferenceRegistration;
  /**
   * A Hugging Face tokenizer's files, uploaded beside the ONNX file; the registration's
   * `tokenizer` is filled in from where they land (`hfTokenizerSpec`).
   */
  tokenizerFiles?: ReferenceTokenizerFiles;
}

export interface ReferenceTokenizerFiles {
  tokenizerJson: Uint8Array;
  tokenizerConfigJson: Uint8Array;
  eosTokenIds: number[];
}

/** The registry's `hf-tokenizer` spec for tokenizer files once they are in object storage. */
export function hfTokenizerSpec(
  uploaded: { tokenizerJson: ModelFile; tokenizerConfigJson: ModelFile },
  eosTokenIds: readonly number[],
): TokenizerSpec {
  return {
    type: "hf-tokenizer",
    tokenizer_json: uploaded.tokenizerJson,
    tokenizer_config_json: uploaded.tokenizerConfigJson,
    eos_token_ids: [...eosTokenIds],
  };
}

export interface WrittenReferenceModel {
  name: string;
  path: string;
  sha256: string;
  bytes: number;
  registration: ReferenceRegistration;
}

export {
  buildDemoLm,
  computeDemoLmTables,
  DEMO_LM_BLOCKED_LOGIT,
  DEMO_LM_BOS_TOKEN_ID,
  DEMO_LM_BOT_TOKEN_ID,
  DEMO_LM_CORPUS,
  DEMO_LM_EOS_TOKEN_ID,
  DEMO_LM_EOT_TOKEN_ID,
  DEMO_LM_VOCAB_SIZE,
  type DemoLmOptions,
} from "./demo-lm.js";
export {
  buildDemoScorer,
  DEMO_SCORER_VOCAB_SIZE,
  demoScorerIds,
  demoScorerReferenceScore,
  measureDemoScorer,
} from "./demo-scorer.js";
export {
  HF_MODEL_FOLDER_FILES,
  type HfModelFiles,
  writeHfModelFolder,
} from "./hf-model-folder.js";
export * from "./reference-decoder.js";
export {
  type BuiltSpiralsClassifier,
  buildSpiralsClassifier,
  generateSpiralsDataset,
  type LabelledPoints,
  SPIRALS_DEFAULT_SEED,
  type SpiralsDataset,
  type SpiralsOptions,
  trainSpiralsClassifier,
} from "./spirals.js";
export {
  ALL_DTYPES,
  buildDtypeEcho,
  buildImageClassifier,
  buildMixedInputRanker,
  buildStatefulCell,
  buildTensorReferenceModels,
  CELL_HIDDEN,
  CELL_INPUTS,
  cellReference,
  dominantChannel,
  type ImageClassifierOptions,
  RANKER_CATEGORIES,
  RANKER_FEATURES,
  RANKER_SCORES,
  rankerReference,
} from "./tensor-models.js";

/** Every reference model with its default options, in a stable order. */
export function buildReferenceModels(): BuiltReferenceModel[] {
  return [buildDemoLm(), buildSpiralsClassifier(), buildReferenceDecoder(), buildDemoScorer()];
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Builds every reference model and writes `<dir>/<name>.onnx`, creating `dir` if needed. */
export async function writeReferenceModels(
  dir: string,
  models: readonly BuiltReferenceModel[] = buildReferenceModels(),
): Promise<WrittenReferenceModel[]> {
  await mkdir(dir, { recursive: true });
  const written: WrittenReferenceModel[] = [];
  for (const model of models) {
    const path = join(dir, `${model.name}.onnx`);
    await writeFile(path, model.onnx);
    written.push({
      name: model.name,
      path,
      sha256: sha256Hex(model.onnx),
      bytes: model.onnx.byteLength,
      registration: model.registration,
    });
  }
  return written;
}
