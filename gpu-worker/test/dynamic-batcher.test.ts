/**
 * The dynamic batcher's policy with a run function the test controls: what stacks with what, when a
 * batch goes (full, a preferred size, the delay, or as soon as the model is free), how outputs are
 * split back, and the two safety valves (outputs that do not follow the batch, a failing batch).
 */
import { err, ModelgateError, ok } from "@modelgate/shared";
import { describe, expect, it } from "vitest";
import { type BatchRun, DynamicBatcher, type TensorJob } from "../src/inference/dynamic-batcher.js";

function job(rows: number, first: number, width = 2, outputNames = ["y"]): TensorJob {
  return {
    inputs: [
      {
        name: "x",
        type: "float32",
        dims: [rows, width],
        data: Float32Array.from({ length: rows * width }, (_, i) => first + i),
      },
    ],
    outputNames,
  };
}

/** A model that doubles `x` into `y`; each run waits until the test releases it. */
function controlledModel(
  options: { outputRows?: (rows: number) => number; failWhen?: (job: TensorJob) => boolean } = {},
) {
  const runs: TensorJob[] = [];
  const pending: Array<() => void> = [];
  let arrived: (() => void) | undefined;
  const run = (job: TensorJob): Promise<ReturnType<typeof ok<BatchRun>> | ReturnType<typeof err<ModelgateError>>> => {
    runs.push(job);
    arrived?.();
    return new Promise((resolve) => {
      pending.push(() => {
        if (options.failWhen?.(job)) {
          resolve(err(new ModelgateError("bad_request", "refused")));
          return;
        }
        const x = job.inputs[0];
        const data = Float32Array.from(x?.data as Float32Array, (v) => v * 2);
        const rows = x?.dims[0] ?? 0;
        const outRows = options.outputRows?.(rows) ?? rows;
        resolve(
          ok({
            outputs: [{ name: "y", type: "float32", dims: [outRows, data.length / Math.max(1, outRows)], data }],
            inferenceTimeMs: 1,
          }),
        );
      });
    });
  };
  return {
    run,
    runs,
    /** Resolves the oldest run still waiting. */
    release() {
      pending.shift()?.();
    },
    /** Resolves once `count` runs have started. */
    until(count: number): Promise<void> {
      if (runs.length >= count) return Promise.resolve();
      return new Promise((resolve) => {
        arrived = () => {
          if (runs.length >= count) resolve();
        };
      });
    },
  };
}

const policy = (
  overrides: Partial<{ maxBatchSize: number; maxQueueDelayUs: number; preferredBatchSizes: number[] }> = {},
) => ({
  maxBatchSize: 8,
  maxQueueDelayUs: 0,
  preferredBatchSizes: [],
  ...overrides,
});

describe("DynamicBatcher", () => {
  it("runs a lone request at once, then stacks what queued while the model was busy, and splits the outputs back", async () => {
    const model = controlledModel();
    const batcher = new DynamicBatcher({ policy: policy(), run: model.run });
    const first = batcher.submit(job(1, 0));
    await model.until(1);
    const queued = [batcher.submit(job(2, 10)), batcher.submit(job(1, 20)), batcher.submit(job(3, 30))];
    model.release();
    await model.until(2);
    expect(model.runs[1]?.inputs[0]?.dims).toEqual([6, 2]);
    model.release();
    const [a, b, c] = await Promise.all(queued);
    expect((await first).ok && (await first)).toMatchObject({ value: { batchRows: 1 } });
    expect(a?.ok && Array.from(a.value.outputs[0]?.data as Float32Array)).toEqual([20, 22, 24, 26]);
    expect(b?.ok && b.value.outputs[0]?.dims).toEqual([1, 2]);
    expect(c?.ok && Array.from(c.value.outputs[0]?.data as Float32Array)).toEqual([60, 62, 64, 66, 68, 70]);
    expect(c?.ok && c.value.batchRows).toBe(6);
  });

  it("keeps to max_batch_size and stacks only requests of the same shape and outputs", async () => {
    const model = controlledModel();
    const batcher = new DynamicBatcher({ policy: policy({ maxBatchSize: 4 }), run: model.run });
    const busy = batcher.submit(job(1, 0));
    await model.until(1);
    const rest = [
      batcher.submit(job(3, 0)),
      batcher.submit(job(2, 0)),
      batcher.submit(job(1, 0, 3)),
      batcher.submit(job(1, 0, 2, ["z"])),
    ];
    for (let runs = 2; runs <= 5; runs++) {
      model.release();
      await model.until(runs);
    }
    model.release();
    await Promise.all([busy, ...rest]);
    // 1 alone; then 3 (a 2 would pass 4 rows); then the 2; the width-3 and the other-output jobs alone.
    expect(model.runs.map((run) => [run.inputs[0]?.dims.join("x"), run.outputNames.join()])).toEqual([
      ["1x2", "y"],
      ["3x2", "y"],
      ["2x2", "y"],
      ["1x3", "y"],
      ["1x2", "z"],
    ]);
  });

  it("waits out max_queue_delay_us for more, unless a preferred size is reached", async () => {
    const model = controlledModel();
    const batcher = new DynamicBatcher({
      policy: policy({ maxQueueDelayUs: 60_000, preferredBatchSizes: [4] }),
      run: model.run,
    });
    const three = [batcher.submit(job(1, 0)), batcher.submit(job(1, 0)), batcher.submit(job(1, 0))];
    // Three rows, no preferred size reached and the delay (60 ms) not out: nothing runs yet.
    await new Promise((resolve) => setImmediate(resolve));
    expect(model.runs).toHaveLength(0);
    const fourth = batcher.submit(job(1, 0));
    await model.until(1);
    expect(model.runs[0]?.inputs[0]?.dims).toEqual([4, 2]);
    model.release();
    await Promise.all([...three, fourth]);
  });

  it("answers each request alone, and stops stacking, when the outputs do not follow the batch", async () => {
    const model = controlledModel({ outputRows: () => 1 });
    const batcher = new DynamicBatcher({ policy: policy(), run: model.run });
    const busy = batcher.submit(job(1, 0));
    await model.until(1);
    const stacked = [batcher.submit(job(1, 0)), batcher.submit(job(1, 0))];
    model.release();
    await model.until(2);
    model.release();
    await model.until(3);
    model.release();
    await model.until(4);
    model.release();
    const answers = await Promise.all([busy, ...stacked]);
    expect(answers.every((answer) => answer.ok)).toBe(true);
    expect(model.runs.map((run) => run.inputs[0]?.dims[0])).toEqual([1, 2, 1, 1]);
    const later = [batcher.submit(job(1, 0)), batcher.submit(job(1, 0))];
    await model.until(5);
    model.release();
    await model.until(6);
    model.release();
    await Promise.all(later);
    expect(model.runs.slice(4).map((run) => run.inputs[0]?.dims[0])).toEqual([1, 1]);
  });

  it("retries a failing batch request by request, so only the bad one fails", async () => {
    const model = controlledModel({
      failWhen: (run) => Array.from((run.inputs[0]?.data ?? []) as ArrayLike<number>).includes(99),
    });
    const batcher = new DynamicBatcher({ policy: policy(), run: model.run });
    const busy = batcher.submit(job(1, 0));
    await model.until(1);
    const answers = [batcher.submit(job(1, 0)), batcher.submit(job(1, 99)), batcher.submit(job(1, 5))];
    for (let runs = 2; runs <= 5; runs++) {
      model.release();
      await model.until(runs);
    }
    model.release();
    const settled = await Promise.all([busy, ...answers]);
    expect(settled.map((answer) => answer.ok)).toEqual([true, true, false, true]);
  });
});
