/**
 * `modelgate workers enroll|cordon|drain|uncordon|revoke` against the shared test stack. The
 * worker here is a stand-in enrolled by the test (it heartbeats through the real edge route),
 * cordoned before its first heartbeat so the stack's routing never sees it.
 */
import { EnrolmentIssuedSchema, WorkerCredentialIssuedSchema, WorkerListEntrySchema } from "@modelgate/shared";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { CreatedApiKeySchema } from "../src/edge-client.js";
import { cli, parseJson, stack, uniqueName } from "./support/stack.js";

function heartbeat(workerId: string, inFlight: number) {
  return {
    worker_id: workerId,
    url: "http://127.0.0.1:9",
    sent_at: new Date().toISOString(),
    interval_ms: 5000,
    gpus: [
      {
        index: 0,
        uuid: "GPU-0",
        name: "stand-in",
        device: "cpu",
        utilization_gpu_pct: null,
        utilization_memory_pct: null,
        memory_used_mb: null,
        memory_total_mb: null,
        memory_free_mb: null,
        temperature_c: null,
        power_draw_w: null,
        power_limit_w: null,
      },
    ],
    loaded_models: [],
    queue_depth: 0,
    in_flight: inFlight,
    tokens_per_second: 0,
  };
}

async function post(path: string, body: unknown, key?: string): Promise<Response> {
  return fetch(`${stack().edgeUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify(body),
  });
}

describe("workers enroll, cordon, drain, uncordon, revoke", () => {
  it("takes a worker through its life with --json and human output", async () => {
    const id = uniqueName("box");
    const issued = parseJson(
      await cli(["workers", "enroll", id, "--url-pattern", "http://127.0.0.1:*", "--label", "gpu=a10", "--json"]),
      EnrolmentIssuedSchema,
    );
    expect(issued).toMatchObject({ worker_id: id, url_pattern: "http://127.0.0.1:*", labels: { gpu: "a10" } });
    const human = await cli(["workers", "enroll", id]);
    expect(human.stdout).toContain(`enrolment token for ${id}`);
    expect(human.stdout).toContain("MODELGATE_ENROLMENT_TOKEN");

    const exchanged = await post("/internal/workers/enrol", { enrolment_token: issued.enrolment_token });
    expect(exchanged.status).toBe(201);
    const { credential } = WorkerCredentialIssuedSchema.parse(await exchanged.json());

    const cordoned = await cli(["workers", "cordon", id]);
    expect(cordoned.code).toBe(0);
    expect(cordoned.stdout.trim()).toBe(`${id}: cordoned`);
    expect((await post("/internal/workers/heartbeat", heartbeat(id, 1), credential)).status).toBe(202);

    // Drain waits while work is in flight, reporting it, and ends when a heartbeat shows none.
    const draining = cli(["workers", "drain", id, "--timeout", "30", "--poll-ms", "100", "--json"]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await post("/internal/workers/heartbeat", heartbeat(id, 0), credential)).status).toBe(202);
    const drained = await draining;
    expect(drained.code, drained.stderr).toBe(0);
    expect(JSON.parse(drained.stdout)).toMatchObject({ worker_id: id, drain_state: "drained" });

    // Revoked at once: out of the listing, its credential refused.
    const revoked = await cli(["workers", "revoke", id]);
    expect(revoked.stdout).toContain(`revoked ${id}`);
    expect((await post("/internal/workers/heartbeat", heartbeat(id, 0), credential)).status).toBe(401);
    const listed = parseJson(
      await cli(["workers", "list", "--json"]),
      z.object({ workers: z.array(WorkerListEntrySchema) }),
    );
    expect(listed.workers.map((w) => w.heartbeat.worker_id)).not.toContain(id);
    // Uncordoned only once revoked, so this stand-in never becomes routable for the other files' requests.
    const uncordoned = await cli(["workers", "uncordon", id, "--json"]);
    expect(JSON.parse(uncordoned.stdout)).toMatchObject({ control: { cordoned: false } });
  });

  it("shows where a version is warm in models info, for keys that may see the fleet", async () => {
    expect((await cli(["generate", "demo-lm", "warm", "--max-new-tokens", "2"])).code).toBe(0);
    // The worker reports the model loaded with its next heartbeat (every second in this stack).
    const warmOn = new RegExp(`^Warm on: .*${stack().workerId}`, "m");
    let info = await cli(["models", "info", "demo-lm@production"]);
    for (let attempt = 0; attempt < 25 && !warmOn.test(info.stdout); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      info = await cli(["models", "info", "demo-lm@production"]);
    }
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(warmOn);
    const json = JSON.parse((await cli(["models", "info", "demo-lm@production", "--json"])).stdout) as object;
    expect(JSON.stringify(json)).not.toContain("Warm on");
    const reader = parseJson(
      await cli(["keys", "create", uniqueName("reader"), "--scopes", "models:read", "--json"]),
      CreatedApiKeySchema,
    );
    const asReader = await cli(["models", "info", "demo-lm@production"], { env: { MODELGATE_KEY: reader.key } });
    expect(asReader.code).toBe(0);
    expect(asReader.stdout).not.toContain("Warm on");
  });

  it("exits 4 for an unknown worker and 5 for a bad pattern, before anything changes", async () => {
    expect((await cli(["workers", "cordon", uniqueName("nobody")])).code).toBe(4);
    expect((await cli(["workers", "revoke", uniqueName("nobody")])).code).toBe(4);
    const bad = await cli(["workers", "enroll", uniqueName("box"), "--url-pattern", "ftp://x"]);
    expect(bad.code).toBe(5);
    expect(bad.stderr).toContain("url_pattern");
  });
});
