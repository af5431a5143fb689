/** The errors inference answers with, worded for callers; internals go to the log only. */
import { ModelgateError, type ModelVersion } from "@modelgate/shared";
import type { Logger } from "../logger.js";

export function wrongKind(target: ModelVersion, use: string): ModelgateError {
  return new ModelgateError(
    "bad_request",
    `${target.name}@${target.version} is a ${target.kind} model; use it with ${use}.`,
    [{ field: "target.kind", message: `is ${target.kind}` }],
  );
}

export function contextTooSmall(target: ModelVersion, maxNewTokens: number, limit: number): ModelgateError {
  return new ModelgateError(
    "bad_request",
    `max_new_tokens ${maxNewTokens} leaves no room for a prompt in ${target.name}@${target.version}'s ${limit}-token context.`,
    [{ field: "max_new_tokens", message: `must be less than the model's context length (${limit})` }],
  );
}

export function contractMismatch(target: ModelVersion): ModelgateError {
  return new ModelgateError(
    "internal",
    `Model ${target.name}@${target.version} does not have the inputs and outputs its registry contract lists.`,
  );
}

/** A failure on an inference thread: logged in full, answered without the thread's details. */
export function inferenceFailure(logger: Logger, target: ModelVersion, reason: string): ModelgateError {
  // The thread's message can name files and native details: log it, keep it out of the response.
  logger.error("inference failed", { model: `${target.name}@${target.version}`, reason });
  return new ModelgateError("internal", `Inference on ${target.name}@${target.version} failed on this worker.`);
}
