import {
  ChatCompletionRequestSchema,
  ChatCompletionSchema,
  TextCompletionRequestSchema,
  TextCompletionSchema,
} from "../openai/openai-schemas.js";
import { component, problemResponses, type RouteSpec } from "./route-spec.js";

const TAG = "OpenAI-compatible";

const OPENAI_PROBLEMS = problemResponses([404, 502, 503, 504], {
  404: "No such model, or it has no version matching the reference.",
});

const COMMON =
  "`model` is any modelgate reference (`name`, `name@3`, `name@production`, `name@<alias>`); routing, headers " +
  "(`x-modelgate-worker`, `x-modelgate-model`, `x-modelgate-route-reason`) and limits are those of `/v1/generate`. " +
  "`max_tokens`, `temperature`, `top_p`, `stop`, `seed` map onto the engine's knobs; `n` must be 1; " +
  "`frequency_penalty` / `presence_penalty` are only accepted as 0 (use `modelgate.repetition_penalty`); `user` is " +
  "ignored; any other unknown field is refused by name. modelgate's own options go in `modelgate` " +
  "(`runtime_config`, `judge`, `include_latent`, `top_k`, `repetition_penalty`, `min_new_tokens`), and its results " +
  "come back in `modelgate` (loops, stop reason, halt probability, efficiency). `usage` counts every loop's tokens; " +
  "drafts that are not the answer are `completion_tokens_details.reasoning_tokens`. " +
  'With `"stream": true` the answer is `text/event-stream` of `data: <chunk>` lines ending with `data: [DONE]`, ' +
  "a last `choices: []` chunk with `usage` first when `stream_options.include_usage` is set. Without a judge tokens " +
  "stream as they are generated; with a judge only the final answer is content, sent when refinement ends, and " +
  "each judged loop sends an empty chunk with `modelgate.loop`. A stream that fails ends with " +
  '`data: {"error": {message, type, param, code}}` and no `[DONE]`. Problems on these routes also carry that ' +
  "`error` member.";

export const openAiRouteSpecs: readonly RouteSpec[] = [
  {
    method: "POST",
    path: "/v1/chat/completions",
    scope: "infer",
    tag: TAG,
    summary: "Chat completion (OpenAI-compatible)",
    description:
      "`messages` are `system` (or `developer`), `user`, `assistant` (optionally with `tool_calls`) and `tool` turns " +
      `with text content (a string, or \`{"type": "text"}\` parts), rendered with the model's chat template. ` +
      "`response_format` (`text`, `json_object`, `json_schema`) and `tools` / `tool_choice` / `parallel_tool_calls` " +
      "are enforced by constrained decoding on the worker: a schema keyword it cannot enforce is a 400 naming it; " +
      'tool calls come back as `message.tool_calls` with `finish_reason: "tool_calls"` (streamed as ' +
      `\`delta.tool_calls\`). ${COMMON}`,
    body: component("ChatCompletionRequest", ChatCompletionRequestSchema),
    responses: {
      200: {
        description: "The completion (or, with `stream`, `chat.completion.chunk` events).",
        schema: component("ChatCompletion", ChatCompletionSchema),
      },
      ...OPENAI_PROBLEMS,
    },
  },
  {
    method: "POST",
    path: "/v1/completions",
    scope: "infer",
    tag: TAG,
    summary: "Text completion (OpenAI-compatible)",
    description: `\`prompt\` is raw text (a string, or an array of exactly one string), with no chat template. ${COMMON}`,
    body: component("TextCompletionRequest", TextCompletionRequestSchema),
    responses: {
      200: {
        description: "The completion (or, with `stream`, `text_completion` chunk events).",
        schema: component("TextCompletion", TextCompletionSchema),
      },
      ...OPENAI_PROBLEMS,
    },
  },
];
