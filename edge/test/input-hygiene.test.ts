import { createScheduledController, env, SELF } from "cloudflare:test";
import { PROBLEM_CONTENT_TYPE, UploadSessionSchema } from "@modelgate/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sweepAbandonedUploads } from "../src/artifacts/upload-session-sweep.js";
import edgeWorker from "../src/index.js";
import { examplePath, ROUTE_CATALOGUE, type RouteSpec } from "../src/openapi/route-catalogue.js";
import { ADMIN, call, causalLmRegistration, expectProblem, resetEdge, WORKER_TOKEN } from "./support/requests.js";
import { stringFields } from "./support/schema-string-fields.js";
import { contentAddressedKey } from "./support/test-artifacts.js";
import { putTestObject, sha256Of } from "./support/test-s3.js";

// One file, one workerd: the sweeps send a few hundred refused requests, then check that none
// of them wrote anything; the focused cases after them reset storage for themselves.
afterAll(() => resetEdge());

const routeName = (spec: RouteSpec) => `${spec.method} ${spec.path}`;
const keyFor = (spec: RouteSpec) =>
  spec.scope === "worker" ? WORKER_TOKEN : spec.scope === "public" ? undefined : ADMIN;
const hasJsonBody = (spec: RouteSpec) =>
  spec.body !== undefined && (spec.bodyContentType ?? "application/json") === "application/json";

/**
 * Inference requests carry model input (prompts, messages, stop sequences, tensors) to the model
 * verbatim and never store it: a prompt may hold any character its tokenizer reads. Only the
 * model they name is held to free text there.
 */
const MODEL_INPUT_ROUTES = new Set([
  "POST /v1/generate",
  "POST /v1/predict",
  "POST /predict",
  "POST /v1/chat/completions",
  "POST /v1/completions",
  "POST /v2/models/{model}/infer",
  "POST /v2/models/{model}/versions/{version}/infer",
]);
/** An evaluation's default judge is the same judge spec /v1/generate takes, given to the engine as is. */
const MODEL_INPUT_FIELDS: Record<string, RegExp> = { "POST /v1/evaluations": /^judge\./ };
const isModelInput = (spec: RouteSpec, path: string) =>
  (MODEL_INPUT_ROUTES.has(routeName(spec)) || (MODEL_INPUT_FIELDS[routeName(spec)]?.test(path) ?? false)) &&
  !/(^|\.)model$/.test(path);

/** Everything a refused request could have written: R2 objects, API keys, conversion jobs. */
async function storedState(): Promise<string[]> {
  const objects: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.REGISTRY.list({ cursor, limit: 1000 });
    objects.push(...page.objects.map((object) => `r2 ${object.key} ${object.etag}`));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  const keys = await (await call("GET", "/v1/keys", { key: ADMIN })).text();
  const jobs = await (await call("GET", "/v1/conversions", { key: ADMIN })).text();
  return [...objects.sort(), `keys ${keys}`, `conversions ${jobs}`];
}

/** Status and the fields a refusal names: problem+json's `errors[]`, or a V2 `{"error"}` text. */
async function refusal(response: Response): Promise<{ status: number; fields: string[]; text: string }> {
  const text = await response.text();
  if (!(response.headers.get("content-type") ?? "").startsWith(PROBLEM_CONTENT_TYPE)) {
    return { status: response.status, fields: [], text };
  }
  const problem = JSON.parse(text) as { errors?: { field: string }[] };
  return { status: response.status, fields: (problem.errors ?? []).map((error) => error.field), text };
}

const namesField = (got: { fields: string[]; text: string }, spec: RouteSpec, field: string) =>
  spec.path.startsWith("/v2") ? got.text.includes(field) : got.fields.includes(field);

const describeRefusal = (spec: RouteSpec, what: string, got: { status: number; text: string }) =>
  `${routeName(spec)} ${what}: ${got.status} ${got.text.slice(0, 200)}`;

describe("every route of the catalogue refuses bad input and writes nothing", () => {
  let before: string[];
  beforeAll(async () => {
    before = await storedState();
  });

  const bodyFields = ROUTE_CATALOGUE.filter(hasJsonBody).flatMap((spec) =>
    stringFields(spec.body as NonNullable<RouteSpec["body"]>)
      .filter((field) => !isModelInput(spec, field.path))
      .map((field) => ({ spec, field })),
  );

  it(`refuses NUL and other control characters in each of the ${bodyFields.length} free-text body fields, naming the field`, async () => {
    const unrefused: string[] = [];
    // NUL, ESC (C0) and NEL (C1) in turn: one request per field keeps the sweep to a few seconds.
    const badText = ["a\u0000b", "a\u001bb", "a\u0085b"];
    for (const [index, { spec, field }] of bodyFields.entries()) {
      const bad = badText[index % badText.length] ?? "\u0000";
      const response = await call(spec.method, examplePath(spec), { key: keyFor(spec), body: field.bodyWith(bad) });
      const got = await refusal(response);
      if (got.status !== 400 || !namesField(got, spec, field.path)) {
        unrefused.push(describeRefusal(spec, `${field.path}=${JSON.stringify(bad)}`, got));
      }
    }
    expect(unrefused).toEqual([]);
  });

  it("refuses a query parameter a route does not take, on every route, naming it", async () => {
    const unrefused: string[] = [];
    for (const spec of ROUTE_CATALOGUE) {
      const response = await call(spec.method, `${examplePath(spec)}?mg_junk=1`, { key: keyFor(spec) });
      const got = await refusal(response);
      if (got.status !== 400 || !namesField(got, spec, "mg_junk"))
        unrefused.push(describeRefusal(spec, "?mg_junk=1", got));
    }
    expect(unrefused).toEqual([]);
  });

  const queryParams = ROUTE_CATALOGUE.flatMap((spec) =>
    spec.query ? Object.keys(spec.query.shape).map((name) => ({ spec, name })) : [],
  );

  it(`refuses NUL in each of the ${queryParams.length} query parameters, and any parameter given twice`, async () => {
    const unrefused: string[] = [];
    for (const { spec, name } of queryParams) {
      const textual = stringFields((spec.query as NonNullable<RouteSpec["query"]>).shape[name]).length > 0;
      const cases = [...(textual ? [`${name}=a%00b`, `${name}=%1b`] : []), `${name}=1&${name}=2`];
      for (const query of cases) {
        const response = await call(spec.method, `${examplePath(spec)}?${query}`, { key: keyFor(spec) });
        const got = await refusal(response);
        if (got.status !== 400 || !namesField(got, spec, name)) unrefused.push(describeRefusal(spec, `?${query}`, got));
      }
    }
    expect(unrefused).toEqual([]);
  });

  it("stored nothing for any of those requests", async () => {
    expect(await storedState()).toEqual(before);
  });
});

async function registerVersion(name: string, extra: Record<string, unknown> = {}): Promise<Response> {
  return call("POST", `/v1/models/${name}/versions`, { key: ADMIN, body: causalLmRegistration(extra) });
}

describe("free text", () => {
  it("keeps what people type: line breaks and tabs in notes, any script and emoji in names", async () => {
    const notes = "Trained on\n\tthe 2024 split — ünïcödé, 日本語, 🚀";
    const registered = await registerVersion("free-text-kept", { notes, display_name: "Ünïcödé 🚀 model" });
    expect(registered.status, await registered.clone().text()).toBe(201);
    const model = (await (await call("GET", "/v1/models/free-text-kept", { key: ADMIN })).json()) as {
      versions: { notes?: string; display_name?: string }[];
    };
    expect(model.versions[0]?.notes).toBe(notes);
    expect(model.versions[0]?.display_name).toBe("Ünïcödé 🚀 model");
  });

  it("refuses a line break in one-line text (a display name), and an unpaired surrogate anywhere", async () => {
    const lineBreak = await expectProblem(await registerVersion("one-line", { display_name: "two\nlines" }), 400);
    expect(lineBreak.errors).toContainEqual({
      field: "display_name",
      message: "must not contain control characters: a control character (U+000A) at character 4",
    });
    const surrogate = await expectProblem(
      await call("POST", "/v1/models/one-line/versions", {
        key: ADMIN,
        rawBody: JSON.stringify(causalLmRegistration()).replace(/}$/, ',"notes":"half \\ud83d of an emoji"}'),
      }),
      400,
    );
    expect(surrogate.errors?.map((error) => error.field)).toEqual(["notes"]);
    expect(await env.REGISTRY.get("registry/models/one-line.json")).toBeNull();
  });

  it("reads a record stored before these checks with its control characters shown as U+FFFD", async () => {
    expect((await registerVersion("stored-before")).status).toBe(201);
    const key = "registry/models/stored-before.json";
    const stored = (await (await env.REGISTRY.get(key))?.json()) as { versions: { notes?: string }[] };
    const [version] = stored.versions;
    if (!version) throw new Error("no version stored");
    version.notes = "old\u0000note";
    await env.REGISTRY.put(key, JSON.stringify(stored));
    const response = await call("GET", "/v1/models/stored-before", { key: ADMIN });
    expect(response.status).toBe(200);
    const model = (await response.json()) as { versions: { notes?: string }[] };
    expect(model.versions[0]?.notes).toBe("old\uFFFDnote");
  });
});

describe("GET /v1/models?q=", () => {
  it("searches with q, refuses a NUL in it rather than listing every version, and needs models:read", async () => {
    expect((await registerVersion("searched-alpha", { description: "the alpha model" })).status).toBe(201);
    expect((await registerVersion("searched-beta", { description: "the beta model" })).status).toBe(201);
    const found = (await (await call("GET", "/v1/models?q=alpha", { key: ADMIN })).json()) as {
      items: { name: string }[];
    };
    expect(found.items.map((item) => item.name)).toEqual(["searched-alpha"]);
    for (const q of ["%00", "alpha%00", "%07"]) {
      const problem = await expectProblem(await call("GET", `/v1/models?q=${q}`, { key: ADMIN }), 400);
      expect(problem.errors?.map((error) => error.field)).toEqual(["q"]);
    }
    await expectProblem(await call("GET", "/v1/models?q=%00"), 401);
  });
});

describe("JSON bodies", () => {
  const keyBody = (name: string) => JSON.stringify({ name, scopes: ["models:read"] });
  const keyNames = async () =>
    ((await (await call("GET", "/v1/keys", { key: ADMIN })).json()) as { keys: { name: string }[] }).keys.map(
      (key) => key.name,
    );

  it("strips one leading byte-order mark and reads the JSON after it", async () => {
    const response = await call("POST", "/v1/keys", { key: ADMIN, rawBody: `\uFEFF${keyBody("after-a-bom")}` });
    expect(response.status, await response.clone().text()).toBe(201);
    expect(await keyNames()).toContain("after-a-bom");
  });

  it("refuses a second byte-order mark, and bytes that are not UTF-8, writing nothing", async () => {
    const twoMarks = await expectProblem(
      await call("POST", "/v1/keys", { key: ADMIN, rawBody: `\uFEFF\uFEFF${keyBody("two-boms")}` }),
      400,
    );
    expect(twoMarks.code).toBe("bad_request");
    const latin1 = new Uint8Array([
      ...new TextEncoder().encode('{"name":"caf'),
      0xe9,
      ...new TextEncoder().encode('","scopes":["models:read"]}'),
    ]);
    const notUtf8 = await expectProblem(
      await SELF.fetch("https://edge.test/v1/keys", {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
        body: latin1,
      }),
      400,
    );
    expect(notUtf8.detail).toContain("not UTF-8");
    expect(await keyNames()).not.toContain("two-boms");
    expect((await keyNames()).some((name) => name.startsWith("caf"))).toBe(false);
  });

  it("refuses a key given twice, naming it by its path, at the top level and nested", async () => {
    const top = await expectProblem(
      await call("POST", "/v1/keys", {
        key: ADMIN,
        rawBody: '{"name":"first","scopes":["models:read"],"name":"second"}',
      }),
      400,
    );
    expect(top.errors).toEqual([{ field: "name", message: "the key is given more than once; send each key once" }]);
    const registration = JSON.stringify(causalLmRegistration({ metrics: { val_acc: 0.9 } }));
    const nested = await expectProblem(
      await call("POST", "/v1/models/twice/versions", {
        key: ADMIN,
        rawBody: registration.replace('"val_acc":0.9', '"val_acc":0.9,"val\\u005facc":0.1'),
      }),
      400,
    );
    expect(nested.errors?.map((error) => error.field)).toEqual(["metrics.val_acc"]);
    expect(await keyNames()).not.toContain("second");
    expect(await env.REGISTRY.get("registry/models/twice.json")).toBeNull();
  });
});

describe("upload sessions", () => {
  const listSessions = async () =>
    (await env.REGISTRY.list({ prefix: "registry/uploads/" })).objects.map((object) => object.key);

  async function startUpload(content: Uint8Array, query = ""): Promise<Response> {
    return call("POST", `/v1/uploads${query}`, {
      key: ADMIN,
      body: { sha256: await sha256Of(content), bytes: content.byteLength },
    });
  }

  it("are created only by a valid request: a junk query string leaves no session behind", async () => {
    const content = crypto.getRandomValues(new Uint8Array(1000));
    const before = await listSessions();
    const problem = await expectProblem(await startUpload(content, "?sha256=deadbeef"), 400);
    expect(problem.errors?.map((error) => error.field)).toEqual(["sha256"]);
    await expectProblem(await startUpload(content, "?bytes=1&bytes=2"), 400);
    expect(await listSessions()).toEqual(before);
    expect((await startUpload(content)).status).toBe(201);
    expect(await listSessions()).toHaveLength(before.length + 1);
  });

  it("expire, and the sweep deletes abandoned ones (asking S3 to abort multipart uploads) but keeps the rest", async () => {
    await resetEdge();
    const single = crypto.getRandomValues(new Uint8Array(1000));
    const multipart = crypto.getRandomValues(new Uint8Array(5000));
    const finished = crypto.getRandomValues(new Uint8Array(1200));
    const [singleId, multipartId, finishedId] = await Promise.all(
      [single, multipart, finished].map(async (content) => {
        const response = await startUpload(content);
        expect(response.status).toBe(201);
        return ((await response.json()) as { id: string }).id;
      }),
    );
    await putTestObject(contentAddressedKey(await sha256Of(finished)), finished);
    expect((await call("POST", `/v1/uploads/${finishedId}/complete`, { key: ADMIN })).status).toBe(200);
    const multipartSession = UploadSessionSchema.parse(
      await (await env.REGISTRY.get(`registry/uploads/${multipartId}.json`))?.json(),
    );
    expect(multipartSession.s3_upload_id).toBeDefined();
    const expiresAt = Date.parse(multipartSession.expires_at ?? "");

    // Within their time (MODELGATE_UPLOAD_URL_TTL_SECONDS) every session stays.
    expect(await sweepAbandonedUploads(env, Date.now())).toEqual({
      swept: 0,
      aborted: 0,
      abortsUnconfirmed: 0,
      kept: 3,
    });

    // Past it, the two pending ones go. s3rver does not implement AbortMultipartUpload (it answers
    // 405), so S3's confirmation is missing here and counted as such; S3 and R2 answer 204.
    expect(await sweepAbandonedUploads(env, expiresAt + 1000)).toEqual({
      swept: 2,
      aborted: 0,
      abortsUnconfirmed: 1,
      kept: 1,
    });
    for (const id of [singleId, multipartId]) {
      await expectProblem(await call("GET", `/v1/uploads/${id}`, { key: ADMIN }), 404);
    }
    const kept = (await (await call("GET", `/v1/uploads/${finishedId}`, { key: ADMIN })).json()) as { status: string };
    expect(kept.status).toBe("complete");
  });

  it("are swept by the edge's cron trigger", async () => {
    const response = await startUpload(crypto.getRandomValues(new Uint8Array(800)));
    const { id, expires_at } = (await response.json()) as { id: string; expires_at: string };
    // The Worker's own scheduled handler, as the cron trigger calls it.
    const runCron = (scheduledTime: number) =>
      edgeWorker.scheduled(createScheduledController({ scheduledTime, cron: "*/15 * * * *" }), env);
    await runCron(Date.now());
    expect((await call("GET", `/v1/uploads/${id}`, { key: ADMIN })).status).toBe(200);
    await runCron(Date.parse(expires_at) + 1000);
    await expectProblem(await call("GET", `/v1/uploads/${id}`, { key: ADMIN }), 404);
  });
});
