/**
 * Judges: seed 000's `judge_fn`, built from a request's `judge` spec (data, not a callback).
 * A judge scores one refinement loop's visible answer in [0, 1] and says what is wrong with it;
 * that feedback goes into the next loop's prompt.
 *
 * Judge specs come from API callers, so everything here treats the schema, the pattern and the
 * answer as untrusted: schemas compile in their own Ajv instance, and user-supplied regular
 * expressions (a `regex` judge, a schema's `pattern` keywords) run under a time limit.
 */
import { createContext, Script } from "node:vm";
import { err, type JudgeSpec, ModelgateError, ok, type Result } from "@modelgate/shared";
import Ajv2020, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";

export interface JudgeVerdict {
  /** In [0, 1]; the loop passes when it reaches `judge_score_threshold`. */
  score: number;
  /** What the next loop should fix; null when the answer fully passed (score 1). */
  feedback: string | null;
}

export interface Judge {
  score(answer: string, context: { prompt: string }): Promise<Result<JudgeVerdict>>;
}

export interface JudgeDeps {
  /** Runs the `model` judge's scorer version; needed only for `{ type: "model" }`. */
  scoreWithModel?: (prompt: string, answer: string) => Promise<Result<number>>;
}

/**
 * Partial credit for JSON that parses but fails the schema:
 * `score = JSON_INVALID_FLOOR + JSON_INVALID_SPAN / errorCount` (errorCount >= 1, Ajv `allErrors`).
 * One error scores 0.5, two 0.3, four 0.2, and many approach 0.1 — always above a non-JSON answer
 * (0) and below a valid one (1). Each further error costs less than the one before because one
 * mistake often surfaces as several errors (a wrong type under `anyOf` reports every branch).
 */
export const JSON_INVALID_FLOOR = 0.1;
export const JSON_INVALID_SPAN = 0.4;
/** Schema errors quoted in feedback; the rest are counted ("and 3 more"). */
export const MAX_FEEDBACK_ERRORS = 5;
/** Compiled validators kept, keyed by the schema's JSON: the same schema repeats across requests. */
export const VALIDATOR_CACHE_SIZE = 64;
/**
 * Characters of the answer a `regex` judge reads. JavaScript regexes backtrack, so a pattern's
 * cost can grow polynomially (or worse) with the input; an answer is at most one generation long,
 * and this cap keeps even a long one from multiplying that cost. The time limit below covers the
 * patterns that are catastrophic even on short inputs.
 */
export const REGEX_INPUT_MAX_CHARS = 64 * 1024;
/** Wall-clock limit for one user-supplied match or schema validation (V8 interrupts a regex mid-backtrack). */
export const USER_CODE_TIMEOUT_MS = 250;

export function createJudge(spec: JudgeSpec, deps: JudgeDeps = {}): Result<Judge> {
  switch (spec.type) {
    case "json_schema":
      return createJsonSchemaJudge(spec.schema);
    case "regex":
      return createRegexJudge(spec.pattern, spec.flags ?? "");
    case "model":
      return createModelJudge(spec.model, deps);
  }
}

// ---- json_schema ------------------------------------------------------------------------------

/** Checks schemas against the 2020-12 meta-schema; shared because it never compiles user schemas. */
const metaSchemaChecker = new Ajv2020({ allErrors: true, strict: false, logger: false });
const validatorCache = new Map<string, ValidateFunction>();

function createJsonSchemaJudge(schema: Record<string, unknown> | boolean): Result<Judge> {
  const compiled = compileSchema(schema);
  if (!compiled.ok) return compiled;
  const validate = compiled.value;
  return ok({
    async score(answer) {
      const parsed = parseJsonAnswer(answer);
      if (!parsed.ok) return ok({ score: 0, feedback: `The answer must be JSON: ${parsed.error}` });
      const outcome = runWithTimeout(() => (validate(parsed.value) ? [] : [...(validate.errors ?? [])]));
      if (!outcome.ok) {
        return err(
          new ModelgateError("validation_failed", `Validating the answer took longer than ${USER_CODE_TIMEOUT_MS} ms`, [
            { field: "judge.schema", message: "a pattern in the schema is too slow to evaluate" },
          ]),
        );
      }
      const errors = outcome.value;
      if (errors.length === 0) return ok({ score: 1, feedback: null });
      return ok({
        score: JSON_INVALID_FLOOR + JSON_INVALID_SPAN / errors.length,
        feedback: `The answer's JSON does not match the schema: ${describeSchemaErrors(errors)}.`,
      });
    },
  });
}

function compileSchema(schema: Record<string, unknown> | boolean): Result<ValidateFunction> {
  const key = JSON.stringify(schema);
  const cached = validatorCache.get(key);
  if (cached !== undefined) {
    // Re-insert so that Map order is least-recently-used first.
    validatorCache.delete(key);
    validatorCache.set(key, cached);
    return ok(cached);
  }
  let validate: ValidateFunction;
  try {
    if (!metaSchemaChecker.validateSchema(schema)) {
      return err(invalidSchema(metaSchemaChecker.errorsText(metaSchemaChecker.errors, { dataVar: "schema" })));
    }
    // A fresh instance per schema: Ajv keeps every compiled schema and refuses a second schema
    // with the same `$id`, so a shared instance would grow without bound and let one caller's
    // `$id` collide with (or be `$ref`-erenced by) another's. Formats are not checked: they need
    // ajv-formats, and an unchecked format is better than a request refused for using one.
    const ajv = new Ajv2020({
      allErrors: true,
      strict: false,
      logger: false,
      meta: false,
      validateSchema: false,
      validateFormats: false,
    });
    validate = ajv.compile(structuredClone(schema));
  } catch (error) {
    return err(invalidSchema(error instanceof Error ? error.message : String(error)));
  }
  validatorCache.set(key, validate);
  if (validatorCache.size > VALIDATOR_CACHE_SIZE) {
    const oldest = validatorCache.keys().next();
    if (oldest.done !== true) validatorCache.delete(oldest.value);
  }
  return ok(validate);
}

function invalidSchema(message: string): ModelgateError {
  return new ModelgateError(
    "validation_failed",
    `judge.schema is not a valid JSON Schema (draft 2020-12): ${message}`,
    [{ field: "judge.schema", message }],
  );
}

/**
 * The answer as JSON: the whole trimmed answer, or else the span from the first `{` (or `[`) to
 * the last `}` (or `]`), trying whichever opener comes first — models like to wrap JSON in prose
 * or a Markdown fence. The error is the one from the whole answer, which is what the model wrote.
 */
export function parseJsonAnswer(answer: string): Result<unknown, string> {
  const trimmed = answer.trim();
  if (trimmed.length === 0) return err("the answer is empty.");
  let firstError: string;
  try {
    return ok(JSON.parse(trimmed));
  } catch (error) {
    firstError = error instanceof Error ? error.message : String(error);
  }
  const spans = (
    [
      ["{", "}"],
      ["[", "]"],
    ] as const
  )
    .map(([open, close]) => ({ start: trimmed.indexOf(open), end: trimmed.lastIndexOf(close) }))
    .filter(({ start, end }) => start >= 0 && end > start)
    .sort((a, b) => a.start - b.start);
  for (const { start, end } of spans) {
    if (start === 0 && end === trimmed.length - 1) continue; // the whole answer, already tried
    try {
      return ok(JSON.parse(trimmed.slice(start, end + 1)));
    } catch {
      // Try the other opener, then give up with the whole answer's error.
    }
  }
  return err(firstError.endsWith(".") ? firstError : `${firstError}.`);
}

/** `"/age must be integer; (root) must have required property 'name'"`, at most five, then a count. */
function describeSchemaErrors(errors: readonly ErrorObject[]): string {
  const described = errors.slice(0, MAX_FEEDBACK_ERRORS).map((error) => {
    const where = error.instancePath === "" ? "(root)" : error.instancePath;
    const extra =
      error.keyword === "additionalProperties" && typeof error.params.additionalProperty === "string"
        ? ` ('${error.params.additionalProperty}')`
        : "";
    return `${where} ${error.message ?? `fails ${error.keyword}`}${extra}`;
  });
  const more = errors.length - described.length;
  return more > 0 ? `${described.join("; ")}; and ${more} more` : described.join("; ");
}

// ---- regex ------------------------------------------------------------------------------------

function createRegexJudge(pattern: string, flags: string): Result<Judge> {
  let regex: RegExp;
  try {
    regex = new RegExp(pattern, flags);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return err(
      new ModelgateError("validation_failed", `judge.pattern does not compile: ${message}`, [
        { field: "judge.pattern", message },
      ]),
    );
  }
  const feedback = `The answer must match /${pattern}/${flags}.`;
  return ok({
    async score(answer) {
      const text = answer.slice(0, REGEX_INPUT_MAX_CHARS);
      const matched = runWithTimeout(() => {
        regex.lastIndex = 0; // stateless even if a `g` or `y` flag slipped past the request schema
        return regex.test(text);
      });
      if (!matched.ok) {
        return err(
          new ModelgateError(
            "validation_failed",
            `judge.pattern took longer than ${USER_CODE_TIMEOUT_MS} ms to match`,
            [{ field: "judge.pattern", message: "too slow to evaluate (catastrophic backtracking?)" }],
          ),
        );
      }
      return ok(matched.value ? { score: 1, feedback: null } : { score: 0, feedback });
    },
  });
}

// ---- model ------------------------------------------------------------------------------------

function createModelJudge(model: string, deps: JudgeDeps): Result<Judge> {
  const scoreWithModel = deps.scoreWithModel;
  if (scoreWithModel === undefined) {
    return err(new ModelgateError("internal", `No scorer runner was given for the model judge ${model}`));
  }
  return ok({
    async score(answer, context) {
      const scored = await scoreWithModel(context.prompt, answer);
      if (!scored.ok) return scored;
      const score = scored.value;
      if (!Number.isFinite(score) || score < 0 || score > 1) {
        return err(new ModelgateError("internal", `The scorer ${model} returned ${score}, outside [0, 1]`));
      }
      // Floored to three decimals so that a score below 1 is never printed as 1.
      const shown = Math.floor(score * 1000) / 1000;
      return ok({ score, feedback: score < 1 ? `The scorer rated the answer ${shown}.` : null });
    },
  });
}

// ---- time-limited evaluation ------------------------------------------------------------------

/**
 * Runs `fn` synchronously with a wall-clock limit. `vm`'s timeout makes V8 terminate execution
 * from a watchdog thread, which interrupts even a backtracking regex; without it one caller's
 * pathological pattern would stall every request on this thread. Costs about 0.1 ms per call.
 */
const sandbox: { call: () => void } = { call: () => undefined };
const timeoutContext = createContext(sandbox);
const callScript = new Script("call()");

function runWithTimeout<T>(fn: () => T): Result<T, "timeout"> {
  const holder: { result?: { value: T } } = {};
  sandbox.call = () => {
    holder.result = { value: fn() };
  };
  try {
    callScript.runInContext(timeoutContext, { timeout: USER_CODE_TIMEOUT_MS });
  } catch (error) {
    if (isTimeout(error)) return err("timeout");
    throw error;
  } finally {
    sandbox.call = () => undefined;
  }
  return holder.result === undefined ? err("timeout") : ok(holder.result.value);
}

function isTimeout(error: unknown): boolean {
  return (
    typeof error === "object" && error !== null && "code" in error && error.code === "ERR_SCRIPT_EXECUTION_TIMEOUT"
  );
}
