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

export const parseVersionNumber = integerInRange(1, 999_999_999);

export interface NameAndRef {
  name: string;
  /** What followed `@`: a number, `latest`, `production`, `staging` or an alias; undefined without `@`. */
  ref: string | undefined;
}

/** `name` or `name@<ref>` (`name@3`, `name@production`, `name@champion`). */
export function parseNameAndRef(value: string): NameAndRef {
  const at = value.indexOf("@");
  if (at === -1) return { name: parseModelName(value), ref: undefined };
  const name = parseModelName(value.slice(0, at));
  const ref = value.slice(at + 1);
  if (!parseModelReference(value)) {
    throw new InvalidArgumentError(
      `"${ref}" is not a version: use a number, latest, production, staging or an alias (e.g. ${name}@2)`,
    );
  }
  return { name, ref };
}

/** `name` or `name@<number>`: deletes address versions by number only. */
export function parseNameAndVersion(value: string): { name: string; version: number | undefined } {
  const { name, ref } = parseNameAndRef(value);
  if (ref === undefined) return { name, version: undefined };
  if (!/^[1-9][0-9]*$/.test(ref)) {
    throw new InvalidArgumentError(`expected ${name}@<version number>, got ${name}@${ref}`);
  }
  return { name, version: Number(ref) };
}

/** Repeatable options (`--tag a --tag b`) collect into a list. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Repeatable `k=v` options collect into a record, e.g. `--location mac=/models/x`. */
export function collectPairs(
  what: string,
): (value: string, previous: Record<string, string> | undefined) => Record<string, string> {
  return (value, previous) => {
    const at = value.indexOf("=");
    if (at <= 0) throw new InvalidArgumentError(`expected ${what}, e.g. name=value; got "${value}"`);
    return { ...(previous ?? {}), [value.slice(0, at).trim()]: value.slice(at + 1).trim() };
  };
}

/** Repeatable `name=number` options, e.g. `--metric val_acc=0.93`. */
export function collectNumbers(value: string, previous: Record<string, number> | undefined): Record<string, number> {
  const at = value.indexOf("=");
  const number = Number(value.slice(at + 1));
  if (at <= 0 || value.slice(at + 1).trim() === "" || !Number.isFinite(number)) {
    throw new InvalidArgumentError(`expected name=number, e.g. val_acc=0.93; got "${value}"`);
  }
  return { ...(previous ?? {}), [value.slice(0, at).trim()]: number };
}

export function parseNumber(value: string): number {
  const number = Number(value);
  if (value.trim() === "" || !Number.isFinite(number)) throw new InvalidArgumentError("expected a number");
  return number;
}
