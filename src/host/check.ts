/**
 * Run-time checks of the host's options and arguments. JavaScript callers and config files exist,
 * so types are checked again here, once, and every problem names the option or argument, what it
 * accepts, and (for a misspelt key) the nearest known name.
 *
 * @module
 */
import { type Duration, toMilliseconds } from "../core/duration.js";
import { DTaskError } from "../core/errors.js";
import { closest } from "../core/suggest.js";

/** DT505: a bad option of `createHost`, `startWorker` or `createTestHost`. */
export function optionError(
  where: string,
  name: string,
  problem: string,
  code: OptionErrorCode = "DT505",
): DTaskError {
  return new DTaskError(code, `${where}: option '${name}' ${problem}`);
}

/** Whose options are checked: the host's (DT505) or the HTTP layer's (DT606). */
export type OptionErrorCode = "DT505" | "DT606";

/** DT509: a bad argument to a host method. */
export function argumentError(method: string, problem: string): DTaskError {
  return new DTaskError("DT509", `${method}: ${problem}`);
}

/**
 * Rejects anything but a plain options object, and every unknown key, with "did you mean".
 * `undefined` is no options at all unless `required`; `code` is the caller's (DT505 for the host,
 * DT606 for the HTTP layer).
 */
export function checkKeys(
  where: string,
  options: unknown,
  known: readonly string[],
  { code = "DT505", required = false }: { code?: OptionErrorCode; required?: boolean } = {},
): Record<string, unknown> {
  if (options === undefined && !required) return {};
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new DTaskError(code, `${where}: options must be an object (got ${describe(options)})`);
  }
  const unknown = Object.keys(options).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    const problems = unknown.map((key) => {
      const near = closest(key, known);
      return `unknown option '${key}'${near ? ` (did you mean '${near}'?)` : ""}`;
    });
    throw new DTaskError(code, `${where}: ${problems.join("; ")}. Known options: ${known.join(", ")}`);
  }
  return options as Record<string, unknown>;
}

/** A duration in milliseconds: a number, or a string such as "30s"; `Infinity` only where allowed. */
export function durationOption(
  where: string,
  name: string,
  value: unknown,
  fallback: number,
  {
    min = 0,
    allowInfinity = false,
    code = "DT505",
  }: { min?: number; allowInfinity?: boolean; code?: OptionErrorCode } = {},
): number {
  if (value === undefined) return fallback;
  if (value === Infinity && allowInfinity) return Infinity;
  let ms: number;
  try {
    ms = toMilliseconds(value as Duration);
  } catch {
    throw optionError(
      where,
      name,
      `must be a duration: milliseconds or a string such as "500ms", "30s", "7d"${allowInfinity ? ", or Infinity" : ""} (got ${describe(value)})`,
      code,
    );
  }
  if (ms < min) throw optionError(where, name, `must be at least ${min} ms (got ${describe(value)})`, code);
  return ms;
}

export function integerOption(
  where: string,
  name: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number,
  code: OptionErrorCode = "DT505",
): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw optionError(where, name, `must be an integer from ${min} to ${max} (got ${describe(value)})`, code);
  }
  return value;
}

export function functionOption<F>(where: string, name: string, value: unknown): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "function")
    throw optionError(where, name, `must be a function (got ${describe(value)})`);
  return value as F;
}

export function booleanOption(where: string, name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean")
    throw optionError(where, name, `must be true or false (got ${describe(value)})`);
  return value;
}

/** A short, value-free description for messages: values may hold personal data. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string")
    return value.length <= 40 ? JSON.stringify(value) : `a string of ${value.length} characters`;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return String(value);
  if (typeof value === "function") return "a function";
  if (typeof value === "object") {
    const name = (value as object).constructor?.name;
    return name && name !== "Object" ? `a ${name}` : "an object";
  }
  return typeof value;
}

/** Plain JSON data only (metadata is stored as JSON by every engine). Returns the first bad path. */
export function nonJsonPath(value: unknown, path = "", seen = new Set<object>()): string | undefined {
  if (value === null || typeof value === "string" || typeof value === "boolean") return undefined;
  if (typeof value === "number") return Number.isFinite(value) ? undefined : path || "(root)";
  if (typeof value !== "object") return path || "(root)";
  if (seen.has(value)) return path || "(root)";
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const bad = nonJsonPath(value[i], `${path}[${i}]`, seen);
        if (bad !== undefined) return bad;
      }
      return undefined;
    }
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return path || "(root)";
    for (const [key, item] of Object.entries(value)) {
      const bad = nonJsonPath(item, path ? `${path}.${key}` : key, seen);
      if (bad !== undefined) return bad;
    }
    return undefined;
  } finally {
    seen.delete(value);
  }
}
