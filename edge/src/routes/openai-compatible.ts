/**
 * The OpenAI-compatible API: `POST /v1/chat/completions` and `POST /v1/completions`, translated
 * to and from modelgate's generate request, routed like `/v1/generate`. (`GET /v1/models` is
 * the registry search, whose answer is also OpenAI's model list: see routes/models.ts.)
 */
import { GenerateResponseSchema, ModelgateError } from "@modelgate/shared";
import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../env.js";
import { readJsonBody } from "../http/json-body.js";
import { requireScope } from "../middleware/authenticate.js";
import { openAiProblemResponse, workerProblemAsError } from "../openai/openai-errors.js";
import {
  parseOpenAiRequest,
  type TranslatedRequest,
  translateChatCompletionRequest,
  translateTextCompletionRequest,
  withClientFieldNames,
} from "../openai/openai-request.js";
import {
  chatCompletion,
  chatCompletionChunks,
  newCompletionEnvelope,
  textCompletion,
  textCompletionChunks,
} from "../openai/openai-response.js";
import { ChatCompletionRequestSchema, TextCompletionRequestSchema } from "../openai/openai-schemas.js";
import { translateGenerationStream } from "../openai/openai-stream.js";
import { forwardGenerate } from "../routing/route-request.js";

type CompletionKind = "chat" | "text";

/** The worker's headers that say who answered and why (`x-modelgate-*`, `x-request-id`). */
function routingHeaders(upstream: Response): Headers {
  const headers = new Headers();
  for (const [name, value] of upstream.headers) {
    if (name.startsWith("x-modelgate-") || name === "x-request-id") headers.set(name, value);
  }
  return headers;
}

async function readWorkerJson(response: Response): Promise<unknown> {
  return response.json().catch(() => undefined);
}

async function complete(c: Context<AppEnv>, translated: TranslatedRequest, kind: CompletionKind): Promise<Response> {
  let upstream: Response;
  try {
    upstream = await forwardGenerate(c, translated.generate);
  } catch (error) {
    throw withClientFieldNames(error, translated.fieldNames);
  }
  if (!upstream.ok) {
    throw withClientFieldNames(workerProblemAsError(await readWorkerJson(upstream)), translated.fieldNames);
  }
  const envelope = newCompletionEnvelope(kind, upstream.headers.get("x-modelgate-model") ?? translated.generate.model);
  const headers = routingHeaders(upstream);

  if (translated.stream) {
    if (!upstream.body || !upstream.headers.get("content-type")?.startsWith("text/event-stream")) {
      await upstream.body?.cancel();
      throw new ModelgateError("upstream_failed", "The worker did not answer with a stream.");
    }
    headers.set("content-type", "text/event-stream; charset=utf-8");
    headers.set("cache-control", "no-cache");
    const chunks =
      kind === "chat"
        ? chatCompletionChunks(envelope, translated.includeUsage)
        : textCompletionChunks(envelope, translated.includeUsage);
    const body = translateGenerationStream(upstream.body, {
      chunks,
      judged: translated.generate.judge !== undefined,
      toolCalls: translated.toolCalls,
      includeUsage: translated.includeUsage,
      fieldNames: translated.fieldNames,
      instance: c.req.path,
    });
    return new Response(body, { status: 200, headers });
  }

  const generated = GenerateResponseSchema.safeParse(await readWorkerJson(upstream));
  if (!generated.success) {
    throw new ModelgateError("upstream_failed", "The worker's answer is not a generation modelgate understands.");
  }
  headers.set("content-type", "application/json");
  const body = kind === "chat" ? chatCompletion(envelope, generated.data) : textCompletion(envelope, generated.data);
  return new Response(JSON.stringify(body), { status: 200, headers });
}

export const openAiRoutes = new Hono<AppEnv>()
  .post("/v1/chat/completions", requireScope("infer"), async (c) => {
    const what = "chat completion request";
    const request = parseOpenAiRequest(await readJsonBody(c, z.unknown(), what), ChatCompletionRequestSchema, what);
    return complete(c, translateChatCompletionRequest(request), "chat");
  })
  .post("/v1/completions", requireScope("infer"), async (c) => {
    const what = "completion request";
    const request = parseOpenAiRequest(await readJsonBody(c, z.unknown(), what), TextCompletionRequestSchema, what);
    return complete(c, translateTextCompletionRequest(request), "text");
  })
  // Problems here also carry OpenAI's `error` member, which OpenAI clients show.
  .onError(openAiProblemResponse);
