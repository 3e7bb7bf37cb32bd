/**
 * Option checking for store factories, done once at construction: unknown keys are rejected with a
 * "did you mean", values are checked at run time (JavaScript callers and config files exist), and
 * every DT404 names the option and says what it accepts.
 *
 * @module
 */
import { toMilliseconds } from "../../core/duration.js";
import { DTaskError } from "../../core/errors.js";
import { closest } from "../../core/suggest.js";

/** Default retention of finished flows in every engine: 7 days. */
export const DEFAULT_RETENTION_MS = 7 * 86_400_000;

export function optionError(factory: string, name: string, problem: string): DTaskError {
  return new DTaskError("DT404", `${factory}: option '${name}' ${problem}`);
}

/** Checks that `options` is an object with only `known` keys; returns it as a record. */
export function checkOptionKeys(
  factory: string,
  options: unknown,
  known: readonly string[],
): Record<string, unknown> {
  if (options === undefined) return {};
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new DTaskError(
      "DT404",
      `${factory}: options must be an object (got ${options === null ? "null" : typeof options})`,
    );
  }
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const guess = closest(key, known);
    throw new DTaskError(
      "DT404",
      `${factory}: unknown option '${key}'.${guess ? ` Did you mean '${guess}'?` : ""} Known options: ${known.join(", ")}`,
    );
  }
  return options as Record<string, unknown>;
}

/**
 * A duration option: milliseconds or a string such as "15s" or "7d" (see `Duration`).
 * `Infinity` is accepted only where `allowInfinity` says it means "forever".
 */
export function durationOption(
  factory: string,
  name: string,
  value: unknown,
  fallback: number,
  { allowInfinity = false, min = 0 }: { allowInfinity?: boolean; min?: number } = {},
): number {
  if (value === undefined) return fallback;
  if (value === Infinity && allowInfinity) return Infinity;
  let ms: number;
  try {
    ms = toMilliseconds(value as string | number, name);
  } catch {
    throw optionError(
      factory,
      name,
      `must be a duration: milliseconds or a string such as "15s", "10m", "7d"${allowInfinity ? ", or Infinity for forever" : ""} (got ${JSON.stringify(value)})`,
    );
  }
  if (ms < min) throw optionError(factory, name, `must be at least ${min} ms (got ${JSON.stringify(value)})`);
  return ms;
}

/** One of a fixed set of strings, case-insensitively; returns the canonical (listed) spelling. */
export function enumOption<T extends string>(
  factory: string,
  name: string,
  value: unknown,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  const found =
    typeof value === "string" ? allowed.find((a) => a.toLowerCase() === value.toLowerCase()) : undefined;
  if (found === undefined) {
    throw optionError(
      factory,
      name,
      `must be one of ${allowed.map((a) => `"${a}"`).join(", ")} (got ${JSON.stringify(value)})`,
    );
  }
  return found;
}

export function stringOption(factory: string, name: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || value.length === 0) {
    throw optionError(factory, name, `must be a non-empty string (got ${JSON.stringify(value)})`);
  }
  return value;
}
