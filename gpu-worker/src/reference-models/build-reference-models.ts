/**
 * Writes the reference models to disk:
 *   tsx gpu-worker/src/reference-models/build-reference-models.ts [outDir]   (default .modelgate/models)
 */
import { resolve } from "node:path";
import { buildDemoLm } from "./demo-lm.js";
import { writeReferenceModels } from "./index.js";
import { buildSpiralsClassifier } from "./spirals.js";

async function main(): Promise<void> {
  const outDir = resolve(process.argv[2] ?? ".modelgate/models");
  const spirals = buildSpiralsClassifier();
  const written = await writeReferenceModels(outDir, [buildDemoLm(), spirals]);
  for (const model of written) {
    const details = [`sha256=${model.sha256}`, `bytes=${model.bytes}`];
    const valAcc = model.registration.metrics.val_acc;
    if (valAcc !== undefined) details.push(`val_acc=${valAcc}`);
    if (model.name === spirals.name) details.push(`training_ms=${Math.round(spirals.trainingMs)}`);
    console.log(`${model.name}\t${model.path}\t${details.join("\t")}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
