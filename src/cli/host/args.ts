/**
 * Argument checks shared by the flow commands: every problem is collected and reported at once
 * (exit 2), as `build` does.
 *
 * @module
 */
import type { Command } from "commander";
import { DTaskError } from "../../core/errors.js";
import { CommandFailure } from "../failure.js";
import { splitArgs, UsageError, unknownOptionProblem } from "../usage.js";

/** The operands, with problems for unknown options and for a count outside [min, max]. */
export function operands(
  command: Command,
  problems: string[],
  names: { required: string[]; optional?: string[]; rest?: boolean },
): string[] {
  const { operands: found, unknownOptions } = splitArgs(command);
  for (const option of unknownOptions) problems.push(unknownOptionProblem(command, option));
  // After an unknown option the next word may be its value: count operands only without one.
  if (unknownOptions.length > 0) return found;
  const max = names.rest ? Infinity : names.required.length + (names.optional?.length ?? 0);
  for (let i = found.length; i < names.required.length; i++) problems.push(`missing ${names.required[i]}`);
  if (found.length > max)
    problems.push(`unexpected argument${found.length - max > 1 ? "s" : ""}: ${found.slice(max).join(" ")}`);
  return found;
}

/** Throws the collected problems as one usage error (exit 2). */
export function finishChecks(command: Command, problems: string[]): void {
  if (problems.length > 0) throw new UsageError(problems, `dtasks ${command.name()} ${command.usage()}`);
}

/** A positive integer option, or a problem. */
export function integer(
  value: string | undefined,
  name: string,
  min: number,
  max: number,
  problems: string[],
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    problems.push(`${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(value)})`);
    return undefined;
  }
  return n;
}

/**
 * Known, explained failures (a coded dtasks error: unknown flow, callback already resumed…) become
 * exit 1 with their message; anything else stays unexpected (a bug report with its stack).
 */
export async function explained<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof DTaskError && !(error instanceof UsageError)) {
      throw new CommandFailure(`${error.message} [${error.code}]`);
    }
    throw error;
  }
}

/** A duration option ("30s", "500ms", or milliseconds), or a problem. */
export function duration(value: string | undefined, name: string, problems: string[]): number | undefined {
  if (value === undefined) return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/.exec(value);
  if (!match) {
    problems.push(`${name} must be a duration such as 500ms, 30s or 5m (got ${JSON.stringify(value)})`);
    return undefined;
  }
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[match[2] ?? "ms"]!;
  return Math.ceil(Number(match[1]) * unit);
}
