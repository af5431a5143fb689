/**
 * Seed 001's quality gates for the registered original and for each converted format. Only
 * must-pass gates block (promotion, serving); should-pass and nice-to-have ones are recorded so
 * a person can see what a format costs. Every gate is built even when an earlier one failed, so a
 * report always says which checks could not be made ("not measured") instead of leaving them out.
 */
import { createHash } from "node:crypto";
import {
  type ConversionTarget,
  checkGate,
  type FormatThresholds,
  type GateResult,
  type GateSummary,
  type ModelContract,
  type ModelVersion,
  numericGate,
  type ShapeValidation,
  type SourceVerificationReport,
  SourceVerificationReportSchema,
  shapeKey,
  summariseGates,
  type TensorSpec,
  type VerificationMetrics,
} from "@modelgate/shared";
import { extractModelContract } from "./model-contract.js";
import { enumerateShapes, type SessionOptions } from "./shape-enumeration.js";

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export type LoadOutcome = { loaded: true } | { loaded: false; error: string };

function primaryShapeGate(shapes: Readonly<Record<string, ShapeValidation>> | undefined, primary: number): GateResult {
  const key = shapeKey(primary);
  const run = shapes?.[key];
  if (run === undefined) return checkGate("primary_shape_ok", "must_pass", false, `${key} was not run`);
  return run.status === "ok"
    ? checkGate("primary_shape_ok", "must_pass", true, `${key} ran in ${run.latency_ms ?? "?"} ms`)
    : checkGate("primary_shape_ok", "must_pass", false, `${key} failed: ${run.error ?? "no message"}`);
}

function failedShapes(shapes: Readonly<Record<string, ShapeValidation>>): string[] {
  return Object.entries(shapes)
    .filter(([, run]) => run.status !== "ok")
    .map(([key]) => key);
}

export interface FormatGateInput {
  target: ConversionTarget;
  thresholds: FormatThresholds;
  /** The original's contract: output names, halt head and which shapes worked in fp32. */
  sourceContract: Pick<ModelContract, "outputs" | "model_arch" | "shape_validation">;
  primary: number;
  conversion: { completed: true; bytes: number } | { completed: false; error: string };
  load?: LoadOutcome;
  /** The converted graph's outputs, or why its contract could not be made. */
  convertedOutputs?: { ok: true; outputs: readonly TensorSpec[] } | { ok: false; error: string };
  convertedShapes?: Readonly<Record<string, ShapeValidation>>;
  metrics?: VerificationMetrics;
}

function outputsGate(input: FormatGateInput): GateResult {
  const name = "outputs_match_contract";
  const outputs = input.convertedOutputs;
  if (outputs === undefined)
    return checkGate(name, "must_pass", false, "not checked: the converted model was not read");
  if (!outputs.ok) return checkGate(name, "must_pass", false, outputs.error);
  const expected = input.sourceContract.outputs.map((output) => output.name);
  const actual = outputs.outputs.map((output) => output.name);
  const problems: string[] = [];
  const missing = expected.filter((output) => !actual.includes(output));
  const extra = actual.filter((output) => !expected.includes(output));
  // Clients read what the original returned: a converted model keeps each output's datatype (an
  // fp16 model widens its float16 results back to float32 before returning them).
  const dtypeOf = new Map(input.sourceContract.outputs.map((output) => [output.name, output.dtype]));
  const retyped = outputs.outputs.filter(
    (output) => dtypeOf.has(output.name) && dtypeOf.get(output.name) !== output.dtype,
  );
  if (missing.length > 0) problems.push(`missing ${missing.join(", ")}`);
  if (extra.length > 0) problems.push(`unexpected ${extra.join(", ")}`);
  if (retyped.length > 0) {
    problems.push(
      retyped.map((output) => `${output.name} is ${output.dtype}, not ${dtypeOf.get(output.name)}`).join(", "),
    );
  }
  const types = [...new Set(input.sourceContract.outputs.map((output) => output.dtype))].join("/");
  return problems.length === 0
    ? checkGate(name, "must_pass", true, `outputs ${expected.join(", ")} present, each ${types} as in the original`)
    : checkGate(name, "must_pass", false, `outputs differ from the original's contract: ${problems.join("; ")}`);
}

function shapesPreservedGate(input: FormatGateInput): GateResult {
  const name = "shapes_preserved";
  const converted = input.convertedShapes;
  if (converted === undefined)
    return checkGate(name, "should_pass", false, "not run: the converted model did not load");
  const workedInFp32 = Object.entries(input.sourceContract.shape_validation)
    .filter(([, run]) => run.status === "ok")
    .map(([key]) => key);
  const lost = workedInFp32.filter((key) => converted[key]?.status !== "ok");
  return lost.length === 0
    ? checkGate(name, "should_pass", true, `every shape that ran in fp32 runs: ${workedInFp32.join(", ") || "none"}`)
    : checkGate(name, "should_pass", false, `ran in fp32 but not in ${input.target}: ${lost.join(", ")}`);
}

/** The gates of one converted format. Missing measurements fail their gates as "not measured". */
export function formatGates(input: FormatGateInput): GateSummary {
  const { thresholds, metrics, target } = input;
  const completed = input.conversion.completed;
  const loaded = completed && input.load?.loaded === true;
  let loadDetail = `the ${target} model loads in onnxruntime`;
  if (!completed) loadDetail = "not loaded: the conversion did not complete";
  else if (input.load === undefined) loadDetail = "not tried";
  else if (!input.load.loaded) loadDetail = `the ${target} model does not load: ${input.load.error}`;
  const compared = metrics ? ` over ${metrics.compared} compared vectors` : "";
  // A tensor model with no decision output (an embedding, a state) has no top-1: the cosine
  // similarity of every output then guards the format in its place.
  const noDecision = metrics?.top1_outputs !== undefined && metrics.top1_outputs.length === 0;
  const measuredOn = metrics?.top1_outputs?.length ? ` (${metrics.top1_outputs.join(", ")})` : "";
  const gates: GateResult[] = [
    checkGate(
      "conversion_completed",
      "must_pass",
      completed,
      input.conversion.completed
        ? `${target} model written (${input.conversion.bytes} bytes)`
        : `the ${target} conversion failed: ${input.conversion.error}`,
    ),
    checkGate("converted_model_loads", "must_pass", loaded, loadDetail),
    outputsGate(input),
    primaryShapeGate(input.convertedShapes, input.primary),
    noDecision
      ? checkGate(
          "top1_agreement",
          "must_pass",
          true,
          "not applicable: no output is a class score or an integer decision",
        )
      : numericGate(
          "top1_agreement",
          "must_pass",
          metrics?.top1_agreement ?? Number.NaN,
          ">=",
          thresholds.min_top1_agreement,
          `top-1 agreement with fp32${measuredOn}${compared}`,
        ),
    numericGate(
      "cosine_similarity",
      noDecision ? "must_pass" : "should_pass",
      metrics?.cosine_similarity ?? Number.NaN,
      ">=",
      thresholds.min_cosine_similarity,
      metrics?.outputs
        ? "mean cosine similarity with fp32 (the lowest of the outputs)"
        : "mean cosine similarity with fp32",
    ),
  ];
  if (input.sourceContract.model_arch.use_halt_head === true) {
    // Must pass: the halt probability decides when refinement stops (seed 000), so a format
    // that moves it changes what the model answers, not just how precisely.
    gates.push(
      numericGate(
        "halt_probability_diff",
        "must_pass",
        metrics?.halt_probability_max_diff ?? Number.NaN,
        "<=",
        thresholds.max_halt_probability_diff,
        "largest halt probability difference from fp32",
      ),
    );
  }
  gates.push(
    shapesPreservedGate(input),
    numericGate(
      "size_ratio",
      "nice_to_have",
      metrics?.size_ratio ?? Number.NaN,
      "<=",
      thresholds.max_size_ratio,
      "size relative to fp32",
    ),
    numericGate(
      "max_abs_diff",
      "nice_to_have",
      metrics?.max_abs_diff ?? Number.NaN,
      "<=",
      thresholds.max_abs_diff,
      "largest absolute output difference from fp32",
    ),
  );
  return summariseGates(gates);
}

export interface SourceGateInput {
  load: LoadOutcome;
  /** The contract extraction's outcome: its warnings, or why no valid contract could be made. */
  contract: { ok: true; warnings: readonly string[] } | { ok: false; error: string };
  shapes: Readonly<Record<string, ShapeValidation>>;
  primary: number;
  /** Anything else worth a look (conversion logs, …); the nice-to-have gate wants none. */
  warnings?: readonly string[];
}

/** Seed 001's version-level gates for the registered original. */
export function sourceGates(input: SourceGateInput): GateSummary {
  const failed = failedShapes(input.shapes);
  const warnings = [...(input.contract.ok ? input.contract.warnings : []), ...(input.warnings ?? [])];
  const shapeKeys = Object.keys(input.shapes);
  return summariseGates([
    checkGate(
      "model_loads",
      "must_pass",
      input.load.loaded,
      input.load.loaded ? "the model loads in onnxruntime" : `the model does not load: ${input.load.error}`,
    ),
    checkGate(
      "contract_valid",
      "must_pass",
      input.contract.ok,
      input.contract.ok ? "contract generated; every declared input and output is in the graph" : input.contract.error,
    ),
    primaryShapeGate(input.load.loaded ? input.shapes : undefined, input.primary),
    checkGate(
      "all_shapes_ok",
      "should_pass",
      input.load.loaded && shapeKeys.length > 0 && failed.length === 0,
      !input.load.loaded
        ? "not run: the model does not load"
        : failed.length === 0
          ? `every shape ran: ${shapeKeys.join(", ")}`
          : `failed: ${failed.map((key) => `${key} (${input.shapes[key]?.error ?? "no message"})`).join("; ")}`,
    ),
    checkGate(
      "no_warnings",
      "nice_to_have",
      warnings.length === 0,
      warnings.length === 0 ? "no warnings" : warnings.join("; ").slice(0, 2000),
    ),
  ]);
}

export interface SourceReportInput {
  source: Pick<ModelVersion, "name" | "version">;
  sourceBytes: Uint8Array;
  shapes: Readonly<Record<string, ShapeValidation>>;
  gates: GateSummary;
  now?: Date;
}

export function buildSourceVerificationReport(input: SourceReportInput): SourceVerificationReport {
  return SourceVerificationReportSchema.parse({
    schema: "modelgate.source-verification/v1",
    model: input.source.name,
    version: input.source.version,
    source_sha256: sha256Hex(input.sourceBytes),
    shape_validation: { ...input.shapes },
    ...input.gates,
    generated_at: (input.now ?? new Date()).toISOString(),
  } satisfies SourceVerificationReport);
}

export interface SourceVerificationInput {
  source: ModelVersion;
  bytes: Uint8Array;
  shapes: readonly number[];
  primary: number;
  tokenizerJson?: string;
  sessionOptions?: SessionOptions;
  now?: Date;
}

export interface SourceVerification {
  report: SourceVerificationReport;
  /** Undefined when the bytes are not a valid model or lack declared io (`contract_valid` failed). */
  contract: ModelContract | undefined;
  warnings: string[];
}

/** The original's whole check: load and enumerate shapes on one session, contract, gates, report. */
export async function verifySourceModel(input: SourceVerificationInput): Promise<SourceVerification> {
  const vocabSize = input.source.tokenizer?.type === "byte-level" ? input.source.tokenizer.vocab_size : undefined;
  const maxSize = input.source.kind === "tensor" ? undefined : input.source.max_context_tokens;
  const enumeration = await enumerateShapes(input.bytes, input.source.kind, input.shapes, {
    ...(vocabSize === undefined ? {} : { vocabSize }),
    ...(maxSize === undefined ? {} : { maxSize }),
    ...(input.sessionOptions === undefined ? {} : { sessionOptions: input.sessionOptions }),
  });
  const shapes = enumeration.loaded ? enumeration.shapes : {};
  const extraction = extractModelContract(input.bytes, input.source, "fp32", shapes, input.primary, {
    ...(input.tokenizerJson === undefined ? {} : { tokenizerJson: input.tokenizerJson }),
    ...(input.now === undefined ? {} : { now: input.now }),
  });
  const gates = sourceGates({
    load: enumeration.loaded ? { loaded: true } : { loaded: false, error: enumeration.error },
    contract: extraction.ok
      ? { ok: true, warnings: extraction.value.warnings }
      : { ok: false, error: extraction.error.message },
    shapes,
    primary: input.primary,
  });
  const report = buildSourceVerificationReport({ ...input, sourceBytes: input.bytes, shapes, gates });
  return extraction.ok
    ? { report, contract: extraction.value.contract, warnings: extraction.value.warnings }
    : { report, contract: undefined, warnings: [extraction.error.message] };
}
