/**
 * The KV-cache decoder on the reference decoder, driven directly: batched prefill of prompts of
 * different lengths (left-padded) and batched steps agree with each prompt run alone, and the
 * batch survives members joining and leaving.
 */
import * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import type { StepOutput } from "../src/inference/decoder/causal-decoder.js";
import { detectKvCacheLayout, KvCacheDecoder } from "../src/inference/decoder/kv-cache-decoder.js";
import { buildReferenceDecoder } from "../src/reference-models/index.js";

let session: ort.InferenceSession;
let decoder: () => KvCacheDecoder;

beforeAll(async () => {
  const built = buildReferenceDecoder();
  session = await ort.InferenceSession.create(built.onnx, { intraOpNumThreads: 1 });
  const layout = detectKvCacheLayout(session, { logits: "logits", halt: "halt_logits" });
  if (!layout) throw new Error("the reference decoder has a KV-cache layout");
  decoder = () => new KvCacheDecoder(session, layout);
});

const PROMPTS = [
  [507, 40, 41, 42],
  [507, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69],
  [507, 80],
];

function maxDifference(a: StepOutput | undefined, b: StepOutput | undefined): number {
  if (!a || !b) return Number.POSITIVE_INFINITY;
  let worst = 0;
  a.logits.forEach((value, i) => {
    worst = Math.max(worst, Math.abs(value - (b.logits[i] ?? Number.NaN)));
  });
  return Math.max(worst, Math.abs((a.halt?.[1] ?? 0) - (b.halt?.[1] ?? 0)));
}

describe("KvCacheDecoder", () => {
  it("reads its layout from the session: layers, KV heads and head size", () => {
    const layout = detectKvCacheLayout(session, { logits: "logits", halt: "halt_logits" });
    expect(layout).toMatchObject({ kvHeads: 2, headDim: 32, attentionMask: "attention_mask" });
    expect(layout?.layers).toHaveLength(2);
  });

  it("prefills a left-padded batch exactly as each prompt alone, then steps the batch alike", async () => {
    const together = decoder();
    const batched = await together.prefill(PROMPTS);
    const alone = await Promise.all(PROMPTS.map(async (prompt) => (await decoder().prefill([prompt]))[0]));
    for (const [i, row] of batched.entries()) expect(maxDifference(row.output, alone[i]?.output)).toBeLessThan(1e-4);

    // Three decode steps for the whole batch vs each sequence on its own decoder.
    const singles = await Promise.all(
      PROMPTS.map(async (prompt) => {
        const own = decoder();
        const [first] = await own.prefill([prompt]);
        if (!first) throw new Error("no prefill");
        return { own, sequence: first.sequence };
      }),
    );
    for (const token of [100, 200, 300]) {
      const stepped = await together.step(
        batched.map((row) => ({ sequence: row.sequence, token })),
        true,
      );
      for (const [i, single] of singles.entries()) {
        const [expected] = await single.own.step([{ sequence: single.sequence, token }], true);
        expect(maxDifference(stepped[i], expected)).toBeLessThan(1e-4);
      }
    }
  });

  it("keeps every member right when one leaves and another joins mid-way", async () => {
    const shared = decoder();
    const [a, b] = await shared.prefill([PROMPTS[0] ?? [], PROMPTS[1] ?? []]);
    if (!a || !b) throw new Error("no prefill");
    await shared.step(
      [
        { sequence: a.sequence, token: 100 },
        { sequence: b.sequence, token: 100 },
      ],
      true,
    );
    // `a` leaves; `c` joins.
    shared.release(a.sequence);
    const [c] = await shared.prefill([PROMPTS[2] ?? []]);
    if (!c) throw new Error("no prefill");
    const [bOut, cOut] = await shared.step(
      [
        { sequence: b.sequence, token: 101 },
        { sequence: c.sequence, token: 101 },
      ],
      true,
    );
    const soloB = decoder();
    const [b1] = await soloB.prefill([PROMPTS[1] ?? []]);
    if (!b1) throw new Error("no prefill");
    await soloB.step([{ sequence: b1.sequence, token: 100 }], true);
    const [expectedB] = await soloB.step([{ sequence: b1.sequence, token: 101 }], true);
    const soloC = decoder();
    const [c1] = await soloC.prefill([PROMPTS[2] ?? []]);
    if (!c1) throw new Error("no prefill");
    const [expectedC] = await soloC.step([{ sequence: c1.sequence, token: 101 }], true);
    expect(maxDifference(bOut, expectedB)).toBeLessThan(1e-4);
    expect(maxDifference(cOut, expectedC)).toBeLessThan(1e-4);
  });

  it("splits a burst whose padding would exceed the budget, with the same answers", async () => {
    const long = Array.from({ length: 900 }, (_, i) => 10 + (i % 200));
    const burst = [long, ...PROMPTS, long];
    const results = await decoder().prefill(burst);
    expect(results).toHaveLength(burst.length);
    const alone = (await decoder().prefill([long]))[0];
    expect(maxDifference(results[0]?.output, alone?.output)).toBeLessThan(1e-4);
    expect(maxDifference(results[4]?.output, alone?.output)).toBeLessThan(1e-4);
  });
});
