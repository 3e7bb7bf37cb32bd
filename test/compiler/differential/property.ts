/**
 * The differential property: a generated program, run natively and compiled (chaos mode, and a
 * text snapshot plus resume at every durable wait), must give the same outcome and the same log.
 *
 * Environment:
 * - `DTASKS_FC_SEED`: the seed (printed on failure; default: the suite's fixed seed; `random` explores).
 * - `DTASKS_FC_RUNS`: programs per property (default: the suite's count).
 * - `DTASKS_FC_PATH`: replays one shrunk counterexample (with its seed), as printed on failure.
 *
 * @module
 */
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { propertySeed } from "../../setup/seed.js";
import {
  type CompiledObservation,
  type Fault,
  injectFault,
  loadCompiled,
  loadNative,
  type Observation,
  observeCompiled,
  observeNative,
} from "../harness/run.js";
import { makeEnv } from "./env.js";
import { type GeneratorOptions, type PrintedProgram, printProgram, programArbitrary } from "./generator.js";

export interface SuiteStats {
  programs: number;
  suspensions: number;
  /** Programs that suspended at least once. */
  suspending: number;
  /** Programs whose outcome is a thrown error. */
  throwing: number;
  maxFrames: number;
  snapshotBytes: number;
  /** Programs that create closures (run with identity chaos). */
  closures: number;
}

export function emptyStats(): SuiteStats {
  return {
    programs: 0,
    suspensions: 0,
    suspending: 0,
    throwing: 0,
    maxFrames: 0,
    snapshotBytes: 0,
    closures: 0,
  };
}

let programCounter = 0;

/** Errors a generated program throws on purpose; anything else natively is a generator bug. */
const INTENDED =
  /^(throw (Error|TypeError|RangeError): (T\d+|rej |late |fe |durable wait failed|close it|next it)|throw non-error |value )/;

export interface DifferentialResult {
  printed: PrintedProgram;
  native: Observation;
  compiled: CompiledObservation;
}

/** Runs one printed program natively. */
export async function runNatively(printed: PrintedProgram, filename: string): Promise<Observation> {
  const env = makeEnv();
  const module = await loadNative(printed.source, filename, env.globals);
  return observeNative(() => (module.main as (...a: unknown[]) => unknown)(...printed.args), env.entries);
}

/**
 * How a compiled run treats ordinary awaits: "chaos" sends each through the driver, which cuts the
 * frame to its live slots and round-trips them; "native" leaves them to the step, which awaits
 * them itself (the production path), so only durable waits leave the frame.
 */
export type OrdinaryAwaits = "chaos" | "native";

/** Compiles and runs one printed program (with a fault injected into its descriptors, if asked). */
export async function runCompiled(
  printed: PrintedProgram,
  filename: string,
  fault: Fault = "none",
  awaits: OrdinaryAwaits = "chaos",
): Promise<CompiledObservation> {
  const env = makeEnv();
  try {
    const { exports, descriptors } = await loadCompiled(printed.source, filename, env.globals);
    injectFault(descriptors, fault);
    return await observeCompiled(
      () => (exports.main as (...a: unknown[]) => unknown)(...printed.args),
      env.entries,
      { chaos: awaits === "native" ? false : printed.closures ? "identity" : "copy" },
    );
  } catch (error) {
    // A compile error (or a crash while loading the output) is a difference too.
    return {
      result: `harness compile: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      log: [],
      suspensions: 0,
      maxFrames: 0,
      snapshotBytes: 0,
    };
  }
}

/** Runs one printed program both ways. */
export async function runBothWays(
  printed: PrintedProgram,
  filename: string,
  fault: Fault = "none",
  awaits: OrdinaryAwaits = "chaos",
): Promise<DifferentialResult> {
  const native = await runNatively(printed, filename);
  const compiled = await runCompiled(printed, filename, fault, awaits);
  return { printed, native, compiled };
}

function agree(a: Observation, b: Observation): boolean {
  return a.result === b.result && isDeepStrictEqual(a.log, b.log);
}

function firstDifference(a: string[], b: string[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** A readable account of a difference (or of a generator bug). */
export function describeDifference(run: DifferentialResult, problem: string): string {
  const { printed, native, compiled } = run;
  const at = firstDifference(native.log, compiled.log);
  const around = (log: string[]) =>
    log
      .slice(Math.max(0, at - 3), at + 4)
      .map((line, i) => `      ${Math.max(0, at - 3) + i}: ${line}`)
      .join("\n");
  return [
    problem,
    `  args: ${JSON.stringify(printed.args)}   chaos: ${printed.closures ? "identity" : "copy"}   suspensions: ${compiled.suspensions}`,
    `  native:   ${native.result}`,
    `  compiled: ${compiled.result}`,
    at < 0
      ? `  logs equal (${native.log.length} entries)`
      : `  logs differ at entry ${at} (native ${native.log.length}, compiled ${compiled.log.length} entries):\n    native:\n${around(native.log)}\n    compiled:\n${around(compiled.log)}`,
    "  program:",
    printed.source
      .split("\n")
      .map((line) => `    ${line}`)
      .join("\n"),
  ].join("\n");
}

/** The property over generated programs. */
export function differentialProperty(
  options: GeneratorOptions,
  stats: SuiteStats,
  fault: Fault = "none",
  awaits: OrdinaryAwaits = "chaos",
): fc.IAsyncProperty<[import("./generator.js").ProgramTree]> {
  return fc.asyncProperty(programArbitrary(options), async (tree) => {
    const name = `g${programCounter++}`;
    const printed = printProgram(tree, name);
    const run = await runBothWays(printed, `test/compiler/differential/generated/${name}.js`, fault, awaits);
    if (!INTENDED.test(run.native.result)) {
      throw new Error(
        describeDifference(run, "generator bug: the native run failed in a way the generator never intends"),
      );
    }
    stats.programs++;
    stats.suspensions += run.compiled.suspensions;
    if (run.compiled.suspensions > 0) stats.suspending++;
    if (run.native.result.startsWith("throw")) stats.throwing++;
    if (printed.closures) stats.closures++;
    stats.maxFrames = Math.max(stats.maxFrames, run.compiled.maxFrames);
    stats.snapshotBytes += run.compiled.snapshotBytes;
    if (!agree(run.native, run.compiled)) {
      throw new Error(describeDifference(run, "compiled run differs from the native run"));
    }
  });
}

export interface SensitivityCounters {
  /** Programs the healthy compiler runs right (the only ones that can show the fault). */
  informative: number;
  /** Programs skipped because the healthy compiler already differs from native (a real bug). */
  skipped: number;
  /** Programs tried while shrinking, after the fault first showed. */
  shrinking?: number;
}

/** Shrinking the sensitivity counterexample stops after this many programs (it only illustrates). */
const SENSITIVITY_SHRINK_BUDGET = 40;

/**
 * The sensitivity property: it FAILS exactly when a program that the compiler runs right (compiled
 * ≡ native) runs differently once `fault` is injected into the compiled descriptors. A suite that
 * can tell the fault exists makes this property fail, and fast-check shrinks to a smallest program
 * that shows it.
 */
export function sensitivityProperty(
  options: GeneratorOptions,
  fault: Exclude<Fault, "none">,
  counters: SensitivityCounters,
): fc.IAsyncProperty<[import("./generator.js").ProgramTree]> {
  return fc.asyncProperty(programArbitrary(options), async (tree) => {
    if (counters.shrinking !== undefined && ++counters.shrinking > SENSITIVITY_SHRINK_BUDGET) return;
    const name = `s${programCounter++}`;
    const printed = printProgram(tree, name);
    const base = `test/compiler/differential/generated/${name}`;
    const native = await runNatively(printed, `${base}.js`);
    const healthy = await runCompiled(printed, `${base}.js`);
    if (!agree(native, healthy)) {
      counters.skipped++;
      return;
    }
    counters.informative++;
    const faulty = await runCompiled(printed, `${base}-${fault}.js`, fault);
    if (!agree(native, faulty)) {
      counters.shrinking ??= 0;
      throw new Error(
        describeDifference({ printed, native, compiled: faulty }, `the injected fault '${fault}' shows`),
      );
    }
  });
}

export interface CheckSettings {
  runs: number;
  seed: number;
  path?: string;
}

/**
 * Program shape for a suite, scaled up with DTASKS_GEN_SIZE=large (deeper nesting, longer
 * blocks, more children: slower, for long exploratory runs).
 */
export function sized(options: GeneratorOptions): GeneratorOptions {
  if (process.env.DTASKS_GEN_SIZE !== "large") return options;
  return {
    ...options,
    stmtDepth: (options.stmtDepth ?? 4) + 2,
    exprDepth: (options.exprDepth ?? 3) + 1,
    blockLength: (options.blockLength ?? 4) + 2,
    children: (options.children ?? 3) + 2,
  };
}

/** Runs and seed from the environment (DTASKS_FC_RUNS, DTASKS_FC_SEED, DTASKS_FC_PATH). */
export function settings(defaultRuns: number): CheckSettings {
  const runs = process.env.DTASKS_FC_RUNS ? Number(process.env.DTASKS_FC_RUNS) : defaultRuns;
  const seed = propertySeed();
  const path = process.env.DTASKS_FC_PATH || undefined;
  return { runs, seed, path };
}

/** Formats a failed check: seed and path to replay it, then the shrunk counterexample. */
export function report<T>(details: fc.RunDetails<T>, label: string): string {
  const error =
    details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  return [
    `${label}: failed after ${details.numRuns} program(s), shrunk ${details.numShrinks} time(s)`,
    `  replay: DTASKS_FC_SEED=${details.seed} DTASKS_FC_PATH=${details.counterexamplePath ?? ""} node scripts/test.mjs <this file>`,
    error,
  ].join("\n");
}

export function summary(stats: SuiteStats, ms: number): string {
  return `${stats.programs} programs, ${stats.suspensions} durable suspensions (${stats.suspending} programs suspended; max ${stats.maxFrames} frames), ${stats.throwing} ending in a throw, ${stats.closures} with closures, ${(stats.snapshotBytes / 1024).toFixed(0)} KiB of snapshots, ${(ms / 1000).toFixed(1)} s`;
}
