import * as ort from "onnxruntime-node";

/**
 * An independent oracle for the full-stack test: runs the same ONNX bytes straight through
 * onnxruntime-node, with the simplest possible greedy loop, so the stack's answers can be
 * compared with what the model itself says.
 */
export async function greedyDecodeDirect(
  onnx: Uint8Array,
  promptIds: number[],
  maxNewTokens: number,
): Promise<{ tokenIds: number[]; haltLogits: [number, number] | null }> {
  const session = await ort.InferenceSession.create(onnx);
  try {
    const ids = [...promptIds];
    const generated: number[] = [];
    let haltLogits: [number, number] | null = null;
    for (let step = 0; step < maxNewTokens; step++) {
      const input = new ort.Tensor("int64", BigInt64Array.from(ids.map(BigInt)), [1, ids.length]);
      const outputs = await session.run({ input_ids: input });
      const logits = outputs.logits;
      if (!logits) throw new Error("model has no logits output");
      const vocab = logits.dims[2] ?? 0;
      const data = logits.data as Float32Array;
      const last = data.subarray((ids.length - 1) * vocab, ids.length * vocab);
      let best = 0;
      for (let i = 1; i < vocab; i++) if ((last[i] ?? -Infinity) > (last[best] ?? -Infinity)) best = i;
      ids.push(best);
      generated.push(best);
    }
    // The halt head judges the finished text: prompt plus every generated token.
    const finalRun = await session.run({
      input_ids: new ort.Tensor("int64", BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
    });
    const halt = finalRun.halt_logits?.data as Float32Array | undefined;
    if (halt) haltLogits = [halt[0] ?? Number.NaN, halt[1] ?? Number.NaN];
    return { tokenIds: generated, haltLogits };
  } finally {
    await session.release();
  }
}

export async function predictDirect(onnx: Uint8Array, rows: number[][]): Promise<number[][]> {
  const session = await ort.InferenceSession.create(onnx);
  try {
    const features = rows[0]?.length ?? 0;
    const input = new ort.Tensor("float32", Float32Array.from(rows.flat()), [rows.length, features]);
    const outputs = await session.run({ features: input });
    const probabilities = outputs.probabilities;
    if (!probabilities) throw new Error("model has no probabilities output");
    const data = Array.from(probabilities.data as Float32Array);
    const classes = probabilities.dims[1] ?? 0;
    return rows.map((_, r) => data.slice(r * classes, (r + 1) * classes));
  } finally {
    await session.release();
  }
}
