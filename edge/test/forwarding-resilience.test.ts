/**
 * Forwarding under failure: a worker that keeps failing opens its circuit and stops being
 * tried, a stream cut before its last event ends with an explicit error event, and every
 * routed answer says how long the edge itself took.
 */

import { ModelgateError } from "@modelgate/shared";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { guardEventStream } from "../src/forwarding/guard-event-stream.js";
import {
  ADMIN,
  callThroughSelf,
  causalLmRegistration,
  registerAndPromote,
  resetEdge,
  sendHeartbeat,
} from "./support/requests.js";

beforeEach(async () => {
  await registerAndPromote("demo-lm", causalLmRegistration());
});
afterEach(() => resetEdge());

const generate = () =>
  callThroughSelf("POST", "/v1/generate", { key: ADMIN, body: { model: "demo-lm", prompt: "hi", max_new_tokens: 2 } });

async function circuitOf(workerId: string): Promise<string | undefined> {
  const response = await callThroughSelf("GET", "/v1/workers", { key: ADMIN });
  const { workers } = (await response.json()) as { workers: { heartbeat: { worker_id: string }; circuit?: string }[] };
  return workers.find((w) => w.heartbeat.worker_id === workerId)?.circuit;
}

describe("circuit breaker", () => {
  it("stops trying a worker after three failed forwards, and reports its circuit open", async () => {
    // The failing worker looks best (empty queue), so it is tried first every time.
    await sendHeartbeat({ worker_id: "flaky", url: inject("failingWorkerUrl"), queue_depth: 0 });
    await sendHeartbeat({ worker_id: "steady", url: inject("standInWorkerUrl"), queue_depth: 5 });
    for (let i = 0; i < 3; i++) {
      const response = await generate();
      expect(response.status).toBe(200);
      expect(response.headers.get("x-modelgate-worker")).toBe("steady");
      expect(response.headers.get("x-modelgate-route-reason")).toContain("after 1 failed attempt");
      await response.body?.cancel();
    }
    // Outcomes are recorded after the response; wait for the third to land.
    for (let i = 0; i < 50 && (await circuitOf("flaky")) !== "open"; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await circuitOf("flaky")).toBe("open");
    expect(await circuitOf("steady")).toBe("closed");
    const next = await generate();
    expect(next.headers.get("x-modelgate-worker")).toBe("steady");
    expect(next.headers.get("x-modelgate-route-reason")).not.toContain("failed attempt");
    await next.body?.cancel();
  });

  it("says how long the edge itself took", async () => {
    await sendHeartbeat({ worker_id: "steady", url: inject("standInWorkerUrl") });
    const response = await generate();
    const overhead = Number(response.headers.get("x-modelgate-overhead-ms"));
    expect(Number.isFinite(overhead)).toBe(true);
    expect(overhead).toBeGreaterThanOrEqual(0);
    await response.body?.cancel();
  });
});

describe("guardEventStream", () => {
  const encoder = new TextEncoder();
  const problem = (reason: string) => new ModelgateError("upstream_failed", reason).toProblem("/v1/generate");

  function upstream(chunks: string[], end: "close" | "error"): ReadableStream<Uint8Array> {
    let index = 0;
    return new ReadableStream({
      pull(controller) {
        const chunk = chunks[index++];
        if (chunk !== undefined) controller.enqueue(encoder.encode(chunk));
        else if (end === "close") controller.close();
        else controller.error(new Error("connection reset"));
      },
    });
  }

  const read = (stream: ReadableStream<Uint8Array>) => new Response(stream).text();

  it("passes a complete stream through unchanged", async () => {
    const events = ['event: token\ndata: {"loop":1,"text":"a"}\n\n', "event: do", 'ne\ndata: {"text":"a"}\n\n'];
    expect(await read(guardEventStream(upstream(events, "close"), problem))).toBe(events.join(""));
  });

  it("ends a stream that closed before its last event with an error event", async () => {
    const text = await read(
      guardEventStream(upstream(['event: token\ndata: {"loop":1,"text":"a"}\n\n'], "close"), problem),
    );
    expect(text).toMatch(/event: token[\s\S]*event: error\ndata: \{.*"status":502.*\}\n\n$/);
  });

  it("ends a stream that broke off with an error event instead of failing the client's read", async () => {
    const text = await read(
      guardEventStream(upstream(['event: token\ndata: {"loop":1,"text":"a"}\n\n'], "error"), problem),
    );
    expect(text).toContain("event: error");
    expect(text).toContain("broke off");
  });
});
