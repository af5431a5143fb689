/**
 * Writes a Hugging Face style model folder, the layout transformers.js, Optimum and the engine
 * read:
 *
 *   <dir>/config.json
 *   <dir>/generation_config.json
 *   <dir>/tokenizer.json
 *   <dir>/tokenizer_config.json
 *   <dir>/onnx/model.onnx
 *
 * transformers.js (4.x) loads it with, for `<parent>/<name>`:
 *
 *   env.allowRemoteModels = false; env.allowLocalModels = true; env.localModelPath = "<parent>/";
 *   await AutoTokenizer.from_pretrained("<name>");
 *   await AutoModelForCausalLM.from_pretrained("<name>", { dtype: "fp32", device: "cpu" });
 *
 * (`dtype: "fp32"` selects `onnx/model.onnx`; other dtypes add a suffix such as `_fp16`.)
 */
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

/** The files of a Hugging Face model folder (file contents; JSON as the exact text to write). */
export interface HfModelFiles {
  onnx: Uint8Array;
  tokenizerJson: string;
  tokenizerConfigJson: string;
  configJson: string;
  generationConfigJson: string;
}

export interface WrittenHfFile {
  /** Relative to the folder, with forward slashes (`onnx/model.onnx`). */
  path: string;
  sha256: string;
  bytes: number;
}

/** Folder-relative paths in the order they are written (small JSON files first, the model last). */
export const HF_MODEL_FOLDER_FILES = [
  "config.json",
  "generation_config.json",
  "tokenizer.json",
  "tokenizer_config.json",
  "onnx/model.onnx",
] as const;

function contentsOf(model: HfModelFiles): Record<(typeof HF_MODEL_FOLDER_FILES)[number], Uint8Array> {
  const encoder = new TextEncoder();
  return {
    "config.json": encoder.encode(model.configJson),
    "generation_config.json": encoder.encode(model.generationConfigJson),
    "tokenizer.json": encoder.encode(model.tokenizerJson),
    "tokenizer_config.json": encoder.encode(model.tokenizerConfigJson),
    "onnx/model.onnx": model.onnx,
  };
}

/** Writes the folder (creating `dir` as needed, overwriting files) and reports each file's sha256 and size. */
export async function writeHfModelFolder(dir: string, model: HfModelFiles): Promise<WrittenHfFile[]> {
  const contents = contentsOf(model);
  const written: WrittenHfFile[] = [];
  for (const path of HF_MODEL_FOLDER_FILES) {
    const bytes = contents[path];
    const target = join(dir, ...path.split("/"));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, bytes);
    written.push({ path, sha256: createHash("sha256").update(bytes).digest("hex"), bytes: bytes.byteLength });
  }
  return written;
}
