import { ModelNameSchema, parseModelReference } from "@modelgate/shared";
import { InvalidArgumentError } from "commander";

/**
 * Argument parsers for commander: throwing InvalidArgumentError makes commander report the
 * flag by name and the run end with the usage exit code, before any request is sent.
 */
export function parseModelName(value: string): string {
  const parsed = ModelNameSchema.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError(parsed.error.issues[0]?.message ?? "not a model name");
  return parsed.data;
}

/** `name`, `name@3`, `name@production` or `name@staging`, as the inference routes accept. */
export function parseModelRef(value: string): string {
  if (!parseModelReference(value)) {
    throw new InvalidArgumentError("expected `name`, `name@<version>`, `name@production` or `name@staging`");
  }
  return value;
}

export function integerInRange(min: number, max: number): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(number) || number < min || number > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    }
    return number;
  };
}

export function numberInRange(min: number, max: number): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (value.trim() === "" || !Number.isFinite(number) || number < min || number > max) {
      throw new InvalidArgumentError(`expected a number from ${min} to ${max}`);
    }
    return number;
  };
}
