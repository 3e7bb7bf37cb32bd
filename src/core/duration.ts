import { DTaskError } from "./errors.js";

/** A duration: milliseconds, or a string such as `"250ms"`, `"15s"`, `"10m"`, `"2h"`, `"7d"`, `"1w"`. */
export type Duration = number | `${number}${"ms" | "s" | "m" | "h" | "d" | "w"}` | string;

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/;

/** Parses a {@link Duration} into whole milliseconds; throws DT205 on anything else. */
export function toMilliseconds(duration: Duration, what = "duration"): number {
  if (typeof duration === "number") {
    if (Number.isFinite(duration) && duration >= 0) return Math.ceil(duration);
  } else if (typeof duration === "string") {
    const match = PATTERN.exec(duration);
    if (match) return Math.ceil(Number(match[1]) * UNIT_MS[match[2] ?? "ms"]!);
  }
  throw new DTaskError(
    "DT205",
    `invalid ${what} ${JSON.stringify(duration)}: use milliseconds (a finite number ≥ 0) or a string such as "15s", "10m", "7d"`,
  );
}
