/**
 * The playground's request form: target and prompt, sampling, an optional judge, and the
 * refinement budget. Every field is a labelled native control, so it works from the keyboard.
 */
import type { CawsTier } from "@modelgate/shared";
import type { GenerateForm, JudgeKind } from "./generate-request.js";
import type { ModelOptions } from "./model-options.js";

const TIERS: Record<CawsTier, string> = {
  tier_1: "tier_1 (1 loop, no latent spans)",
  tier_2: "tier_2 (≤ 2 loops, ≤ 1 latent span)",
  tier_3: "tier_3 (≤ 3 loops, ≤ 3 latent spans)",
};

const JUDGES: Record<JudgeKind, string> = {
  none: "None (one answer)",
  regex: "Regex pattern",
  json_schema: "JSON Schema",
  model: "Scorer model",
};

export interface FieldsProps {
  form: GenerateForm;
  options: ModelOptions;
  /** A problem found before sending (the JSON Schema text), by field. */
  localProblem?: { field: string; message: string } | undefined;
  change: (patch: Partial<GenerateForm>) => void;
}

type TextField = { [K in keyof GenerateForm]: GenerateForm[K] extends string ? K : never }[keyof GenerateForm];

export function GenerateFormFields({ form, options, localProblem, change }: FieldsProps) {
  const text = (name: TextField) => ({
    value: form[name],
    onInput: (event: Event) => change({ [name]: (event.currentTarget as HTMLInputElement).value }),
  });
  const schemaProblem = localProblem?.field === "judge.schema" ? localProblem.message : undefined;
  return (
    <>
      <label class="playground-model">
        Model or target
        <input
          {...text("model")}
          list="playground-targets"
          required
          autocomplete="off"
          spellcheck={false}
          placeholder="ref-decoder, auto:code, name@3:int8"
        />
        <datalist id="playground-targets">
          {options.targets.map((target) => (
            <option key={target} value={target} />
          ))}
        </datalist>
      </label>
      {options.unavailable ? (
        <p class="muted ops-help playground-wide">No model suggestions: {options.unavailable}.</p>
      ) : null}
      <label class="playground-wide">
        Prompt
        <textarea {...text("prompt")} required rows={4} />
      </label>
      <label>
        Max new tokens
        <input {...text("maxNewTokens")} type="number" min={1} step={1} inputMode="numeric" />
      </label>
      <label>
        Min new tokens
        <input {...text("minNewTokens")} type="number" min={0} step={1} placeholder="0" />
      </label>
      <label>
        Temperature
        <input {...text("temperature")} type="number" min={0} step="any" placeholder="model default" />
      </label>
      <label>
        Seed
        <input {...text("seed")} type="number" min={0} step={1} placeholder="random" />
      </label>
      <fieldset class="playground-wide playground-group">
        <legend>Judge and refinement</legend>
        <div class="row">
          <label>
            Judge
            {/* Named by aria-label too: a label around a select would also read out its options. */}
            <select
              aria-label="Judge"
              value={form.judge}
              onChange={(event) => change({ judge: event.currentTarget.value as JudgeKind })}
            >
              {(Object.keys(JUDGES) as JudgeKind[]).map((kind) => (
                <option key={kind} value={kind}>
                  {JUDGES[kind]}
                </option>
              ))}
            </select>
          </label>
          {form.judge === "regex" ? (
            <>
              <label>
                Pattern
                <input {...text("pattern")} required spellcheck={false} placeholder="^\{.*\}$" />
              </label>
              <label>
                Flags
                <input {...text("flags")} spellcheck={false} size={4} placeholder="i, m, s, u, v" />
              </label>
            </>
          ) : null}
          {form.judge === "model" ? (
            <label>
              Scorer model
              <input {...text("scorer")} list="playground-scorers" required spellcheck={false} />
              <datalist id="playground-scorers">
                {options.scorers.map((scorer) => (
                  <option key={scorer} value={scorer} />
                ))}
              </datalist>
            </label>
          ) : null}
          <label>
            CAWS tier
            <select
              aria-label="CAWS tier"
              value={form.tier}
              onChange={(event) => change({ tier: event.currentTarget.value as CawsTier | "" })}
            >
              <option value="">model default</option>
              {(Object.keys(TIERS) as CawsTier[]).map((tier) => (
                <option key={tier} value={tier}>
                  {TIERS[tier]}
                </option>
              ))}
            </select>
          </label>
          <label>
            Max refinement loops
            <input {...text("maxLoops")} type="number" min={1} max={16} step={1} placeholder="default" />
          </label>
          <label>
            Judge score threshold
            <input {...text("judgeThreshold")} type="number" min={0} max={1} step="any" placeholder="0.8" />
          </label>
          <label>
            Halt probability threshold
            <input {...text("haltThreshold")} type="number" min={0} max={1} step="any" placeholder="0.7" />
          </label>
        </div>
        {form.judge === "json_schema" ? (
          <label class="playground-wide">
            JSON Schema (draft 2020-12)
            <textarea
              {...text("schema")}
              rows={4}
              spellcheck={false}
              aria-invalid={schemaProblem ? "true" : undefined}
              aria-describedby={schemaProblem ? "playground-schema-problem" : undefined}
            />
            {schemaProblem ? (
              <span id="playground-schema-problem" class="ops-field-problem">
                {schemaProblem}
              </span>
            ) : null}
          </label>
        ) : null}
        <p class="muted ops-help">
          Refinement stops when the judge's score reaches its threshold, else when the halt head's probability does,
          else after the tier's loop budget. Tiers cap loops: a higher max does not raise them.
        </p>
      </fieldset>
    </>
  );
}
