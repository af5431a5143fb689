/**
 * The playground form's fields as typed text, and the `POST /v1/generate` body they make. Empty
 * fields are left out, so the model's and the worker's configuration apply (the answer's
 * `runtime_config` shows what was resolved); everything else is checked by the edge, which
 * names the field at fault. Only the JSON Schema text is read here, since it has to be parsed
 * before it can be sent at all.
 */
import type { CawsTier, GenerateRequest, JudgeSpec, RuntimeConfigOverrides } from "@modelgate/shared";

export type JudgeKind = "none" | "regex" | "json_schema" | "model";

export interface GenerateForm {
  model: string;
  prompt: string;
  maxNewTokens: string;
  minNewTokens: string;
  temperature: string;
  seed: string;
  judge: JudgeKind;
  pattern: string;
  flags: string;
  schema: string;
  scorer: string;
  tier: CawsTier | "";
  maxLoops: string;
  judgeThreshold: string;
  haltThreshold: string;
}

export const EMPTY_FORM: GenerateForm = {
  model: "",
  prompt: "",
  maxNewTokens: "64",
  minNewTokens: "",
  temperature: "",
  seed: "",
  judge: "none",
  pattern: "",
  flags: "",
  schema: '{"type": "object", "required": ["status"]}',
  scorer: "",
  tier: "",
  maxLoops: "",
  judgeThreshold: "",
  haltThreshold: "",
};

/** A number field: undefined when empty, so the layers below decide. */
function optionalNumber(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === "") return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined;
}

function judgeOf(form: GenerateForm): { judge?: JudgeSpec; problem?: string } {
  switch (form.judge) {
    case "none":
      return {};
    case "regex":
      return { judge: { type: "regex", pattern: form.pattern, ...(form.flags ? { flags: form.flags } : {}) } };
    case "model":
      return { judge: { type: "model", model: form.scorer.trim() } };
    case "json_schema":
      try {
        return { judge: { type: "json_schema", schema: JSON.parse(form.schema) as Record<string, unknown> } };
      } catch (error) {
        return { problem: `is not JSON: ${error instanceof Error ? error.message : String(error)}` };
      }
  }
}

export type BuiltRequest = { ok: true; body: GenerateRequest } | { ok: false; field: string; message: string };

export function buildGenerateRequest(form: GenerateForm): BuiltRequest {
  const { judge, problem } = judgeOf(form);
  if (problem) return { ok: false, field: "judge.schema", message: problem };
  const runtimeConfig: RuntimeConfigOverrides = form.tier ? { caws_tier: form.tier } : {};
  const configNumbers = {
    max_refinement_loops: form.maxLoops,
    judge_score_threshold: form.judgeThreshold,
    halt_probability_threshold: form.haltThreshold,
  } as const;
  for (const [name, text] of Object.entries(configNumbers) as [keyof typeof configNumbers, string][]) {
    const value = optionalNumber(text);
    if (value !== undefined) runtimeConfig[name] = value;
  }
  const maxNewTokens = optionalNumber(form.maxNewTokens);
  const minNewTokens = optionalNumber(form.minNewTokens);
  const temperature = optionalNumber(form.temperature);
  const seed = optionalNumber(form.seed);
  return {
    ok: true,
    body: {
      model: form.model.trim(),
      prompt: form.prompt,
      stream: true,
      ...(maxNewTokens === undefined ? {} : { max_new_tokens: maxNewTokens }),
      ...(minNewTokens === undefined ? {} : { min_new_tokens: minNewTokens }),
      ...(temperature === undefined ? {} : { temperature }),
      ...(seed === undefined ? {} : { seed }),
      ...(judge ? { judge } : {}),
      ...(Object.keys(runtimeConfig).length > 0 ? { runtime_config: runtimeConfig } : {}),
    },
  };
}
