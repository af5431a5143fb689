/**
 * Issue 17's resilience check on the real stack: two enrolled workers restarted one after the
 * other with SIGTERM (as systemd or a rolling deploy does) under steady load and a streaming
 * load. Each drains by itself — it tells the edge at once, finishes the stream it is serving,
 * waits out a quiet moment, exits 0 — so no request fails and no stream is cut.
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

const HEARTBEAT_MS = 1000;
const SECOND_WORKER = "local-cpu-1";

let dataDir: string;
let stack: LocalStack;
const workers = new Map<string, { process: GpuWorkerProcess; port: number }>();

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "modelgate-rolling-"));
  const ports = await freeStackPorts();
  stack = await startLocalStack({
    dataDir,
    ...ports,
    gpuMonitorIntervalMs: HEARTBEAT_MS,
    // Longer than the edge's routing-view cache (250 ms) plus a heartbeat's trip.
    workerEnv: { MODELGATE_DRAIN_QUIET_MS: "1000" },
  });
  workers.set(stack.workerId, { process: stack.worker, port: ports.workerPort });
  const secondPort = await freePort();
  workers.set(SECOND_WORKER, { process: await stack.startExtraWorker(SECOND_WORKER, secondPort), port: secondPort });
});

afterAll(async () => {
  await stack?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

function generate(body: object): Promise<Response> {
  return fetch(`${stack.edgeUrl}/v1/generate`, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.adminKey}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

interface Outcome {
  status: number;
  worker: string | null;
  /** For streams: ended with `event: done` and no error event. */
  completeStream?: boolean;
  detail?: string;
}

/** A stream's whole text; a connection dropped mid-way reads as such rather than throwing. */
async function readStream(response: Response): Promise<string> {
  try {
    return response.status === 200 ? await response.text() : `status ${response.status}: ${await response.text()}`;
  } catch (error) {
    return `connection dropped: ${String(error)}`;
  }
}

const streamEndedCleanly = (text: string) => text.includes("event: done") && !text.includes("event: error");

/** Non-streamed generations and streams in loops until `until()` says stop. */
function load(until: () => boolean): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const steady = async () => {
    while (!until()) {
      try {
        const response = await generate({ model: "ref-decoder", prompt: "Rolling", max_new_tokens: 8 });
        const text = await response.text();
        outcomes.push({
          status: response.status,
          worker: response.headers.get("x-modelgate-worker"),
          ...(response.status === 200 ? {} : { detail: text.slice(0, 300) }),
        });
      } catch (error) {
        outcomes.push({ status: 0, worker: null, detail: String(error) });
      }
    }
  };
  const streaming = async () => {
    while (!until()) {
      try {
        const response = await generate({ model: "demo-lm", prompt: "Rolling", max_new_tokens: 100, stream: true });
        const text = await readStream(response);
        outcomes.push({
          status: response.status,
          worker: response.headers.get("x-modelgate-worker"),
          completeStream: streamEndedCleanly(text),
          ...(streamEndedCleanly(text) ? {} : { detail: text.slice(-300) }),
        });
      } catch (error) {
        outcomes.push({ status: 0, worker: null, completeStream: false, detail: String(error) });
      }
    }
  };
  // Light enough that the restarted worker boots quickly on two shared cores, steady all the same.
  return Promise.all([steady(), steady(), streaming()]).then(() => outcomes);
}

async function drainState(id: string): Promise<string | undefined> {
  const response = await fetch(`${stack.edgeUrl}/v1/workers`, {
    headers: { authorization: `Bearer ${stack.adminKey}` },
  });
  const { workers: listed } = (await response.json()) as {
    workers: { heartbeat: { worker_id: string }; drain_state?: string }[];
  };
  return listed.find((w) => w.heartbeat.worker_id === id)?.drain_state;
}

/** A long stream that landed on `id` (asked until one does), with its first event read. */
async function streamOn(id: string): Promise<ReadableStreamDefaultReader<Uint8Array>> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const response = await generate({ model: "demo-lm", prompt: "Drain me", max_new_tokens: 500, stream: true });
    if (response.headers.get("x-modelgate-worker") === id) {
      const reader = response.body?.getReader();
      if (!reader) throw new Error("no stream body");
      await reader.read();
      return reader;
    }
    await response.body?.cancel();
  }
  throw new Error(`no stream landed on ${id}`);
}

async function readRest(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  try {
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += decoder.decode(chunk.value);
  } catch (error) {
    text += `connection dropped: ${String(error)}`;
  }
  return text;
}

describe("a rolling restart of two workers under load", () => {
  it("fails no request and cuts no stream", async () => {
    // Warm both workers with both models, so either may serve while the other restarts.
    await Promise.all(
      Array.from({ length: 6 }, async (_, i) =>
        (await generate({ model: i % 2 ? "demo-lm" : "ref-decoder", prompt: "hi", max_new_tokens: 2 })).text(),
      ),
    );
    let stop = false;
    const running = load(() => stop);
    const exitCodes: Array<number | null> = [];
    const drainedStreams: boolean[] = [];

    for (const [id, worker] of workers) {
      const inFlight = await streamOn(id);
      const exited = worker.process.terminate();
      // The edge hears of the drain at once: the worker leaves routing before it exits.
      const deadline = Date.now() + 5000;
      while ((await drainState(id)) !== "draining" && (await drainState(id)) !== "drained") {
        if (Date.now() > deadline) throw new Error(`${id} never reported draining`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      drainedStreams.push(streamEndedCleanly(await readRest(inFlight)));
      exitCodes.push(await exited);
      worker.process = await stack.startExtraWorker(id, worker.port);
    }
    stop = true;
    const outcomes = await running;

    expect(exitCodes).toEqual([0, 0]);
    expect(drainedStreams).toEqual([true, true]);
    expect(outcomes.filter((o) => o.status !== 200 || o.completeStream === false)).toEqual([]);
    expect(outcomes.filter((o) => o.completeStream === true).length).toBeGreaterThan(2);
    expect(outcomes.length).toBeGreaterThan(10);
    // Both restarted workers serve again.
    expect(await drainState(stack.workerId)).toBe("serving");
    expect(await drainState(SECOND_WORKER)).toBe("serving");
  });
});
