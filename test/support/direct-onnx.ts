import * as ort from "onnxruntime-node";

/**
 * An independent oracle for the full-stack test: runs the same ONNX bytes straight through
 * onnxruntime-node, with the simplest possible greedy loop, so the stack's answers can be
 * compared with what the model itself says.
 */
export interface DirectDecoder {
  greedyDecode(
    promptIds: number[],
    maxNewTokens: number,
  ): Promise<{ tokenIds: number[]; haltLogits: [number, number] | null }>;
  release(): Promise<void>;
}

/** One session, reused across calls, so a benchmark times decoding rather than loading. */
export async function openDirectDecoder(onnx: Uint8Array): Promise<DirectDecoder> {
  const session = await ort.InferenceSession.create(onnx);
  const run = (ids: number[]) =>
    session.run({ input_ids: new ort.Tensor("int64", BigInt64Array.from(ids.map(BigInt)), [1, ids.length]) });
  return {
    async greedyDecode(promptIds, maxNewTokens) {
      const ids = [...promptIds];
      const generated: number[] = [];
      for (let step = 0; step < maxNewTokens; step++) {
        const logits = (await run(ids)).logits;
        if (!logits) throw new Error("model has no logits output");
        const vocab = logits.dims[2] ?? 0;
        const last = (logits.data as Float32Array).subarray((ids.length - 1) * vocab, ids.length * vocab);
        let best = 0;
        for (let i = 1; i < vocab; i++) if ((last[i] ?? -Infinity) > (last[best] ?? -Infinity)) best = i;
        ids.push(best);
        generated.push(best);
      }
      // The halt head judges the finished text: prompt plus every generated token.
      const halt = (await run(ids)).halt_logits?.data as Float32Array | undefined;
      const haltLogits: [number, number] | null = halt ? [halt[0] ?? Number.NaN, halt[1] ?? Number.NaN] : null;
      return { tokenIds: generated, haltLogits };
    },
    release: () => session.release(),
  };
}

export async function greedyDecodeDirect(
  onnx: Uint8Array,
  promptIds: number[],
  maxNewTokens: number,
): Promise<{ tokenIds: number[]; haltLogits: [number, number] | null }> {
  const decoder = await openDirectDecoder(onnx);
  try {
    return await decoder.greedyDecode(promptIds, maxNewTokens);
  } finally {
    await decoder.release();
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
