/**
 * Writes the reference models to disk:
 *   tsx gpu-worker/src/reference-models/build-reference-models.ts [outDir]   (default .modelgate/models)
 * Each model becomes `<outDir>/<name>.onnx`; the reference decoder is also written as a Hugging
 * Face model folder (`<outDir>/ref-decoder/`) that transformers.js and Optimum tools can load.
 */
import { join, resolve } from "node:path";
import { buildDemoLm } from "./demo-lm.js";
import { buildDemoScorer } from "./demo-scorer.js";
import { writeHfModelFolder } from "./hf-model-folder.js";
import { writeReferenceModels } from "./index.js";
import { buildReferenceDecoder } from "./reference-decoder.js";
import { buildSpiralsClassifier } from "./spirals.js";
import { buildDtypeEcho, buildTensorReferenceModels } from "./tensor-models.js";

async function main(): Promise<void> {
  const outDir = resolve(process.argv[2] ?? ".modelgate/models");
  const spirals = buildSpiralsClassifier();
  const decoder = buildReferenceDecoder();
  const written = await writeReferenceModels(outDir, [
    buildDemoLm(),
    spirals,
    decoder,
    buildDemoScorer(),
    ...buildTensorReferenceModels(),
    buildDtypeEcho(),
  ]);
  for (const model of written) {
    const details = [`sha256=${model.sha256}`, `bytes=${model.bytes}`];
    const valAcc = model.registration.metrics.val_acc;
    if (valAcc !== undefined) details.push(`val_acc=${valAcc}`);
    if (model.name === spirals.name) details.push(`training_ms=${Math.round(spirals.trainingMs)}`);
    console.log(`${model.name}\t${model.path}\t${details.join("\t")}`);
  }
  const folder = join(outDir, decoder.name);
  await writeHfModelFolder(folder, decoder);
  console.log(`${decoder.name}\t${folder}/\tHugging Face model folder (config.json, tokenizer.json, onnx/model.onnx)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
