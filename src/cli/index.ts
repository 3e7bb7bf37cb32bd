/**
 * The `dtasks` command line: parses the arguments and dispatches to one command per file in
 * `commands/`. Exit codes: 0 success, 1 failure, 2 usage error (every problem listed at once).
 *
 * Adding a command: write `commands/<name>.ts` exporting `(program, context) => void` that
 * declares the command on `program` (see `commands/build.ts`), and list it in {@link COMMANDS}.
 * A command reports bad arguments by throwing {@link UsageError} with all its problems, and a
 * failure it has explained by throwing {@link CommandFailure}.
 *
 * @example
 * import { main } from "./index.js";
 * process.exitCode = await main(["build", "src", "--out-dir", "dist"]);
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { buildCommand } from "./commands/build.js";
import { cancelCommand } from "./commands/cancel.js";
import { lsCommand } from "./commands/ls.js";
import { resumeCommand } from "./commands/resume.js";
import { runCommand } from "./commands/run.js";
import { showCommand } from "./commands/show.js";
import { workerCommand } from "./commands/worker.js";
import { type CliContext, processContext } from "./context.js";
import { CommandFailure } from "./failure.js";
import { UsageError } from "./usage.js";

export type { CliContext } from "./context.js";
export { CommandFailure } from "./failure.js";
export { UsageError } from "./usage.js";

export type DefineCommand = (program: Command, context: CliContext) => void;

/** Every command, in the order `dtasks --help` lists them. */
const COMMANDS: DefineCommand[] = [buildCommand];
// The flow commands (host side), after the build ones.
COMMANDS.push(runCommand, workerCommand, lsCommand, showCommand, resumeCommand, cancelCommand);

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Runs the CLI on `argv` (without the node and script paths) and returns the exit code. */
export async function main(argv: readonly string[], context: CliContext = processContext()): Promise<number> {
  const program = new Command("dtasks")
    .description("durable async/await for TypeScript")
    .version(packageVersion(), "-v, --version")
    // Commands throw instead of calling process.exit(), so output is flushed and tests can run
    // the CLI in process; subcommands inherit both settings when they are created.
    .exitOverride()
    .configureOutput({ writeOut: context.stdout, writeErr: context.stderr });
  for (const define of COMMANDS) define(program, context);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (error) {
    return report(error, context);
  }
}

function report(error: unknown, context: CliContext): number {
  if (error instanceof CommanderError) {
    // commander has printed its message (or the help) already.
    return error.code === "commander.helpDisplayed" || error.code === "commander.version" ? 0 : EXIT_USAGE;
  }
  if (error instanceof UsageError) {
    for (const problem of error.problems) context.stderr(`error: ${problem}\n`);
    context.stderr(`usage: ${error.usage}\n`);
    return EXIT_USAGE;
  }
  if (error instanceof CommandFailure) {
    context.stderr(`error: ${error.message}\n`);
    return EXIT_FAILURE;
  }
  context.stderr(
    `dtasks: unexpected error (please report it)\n${error instanceof Error ? error.stack : String(error)}\n`,
  );
  return EXIT_FAILURE;
}

function packageVersion(): string {
  // `../../package.json` from both `src/cli/` and `dist/cli/`.
  const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return manifest.version;
}
