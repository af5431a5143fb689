/**
 * Issue 5's resilience check on the real stack: two workers under steady load, one killed with
 * SIGKILL mid-stream. No non-streamed request fails (they fail over), the stream on the dead
 * worker ends with an error event, the dead worker stops being chosen within three heartbeat
 * intervals, and it is chosen again once it is back.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  freePort,
  freeStackPorts,
  type GpuWorkerProcess,
  type LocalStack,
  startLocalStack,
} from "@modelgate/infra/local-stack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// Two seconds: on a loaded 2-core machine a 1 s interval (3 s to stale) can starve the survivor too.
const HEARTBEAT_MS = 2000;
const SECOND_WORKER = "local-cpu-1";

let dataDir: string;
let stack: LocalStack;
let secondPort: number;
let second: GpuWorkerProcess;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "modelgate-crash-"));
  stack = await startLocalStack({
    dataDir,
    ...(await freeStackPorts()),
    gpuMonitorIntervalMs: HEARTBEAT_MS,
    // A short cooldown so the returning worker gets its half-open probe within the test.
    edgeVars: { MODELGATE_CIRCUIT_COOLDOWN_MS: "1500" },
  });
  secondPort = await freePort();
  second = await stack.startExtraWorker(SECOND_WORKER, secondPort);
});

afterAll(async () => {
  await stack?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  problem?: string;
  worker: string | null;
  reason: string;
  startedAt: number;
}

function generate(body: object): Promise<Response> {
  return fetch(`${stack.edgeUrl}/v1/generate`, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.adminKey}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** `clients` loops of small non-streamed generations until `until()` says stop. */
async function steadyLoad(clients: number, until: () => boolean): Promise<Answer[]> {
  const answers: Answer[] = [];
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (!until()) {
        const startedAt = Date.now();
        const response = await generate({ model: "ref-decoder", prompt: "The worker", max_new_tokens: 8 });
        const text = await response.text();
        answers.push({
          ...(response.status === 200 ? {} : { problem: text.slice(0, 300) }),
          status: response.status,
          worker: response.headers.get("x-modelgate-worker"),
          reason: response.headers.get("x-modelgate-route-reason") ?? "",
          startedAt,
        });
      }
    }),
  );
  return answers;
}

async function workerView(id: string): Promise<{ live: boolean; circuit?: string } | undefined> {
  const response = await fetch(`${stack.edgeUrl}/v1/workers`, {
    headers: { authorization: `Bearer ${stack.adminKey}` },
  });
  const { workers } = (await response.json()) as {
    workers: { heartbeat: { worker_id: string }; live: boolean; circuit?: string }[];
  };
  return workers.find((w) => w.heartbeat.worker_id === id);
}

describe("a worker killed under load", () => {
  it("fails nothing over, ends its stream with an error event, drops out and comes back", async () => {
    // Warm both workers with the model so either may serve it.
    for (let i = 0; i < 6; i++)
      await (await generate({ model: "ref-decoder", prompt: "hi", max_new_tokens: 2 })).text();

    // A long stream (demo-lm recomputes the whole sequence per token: seconds for 3000 tokens).
    const stream = await generate({ model: "demo-lm", prompt: "The worker", max_new_tokens: 3000, stream: true });
    expect(stream.status).toBe(200);
    const victim = stream.headers.get("x-modelgate-worker");
    expect([stack.workerId, SECOND_WORKER]).toContain(victim);
    const reader = stream.body?.getReader();
    if (!reader) throw new Error("no stream body");
    await reader.read();

    let stopLoad = false;
    const load = steadyLoad(3, () => stopLoad);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const killedAt = Date.now();
    await (victim === stack.workerId ? stack.worker : second).kill();

    // The stream on the dead worker ends with an explicit error event.
    let rest = "";
    const decoder = new TextDecoder();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += decoder.decode(chunk.value);
    expect(rest).toMatch(/event: error\ndata: .*"status":502/);
    expect(rest).not.toContain("event: done");

    // Keep the load on for more than three heartbeat intervals after the kill.
    await new Promise((resolve) => setTimeout(resolve, 4 * HEARTBEAT_MS + 500));
    stopLoad = true;
    const answers = await load;
    expect(answers.length).toBeGreaterThan(10);
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    // Within three intervals (plus one heartbeat of slack) the dead worker is no longer even tried.
    const late = answers.filter((a) => a.startedAt > killedAt + 4 * HEARTBEAT_MS);
    expect(late.length).toBeGreaterThan(0);
    expect(late.filter((a) => a.reason.includes("failed attempt"))).toEqual([]);
    expect(late.every((a) => a.worker !== victim)).toBe(true);
    expect((await workerView(victim ?? ""))?.live).toBe(false);

    // Back on the same port: heartbeats make it live, the circuit lets a probe through, and it serves again.
    const returned = await stack.startExtraWorker(
      victim ?? "",
      victim === stack.workerId ? workerPortOf(stack) : secondPort,
    );
    expect(returned.workerId).toBe(victim);
    let servedAgain = false;
    const deadline = Date.now() + 20_000;
    while (!servedAgain && Date.now() < deadline) {
      // Enough concurrent clients that the loaded survivor is visibly busier than the returned worker.
      const round = await steadyLoad(
        6,
        (() => {
          const until = Date.now() + 500;
          return () => Date.now() > until;
        })(),
      );
      expect(round.filter((a) => a.status !== 200)).toEqual([]);
      servedAgain = round.some((a) => a.worker === victim);
    }
    expect(servedAgain).toBe(true);
    expect((await workerView(victim ?? ""))?.circuit).toBe("closed");
  });
});

function workerPortOf(running: LocalStack): number {
  return Number(new URL(running.workerUrl).port);
}
