/**
 * The differential harness: one program, run natively and compiled, observed the same way.
 *
 * - Native: `dasync` is the identity and durable waits are settled promises (see native.ts).
 * - Compiled: `transform()` output, driven by the stack driver in chaos mode (every ordinary await
 *   cuts the frame down to its live slots and round-trips them through a codec), and at every
 *   durable wait the whole stack is encoded to text, every in-memory reference dropped, the text
 *   decoded and resumed.
 *
 * An observation is the outcome (value or thrown error, rendered by `show`) and the side-effect
 * log; a compiled observation also counts suspensions.
 *
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { transform } from "../../../src/compiler/index.js";
import type { TransformResult } from "../../../src/compiler/types.js";
import { DCall, DelayTask, type DTask } from "../../../src/core/dtask.js";
import type { FunctionDescriptor } from "../../../src/core/protocol.js";
import * as dtasks from "../../../src/index.js";
import { type Outcome, resume, type StackSnapshot, snapshotOf, start } from "../../../src/runtime/local.js";
import { type Codec, chaosCodec, marshalCodec } from "./codec.js";
import { convertModule, runModule } from "./module.js";
import { FAILING_DELAY_MS, nativeDasync, nativeDTask, nativeSource, waitFailure } from "./native.js";
import { show, showThrown } from "./show.js";

export const REPO_ROOT = resolve(new URL("../../..", import.meta.url).pathname);

export interface Observation {
  /** `value <show(value)>`, `throw <showThrown(error)>`, or `harness <problem>`. */
  result: string;
  log: string[];
}

export interface CompiledObservation extends Observation {
  suspensions: number;
  /** Largest stack at a suspension, in frames. */
  maxFrames: number;
  /** Total snapshot text, in bytes. */
  snapshotBytes: number;
}

/** A fault injected into compiled descriptors, to prove the suite notices it (sensitivity tests). */
export type Fault =
  | "none"
  /** Every non-empty live set loses its last slot. */
  | "liveness"
  /** Every function's exception table loses its innermost row (an exception edge goes missing). */
  | "handlers";

export interface CompiledModule {
  exports: Record<string, unknown>;
  result: TransformResult;
  /** Every descriptor the module passed to `dasync` (exported or not). */
  descriptors: FunctionDescriptor[];
}

/** Where a program's imports come from; `dtasks` is this repository's runtime (or the native shim). */
async function loadImports(
  specifiers: string[],
  filename: string,
  dtasksNamespace: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const imports: Record<string, unknown> = {};
  for (const spec of specifiers) {
    if (spec in imports) continue;
    if (spec === "dtasks") {
      imports[spec] = dtasksNamespace;
    } else if (spec.startsWith(".")) {
      const base = pathToFileURL(isAbsolute(filename) ? filename : resolve(REPO_ROOT, filename));
      imports[spec] = await import(new URL(spec, base).href);
    } else {
      imports[spec] = await import(spec);
    }
  }
  return imports;
}

/** Native runs never snapshot, so classes need no registration (and a second one would clash). */
const NATIVE_DTASKS: Record<string, unknown> = {
  ...dtasks,
  dasync: nativeDasync,
  DTask: nativeDTask,
  registerClass: <C>(cls: C) => cls,
};

/** Evaluates a program natively. TypeScript and `@dasync` decorators are stripped first. */
export async function loadNative(
  source: string,
  filename: string,
  globals: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const plain =
    /\.[cm]?tsx?$/.test(filename) || source.includes("@dasync") ? nativeSource(source, filename) : source;
  const converted = convertModule(plain);
  const imports = await loadImports(converted.specifiers, filename, NATIVE_DTASKS);
  return runModule(converted, imports, globals);
}

/** Compiles a program with `transform()` and evaluates the output. */
export async function loadCompiled(
  source: string,
  filename: string,
  globals: Record<string, unknown> = {},
): Promise<CompiledModule> {
  const result = transform(source, { filename, root: REPO_ROOT, sourceMaps: false });
  const converted = convertModule(result.code);
  const descriptors: FunctionDescriptor[] = [];
  const recordingDtasks: Record<string, unknown> = {
    ...dtasks,
    // Sees every descriptor the module defines, so faults can be injected into all of them.
    dasync(...args: unknown[]) {
      const fn = (dtasks.dasync as (...a: unknown[]) => unknown)(...args) as {
        descriptor?: FunctionDescriptor;
      };
      if (fn?.descriptor) descriptors.push(fn.descriptor);
      return fn;
    },
  };
  const imports = await loadImports(converted.specifiers, filename, recordingDtasks);
  return { exports: runModule(converted, imports, globals), result, descriptors };
}

/** The compiled descriptors a module's exports reach (d-async functions and classes' methods). */
export function descriptorsOf(exports: Record<string, unknown>): FunctionDescriptor[] {
  const found = new Set<FunctionDescriptor>();
  const visit = (value: unknown) => {
    if (typeof value !== "function") return;
    const d = (value as { descriptor?: FunctionDescriptor }).descriptor;
    if (d) found.add(d);
    const proto = (value as { prototype?: object }).prototype;
    if (proto) {
      for (const key of Object.getOwnPropertyNames(proto)) {
        const member = Object.getOwnPropertyDescriptor(proto, key)?.value;
        const md = (member as { descriptor?: FunctionDescriptor } | undefined)?.descriptor;
        if (md) found.add(md);
      }
    }
  };
  for (const value of Object.values(exports)) visit(value);
  return [...found];
}

/** Injects a fault into compiled descriptors (in place). */
export function injectFault(descriptors: Iterable<FunctionDescriptor>, fault: Fault): void {
  if (fault === "none") return;
  for (const d of descriptors) {
    if (fault === "liveness") {
      for (const point of Object.values(d.sp)) {
        if (point.live.length > 0) point.live = point.live.slice(0, -1);
      }
    } else if (fault === "handlers") {
      d.handlers = d.handlers.slice(1);
    }
  }
}

const TIMEOUT_MS = 20_000;

async function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`harness timeout: ${what} did not settle in ${TIMEOUT_MS} ms`)),
      TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a native call (anything returning a promise) and observes it. */
export async function observeNative(call: () => unknown, log: string[]): Promise<Observation> {
  let result: string;
  try {
    const value = await withTimeout(Promise.resolve().then(call), "native run");
    result = `value ${show(value)}`;
  } catch (error) {
    result =
      error instanceof Error && error.message.startsWith("harness timeout")
        ? `harness ${error.message}`
        : `throw ${showThrown(error)}`;
  }
  return { result, log: [...log] };
}

export interface CompiledRunOptions {
  /** Codec of the in-process round trip after every ordinary await; false turns chaos off. */
  chaos?: "copy" | "identity" | false;
  /** Codec of durable snapshots. @default the real marshal (`marshalCodec()`) */
  snapshot?: Codec;
  /** Sees every snapshot as text (to write it to a file, or inspect it). */
  onSnapshot?: (text: string) => void;
}

/** The resume event of a durable wait: delays of FAILING_DELAY_MS or more fail, others complete. */
export function wakeOf(wait: unknown): { value: unknown } | { error: unknown } {
  if (wait instanceof DelayTask && wait.ms >= FAILING_DELAY_MS) return { error: waitFailure(wait.ms) };
  return { value: undefined };
}

/** Drives a compiled call to its end, snapshotting to text and resuming at every durable wait. */
export async function runCompiledToEnd(
  call: DCall<unknown>,
  options: CompiledRunOptions = {},
): Promise<{ outcome: Outcome; suspensions: number; maxFrames: number; snapshotBytes: number }> {
  const chaos = options.chaos === false ? undefined : chaosCodec(options.chaos ?? "identity");
  const codec = options.snapshot ?? marshalCodec();
  let suspensions = 0;
  let maxFrames = 0;
  let snapshotBytes = 0;
  let outcome: Outcome | undefined = await start(call, { chaos });
  while (outcome.status === "suspended") {
    suspensions++;
    maxFrames = Math.max(maxFrames, outcome.stack.length);
    const text = codec.encode(snapshotOf(outcome));
    snapshotBytes += text.length;
    options.onSnapshot?.(text);
    outcome = undefined; // nothing of the suspended run survives but the text
    const snapshot = codec.decode(text) as StackSnapshot;
    outcome = await resume(snapshot, wakeOf(snapshot.wait as DTask<unknown>), { chaos });
  }
  return { outcome, suspensions, maxFrames, snapshotBytes };
}

/** Runs a compiled call (a function returning a `DCall`) and observes it. */
export async function observeCompiled(
  call: () => unknown,
  log: string[],
  options: CompiledRunOptions = {},
): Promise<CompiledObservation> {
  let result: string;
  let suspensions = 0;
  let maxFrames = 0;
  let snapshotBytes = 0;
  try {
    const dcall = call();
    if (!(dcall instanceof DCall)) {
      throw new Error(`harness: the compiled entry returned ${show(dcall)}, not a DCall (was it compiled?)`);
    }
    const run = await withTimeout(runCompiledToEnd(dcall, options), "compiled run");
    ({ suspensions, maxFrames, snapshotBytes } = run);
    result =
      run.outcome.status === "succeeded"
        ? `value ${show(run.outcome.value)}`
        : run.outcome.status === "faulted"
          ? `throw ${showThrown(run.outcome.error)}`
          : "harness still suspended";
  } catch (error) {
    result = `harness ${showThrown(error)}`;
  }
  return { result, log: [...log], suspensions, maxFrames, snapshotBytes };
}
