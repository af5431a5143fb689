/**
 * OpenAI request → modelgate `GenerateRequest`. Errors name fields the way the client wrote
 * them (`max_tokens`, `modelgate.top_k`, `messages.0.content.1.type`), not modelgate's names.
 */
import {
  type ChatMessage,
  type FieldProblem,
  type GenerateRequest,
  GenerateRequestSchema,
  ModelgateError,
} from "@modelgate/shared";
import type { z } from "zod";
import type { ChatCompletionRequest, OpenAiChatMessage, TextCompletionRequest } from "./openai-schemas.js";

export interface TranslatedRequest {
  generate: GenerateRequest;
  /** A `GenerateRequest` field → the client's field that set it (top-level names only). */
  fieldNames: Readonly<Record<string, string>>;
  stream: boolean;
  includeUsage: boolean;
}

const dotted = (path: readonly PropertyKey[]) => path.map(String).join(".");

/**
 * One zod issue as field problems: an unknown key is named itself, and a union (`content`,
 * `stop`, `prompt`) reports the branch the value's type chose rather than "Invalid input".
 */
function fieldProblemsOf(issue: z.core.$ZodIssue, prefix: readonly PropertyKey[]): FieldProblem[] {
  const path = [...prefix, ...issue.path];
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => ({ field: dotted([...path, key]), message: "unknown field, not supported here" }));
  }
  if (issue.code === "invalid_union" && issue.errors.length > 0) {
    const wrongType = (branch: z.core.$ZodIssue[]) =>
      branch.length === 1 && branch[0]?.code === "invalid_type" && branch[0].path.length === 0;
    const chosen = issue.errors.filter((branch) => !wrongType(branch));
    const [branch] = chosen;
    if (chosen.length === 1 && branch) return branch.flatMap((inner) => fieldProblemsOf(inner, path));
    const expected = issue.errors.flatMap((b) => (b[0]?.code === "invalid_type" ? [b[0].expected] : []));
    if (expected.length === issue.errors.length) {
      return [{ field: dotted(path), message: `Invalid input: expected ${expected.join(" or ")}` }];
    }
  }
  return [{ field: dotted(path), message: issue.message }];
}

function validationFailure(what: string, problems: FieldProblem[]): ModelgateError {
  const named = problems.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message)).join("; ");
  return new ModelgateError("validation_failed", `Invalid ${what}: ${named}`, problems);
}

/** Validates an OpenAI body with its schema, naming each field at fault. */
export function parseOpenAiRequest<S extends z.ZodType>(raw: unknown, schema: S, what: string): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw validationFailure(
    what,
    parsed.error.issues.flatMap((issue) => fieldProblemsOf(issue, [])),
  );
}

function renameField(field: string, fieldNames: Readonly<Record<string, string>>): string {
  const [head = "", ...rest] = field.split(".");
  const client = fieldNames[head];
  return client === undefined ? field : [client, ...rest].join(".");
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Renames an error's fields (and their mentions in its detail) from modelgate's names to the
 * client's: `max_new_tokens` → `max_tokens`, `judge.model` → `modelgate.judge.model`.
 */
export function withClientFieldNames<E>(error: E, fieldNames: Readonly<Record<string, string>>): E | ModelgateError {
  if (!(error instanceof ModelgateError) || error.fieldErrors === undefined) return error;
  let detail = error.message;
  const renamed = error.fieldErrors.map((problem) => {
    const field = renameField(problem.field, fieldNames);
    if (field !== problem.field) {
      // Whole field names only: `max_new_tokens` but not the one inside `runtime_config.max_new_tokens`.
      detail = detail.replace(new RegExp(`(?<![\\w.])${escapeRegExp(problem.field)}(?![\\w])`, "g"), field);
    }
    return { ...problem, field };
  });
  return new ModelgateError(error.code, detail, renamed, {
    ...(error.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.retryAfterSeconds }),
  });
}

type SamplingFields = Pick<
  ChatCompletionRequest,
  "temperature" | "top_p" | "seed" | "stop" | "stream" | "stream_options" | "modelgate"
>;

const MODELGATE_FIELD_NAMES: Record<string, string> = {
  min_new_tokens: "modelgate.min_new_tokens",
  top_k: "modelgate.top_k",
  repetition_penalty: "modelgate.repetition_penalty",
  runtime_config: "modelgate.runtime_config",
  judge: "modelgate.judge",
  include_latent: "modelgate.include_latent",
};

/** Drops absent (`undefined`) and OpenAI-null fields, so the forwarded body carries only what was set. */
function present<T extends object>(fields: { [K in keyof T]?: T[K] | null }): Partial<T> {
  return Object.fromEntries(
    Object.entries(fields).filter(([, value]) => value !== undefined && value !== null),
  ) as Partial<T>;
}

function translate(
  request: SamplingFields,
  prompt: Pick<GenerateRequest, "prompt" | "messages">,
  model: string,
  maxTokens: { value: number | undefined; field: string },
  what: string,
): TranslatedRequest {
  const fieldNames: Record<string, string> = { ...MODELGATE_FIELD_NAMES, max_new_tokens: maxTokens.field };
  const candidate = {
    model,
    ...prompt,
    ...present<GenerateRequest>({
      max_new_tokens: maxTokens.value,
      temperature: request.temperature,
      top_p: request.top_p,
      seed: request.seed,
      stop: typeof request.stop === "string" ? [request.stop] : request.stop,
      stream: request.stream,
      ...request.modelgate,
    }),
  };
  // The cross-field rules (min ≤ max, one prompt form) and every range, exactly as /v1/generate applies them.
  const checked = GenerateRequestSchema.safeParse(candidate);
  if (!checked.success) {
    const problems = checked.error.issues
      .flatMap((issue) => fieldProblemsOf(issue, []))
      .map((problem) => ({ ...problem, field: renameField(problem.field, fieldNames) }));
    throw validationFailure(what, problems);
  }
  return {
    generate: checked.data,
    fieldNames,
    stream: request.stream === true,
    includeUsage: request.stream_options?.include_usage === true,
  };
}

function chatMessage(message: OpenAiChatMessage): ChatMessage {
  return {
    role: message.role === "developer" ? "system" : message.role,
    content: typeof message.content === "string" ? message.content : message.content.map((p) => p.text).join("\n"),
  };
}

/** The one `max_new_tokens` from OpenAI's two names for it. */
function chatMaxTokens(request: ChatCompletionRequest): { value: number | undefined; field: string } {
  const { max_completion_tokens: current, max_tokens: legacy } = request;
  if (current != null && legacy != null && current !== legacy) {
    throw new ModelgateError(
      "validation_failed",
      "Invalid chat completion request: max_completion_tokens and max_tokens differ; give one of them.",
      [{ field: "max_completion_tokens", message: "differs from max_tokens; give one of them" }],
    );
  }
  if (current != null) return { value: current, field: "max_completion_tokens" };
  return { value: legacy ?? undefined, field: "max_tokens" };
}

export function translateChatCompletionRequest(request: ChatCompletionRequest): TranslatedRequest {
  return translate(
    request,
    { messages: request.messages.map(chatMessage) },
    request.model,
    chatMaxTokens(request),
    "chat completion request",
  );
}

export function translateTextCompletionRequest(request: TextCompletionRequest): TranslatedRequest {
  const prompt = typeof request.prompt === "string" ? request.prompt : request.prompt[0];
  return translate(
    request,
    { prompt },
    request.model,
    { value: request.max_tokens ?? undefined, field: "max_tokens" },
    "completion request",
  );
}
