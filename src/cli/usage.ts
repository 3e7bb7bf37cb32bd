/**
 * Usage errors: every problem found on the command line, reported together (exit code 2), so a
 * user fixes them in one go rather than one run at a time.
 */
import type { Command } from "commander";
import { DTaskError } from "../core/errors.js";
import { closest } from "../core/suggest.js";

export class UsageError extends DTaskError {
  constructor(
    readonly problems: string[],
    readonly usage: string,
  ) {
    super("DT701", problems.join("; "));
  }
}

/**
 * The operands and unknown options of a command that was declared with `allowUnknownOption()` and
 * `allowExcessArguments()`: commander then keeps both in `command.args` instead of stopping at the
 * first one, and the command can report them all.
 */
export function splitArgs(command: Command): { operands: string[]; unknownOptions: string[] } {
  const operands: string[] = [];
  const unknownOptions: string[] = [];
  const literal = literalArgs(command);
  let afterDashDash = false;
  for (const arg of command.args) {
    const taken = literal.indexOf(arg);
    if (taken >= 0) {
      literal.splice(taken, 1);
      operands.push(arg);
    } else if (afterDashDash || !arg.startsWith("-") || arg === "-") operands.push(arg);
    else if (arg === "--") afterDashDash = true;
    else unknownOptions.push(arg);
  }
  return { operands, unknownOptions };
}

/**
 * What follows `--` on the command line (`dtasks show -- -xY…`, for a flow id that starts with a
 * dash). commander drops a `--` met before any unknown option, so it is read off the root's raw
 * arguments.
 */
function literalArgs(command: Command): string[] {
  let root = command;
  while (root.parent) root = root.parent;
  const raw = (root as Command & { rawArgs?: string[] }).rawArgs ?? [];
  const at = raw.indexOf("--");
  return at < 0 ? [] : raw.slice(at + 1);
}

/** "unknown option '--ot-dir' (did you mean '--out-dir'?)" */
export function unknownOptionProblem(command: Command, option: string): string {
  const name = option.split("=")[0]!;
  const known = command.options.map((o) => o.long).filter((o): o is string => typeof o === "string");
  const near = closest(name, known, 2);
  return `unknown option '${name}'${near ? ` (did you mean '${near}'?)` : ""}`;
}
