import { vi } from "vitest";

export interface ForwardedPredict {
  model: string;
  data: number[][];
  target: { name: string; version: number };
}

/**
 * The stand-in worker verifies the edge's signature and echoes what it received. This turns its
 * echo of a `/v1/predict` into a worker's answer (`probabilitiesOf` each row, arg-max as the
 * prediction), so the edge's translation of the answer runs on a real prediction body, and
 * records what the edge forwarded. The real worker behind the real edge is the e2e tests' job.
 */
export function standInPredicts(
  probabilitiesOf: (row: number[]) => number[],
  inferenceTimeMs = 1.5,
): ForwardedPredict[] {
  const forwarded: ForwardedPredict[] = [];
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const response = await realFetch(input, init);
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.pathname !== "/v1/predict" || response.status !== 200) return response;
    const { echoed } = (await response.json()) as { echoed: ForwardedPredict };
    forwarded.push(echoed);
    const probabilities = echoed.data.map(probabilitiesOf);
    return Response.json({
      predictions: probabilities.map((row) => row.indexOf(Math.max(...row))),
      probabilities,
      model_version: `${echoed.target.name}@${echoed.target.version}`,
      model: echoed.target.name,
      version: echoed.target.version,
      worker_id: "stand-in",
      inference_time_ms: inferenceTimeMs,
    });
  });
  return forwarded;
}
