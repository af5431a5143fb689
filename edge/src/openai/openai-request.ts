/**
 * OpenAI request → modelgate `GenerateRequest`. Errors name fields the way the client wrote
 * them (`max_tokens`, `modelgate.top_k`, `messages.0.content.1.type`), not modelgate's names.
 */
import {
  type ChatMessage,
  type ConstraintSpec,
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
  /** The answer may be tool calls (tools given, tool_choice not `none`). */
  toolCalls: boolean;
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

/** The client's name for a field: the longest dotted prefix that `fieldNames` maps, renamed. */
function renameField(field: string, fieldNames: Readonly<Record<string, string>>): string {
  const parts = field.split(".");
  for (let length = parts.length; length >= 1; length--) {
    const client = fieldNames[parts.slice(0, length).join(".")];
    if (client !== undefined) return [client, ...parts.slice(length)].join(".");
  }
  return field;
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
  constraint: { spec: ConstraintSpec; fieldNames: Record<string, string> } | undefined = undefined,
): TranslatedRequest {
  const fieldNames: Record<string, string> = {
    ...MODELGATE_FIELD_NAMES,
    max_new_tokens: maxTokens.field,
    ...constraint?.fieldNames,
  };
  const candidate = {
    model,
    ...prompt,
    ...(constraint === undefined ? {} : { constraint: constraint.spec }),
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
    toolCalls: constraint?.spec.type === "tool_calls" && constraint.spec.tool_choice !== "none",
  };
}

/**
 * An OpenAI message as a chat turn. Tool calls' arguments (JSON strings) become objects, as chat
 * templates read them; a `tool` turn gets the name of the call it answers.
 */
function chatMessage(message: OpenAiChatMessage, index: number, messages: readonly OpenAiChatMessage[]): ChatMessage {
  const field = `messages.${index}`;
  const content = message.content;
  if ((content === null || content === undefined) && !(message.role === "assistant" && message.tool_calls)) {
    throw invalidChat(`${field}.content`, "is required (null only in an assistant message with tool_calls)");
  }
  const text = content == null ? "" : typeof content === "string" ? content : content.map((p) => p.text).join("\n");
  if (message.tool_calls && message.role !== "assistant")
    throw invalidChat(`${field}.tool_calls`, "only assistant messages carry tool calls");
  if (message.role === "tool" && message.tool_call_id === undefined)
    throw invalidChat(`${field}.tool_call_id`, "is required in a tool message");
  const turn: ChatMessage = { role: message.role === "developer" ? "system" : message.role, content: text };
  if (message.tool_calls) {
    turn.tool_calls = message.tool_calls.map((call, j) => {
      let args: unknown;
      try {
        args = JSON.parse(call.function.arguments);
      } catch {
        args = undefined;
      }
      if (typeof args !== "object" || args === null || Array.isArray(args)) {
        throw invalidChat(`${field}.tool_calls.${j}.function.arguments`, "must be a JSON object, as a string");
      }
      return {
        id: call.id,
        type: "function",
        function: { name: call.function.name, arguments: args as Record<string, unknown> },
      };
    });
  }
  if (message.role === "tool" && message.tool_call_id !== undefined) {
    turn.tool_call_id = message.tool_call_id;
    const called = messages
      .slice(0, index)
      .flatMap((m) => m.tool_calls ?? [])
      .find((call) => call.id === message.tool_call_id);
    if (called) turn.name = called.function.name;
  }
  return turn;
}

function invalidChat(field: string, message: string): ModelgateError {
  return new ModelgateError("validation_failed", `Invalid chat completion request: ${field}: ${message}`, [
    { field, message },
  ]);
}

/**
 * `response_format` and `tools` / `tool_choice` / `parallel_tool_calls` as the engine's
 * constraint, with the client's names for every field inside it.
 */
function chatConstraint(
  request: ChatCompletionRequest,
): { spec: ConstraintSpec; fieldNames: Record<string, string> } | undefined {
  const format = request.response_format;
  const tools = request.tools;
  if (tools) {
    if (format && format.type !== "text") {
      throw invalidChat("response_format", "cannot be combined with tools: give one of them");
    }
    const choice = request.tool_choice;
    const fieldNames: Record<string, string> = {
      constraint: "tools",
      "constraint.tools": "tools",
      "constraint.tool_choice": "tool_choice",
      "constraint.tool_choice.name": "tool_choice.function.name",
    };
    tools.forEach((_, i) => {
      fieldNames[`constraint.tools.${i}`] = `tools.${i}.function`;
    });
    return {
      spec: {
        type: "tool_calls",
        tools: tools.map((tool) => ({
          name: tool.function.name,
          ...(tool.function.description === undefined ? {} : { description: tool.function.description }),
          ...(tool.function.parameters === undefined ? {} : { parameters: tool.function.parameters }),
        })),
        tool_choice: choice == null ? "auto" : typeof choice === "string" ? choice : { name: choice.function.name },
        parallel: request.parallel_tool_calls ?? true,
      },
      fieldNames,
    };
  }
  if (request.tool_choice != null) throw invalidChat("tool_choice", "needs tools");
  if (!format || format.type === "text") return undefined;
  if (format.type === "json_object") {
    return { spec: { type: "json_schema", schema: { type: "object" } }, fieldNames: { constraint: "response_format" } };
  }
  return {
    spec: { type: "json_schema", schema: format.json_schema.schema ?? {} },
    fieldNames: { constraint: "response_format", "constraint.schema": "response_format.json_schema.schema" },
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
    { messages: request.messages.map((message, i, all) => chatMessage(message, i, all)) },
    request.model,
    chatMaxTokens(request),
    "chat completion request",
    chatConstraint(request),
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
