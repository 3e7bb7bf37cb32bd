/**
 * `dtasks build <srcDir> --out-dir <dir>`: precompiles a source tree for production images and
 * libraries, which then need no loader. D-async modules are compiled, other TypeScript is
 * stripped, plain JavaScript is kept as it is; each output gets a source map, and
 * `dtasks-manifest.json` lists every d-async function. Other files are not copied.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import type { Command } from "commander";
import { formatWarning } from "../../compiler/node/compile-file.js";
import { compileTree } from "../build/compile-tree.js";
import { MANIFEST_FILE } from "../build/manifest.js";
import type { CliContext } from "../context.js";
import { CommandFailure } from "../failure.js";
import { splitArgs, UsageError, unknownOptionProblem } from "../usage.js";

export function buildCommand(program: Command, context: CliContext): void {
  program
    .command("build")
    .description("compile a source tree to JavaScript with source maps and a d-async function manifest")
    .argument("<srcDir>", "folder of the sources (.ts, .mts, .tsx, .js, .mjs)")
    .usage("<srcDir> --out-dir <dir>")
    .option("-o, --out-dir <dir>", "folder to write the JavaScript, source maps and dtasks-manifest.json to")
    // Collected and reported together by the action, rather than commander stopping at the first.
    .allowUnknownOption()
    .allowExcessArguments()
    .action(function (this: Command) {
      const { srcDir, outDir } = checkArgs(this, context);
      build(srcDir, outDir, context);
    });
}

function checkArgs(command: Command, context: CliContext): { srcDir: string; outDir: string } {
  const { operands, unknownOptions } = splitArgs(command);
  const { outDir: outOption } = command.opts<{ outDir?: string }>();
  const problems = unknownOptions.map((option) => unknownOptionProblem(command, option));
  // After an unknown option, the next word may be its value rather than an operand: only the
  // unknown option is then reported, not a possibly wrong count of source folders.
  const operandsKnown = unknownOptions.length === 0;
  if (operands.length === 0) problems.push("missing the source folder <srcDir>");
  if (operands.length > 1 && operandsKnown) {
    problems.push(`one source folder expected, got ${operands.length}: ${operands.join(" ")}`);
  }
  if (outOption === undefined) problems.push("missing --out-dir <dir>");
  const srcDir = operands[0] === undefined || !operandsKnown ? undefined : resolve(context.cwd, operands[0]);
  const outDir = outOption === undefined ? undefined : resolve(context.cwd, outOption);
  if (srcDir !== undefined && !isDirectory(srcDir))
    problems.push(`source folder ${operands[0]} does not exist or is not a folder`);
  if (outDir !== undefined && existsSync(outDir) && !isDirectory(outDir))
    problems.push(`--out-dir ${outOption} is a file`);
  if (srcDir !== undefined && outDir !== undefined && srcDir === outDir) {
    problems.push(
      "--out-dir must differ from the source folder (the output would overwrite JavaScript sources)",
    );
  }
  if (problems.length > 0) throw new UsageError(problems, `dtasks build ${command.usage()}`);
  return { srcDir: srcDir!, outDir: outDir! };
}

function build(srcDir: string, outDir: string, context: CliContext): void {
  const result = compileTree(srcDir, outDir);
  for (const warning of result.warnings) context.stderr(`${formatWarning(warning)}\n`);
  if (result.files === 0) throw new CommandFailure(`no source files in ${srcDir}`);
  if (result.errors.length > 0) {
    for (const error of result.errors) context.stderr(`${error}\n\n`);
    const n = result.errors.length;
    throw new CommandFailure(`build failed with ${n} error${n === 1 ? "" : "s"}; nothing was written`);
  }
  for (const output of result.outputs) write(output.path, output.text);
  write(join(outDir, MANIFEST_FILE), `${JSON.stringify(result.manifest, null, 2)}\n`);
  const functions = Object.keys(result.manifest.functions).length;
  context.stdout(
    `dtasks build: ${result.files} file${result.files === 1 ? "" : "s"} → ${displayPath(outDir, context)} ` +
      `(${functions} d-async function${functions === 1 ? "" : "s"} in ${result.compiled} module${result.compiled === 1 ? "" : "s"})\n`,
  );
}

function write(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

function isDirectory(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

function displayPath(path: string, context: CliContext): string {
  const rel = relative(context.cwd, path);
  return rel === "" ? "." : rel.startsWith(`..${sep}`) ? path : rel;
}
