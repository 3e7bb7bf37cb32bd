/**
 * Run-time checks of front-end options (loader `data`, bundler plugin options). They come from
 * JavaScript callers and config files, so types alone do not protect them. Every problem is
 * reported at once, unknown keys with a "did you mean".
 */
import { closest } from "../../core/suggest.js";

/** For each option: a predicate on its value and what it should be, for the message. */
export type OptionSchema<T> = {
  [K in keyof Required<T>]: { check: (value: unknown) => boolean; expected: string };
};

/** Returns `value` typed as `T`, or throws a TypeError naming every bad option. */
export function checkOptions<T extends object>(owner: string, value: unknown, schema: OptionSchema<T>): T {
  if (value === undefined || value === null) return {} as T;
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(
      `${owner}: options must be an object, got ${Array.isArray(value) ? "an array" : typeof value}`,
    );
  }
  const known = Object.keys(schema);
  const problems: string[] = [];
  for (const [key, option] of Object.entries(value)) {
    const rule = (schema as Record<string, { check: (value: unknown) => boolean; expected: string }>)[key];
    if (!rule) {
      const near = closest(key, known, 2);
      problems.push(
        `unknown option '${key}'${near ? ` (did you mean '${near}'?)` : ""}; known options: ${known.join(", ")}`,
      );
    } else if (option !== undefined && !rule.check(option)) {
      problems.push(`option '${key}' must be ${rule.expected}`);
    }
  }
  if (problems.length > 0) throw new TypeError(`${owner}: ${problems.join("; ")}`);
  return value as T;
}

export const isStringArray = (v: unknown): boolean =>
  Array.isArray(v) && v.every((s) => typeof s === "string");
export const isBoolean = (v: unknown): boolean => typeof v === "boolean";
