/**
 * The native reference: the same program with `dasync` as the identity and every durable wait
 * replaced by its in-process equivalent, so it runs as the plain async functions it was written as.
 *
 * Throw injection: a durable delay of at least {@link FAILING_DELAY_MS} milliseconds stands for a
 * wait that fails (a timeout, a cancellation). Natively it rejects with {@link waitFailure}; the
 * compiled run resumes the snapshot with that same error.
 *
 * @module
 */

import type { PluginObj } from "@babel/core";
import { transformSync } from "@babel/core";
import { toMilliseconds } from "../../../src/core/duration.js";

export const FAILING_DELAY_MS = 1_000_000;

export function waitFailure(ms: number): Error {
  return new Error(`durable wait failed: delay(${ms})`);
}

/** `dasync` for native runs: `dasync(fn)`, `dasync("id", fn)` and `@dasync` all give the function. */
export function nativeDasync(...args: unknown[]): unknown {
  return typeof args[0] === "string" ? args[1] : args[0];
}

/** `DTask` for native runs: each durable wait becomes an already settled promise. */
export const nativeDTask = {
  delay(duration: number | string): Promise<void> {
    const ms = toMilliseconds(duration);
    return ms >= FAILING_DELAY_MS ? Promise.reject(waitFailure(ms)) : Promise.resolve();
  },
  yield(): Promise<void> {
    return Promise.resolve();
  },
  fromResult<T>(value: T): Promise<T> {
    return Promise.resolve(value);
  },
  fromError(error: unknown): Promise<never> {
    return Promise.reject(error);
  },
  get completed(): Promise<void> {
    return Promise.resolve();
  },
  isDTask(): boolean {
    return false;
  },
};

/** Removes `@dasync` decorators: natively a d-async method is the plain async method. */
function stripDasyncDecorators(): PluginObj {
  return {
    name: "strip-dasync-decorators",
    visitor: {
      ClassMethod(path) {
        const decorators = path.node.decorators;
        if (!decorators) return;
        path.node.decorators = decorators.filter(
          (d) => !(d.expression.type === "Identifier" && d.expression.name === "dasync"),
        );
      },
    },
  };
}

/** TypeScript (or JavaScript) module text → plain JavaScript for the native run. */
export function nativeSource(code: string, filename: string): string {
  const ts = /\.[cm]?tsx?$/.test(filename);
  const result = transformSync(code, {
    filename,
    babelrc: false,
    configFile: false,
    compact: false,
    retainLines: true,
    parserOpts: { plugins: [["decorators", { decoratorsBeforeExport: true }]] },
    plugins: [
      ...(ts
        ? [["@babel/plugin-transform-typescript", { onlyRemoveTypeImports: false }] as [string, object]]
        : []),
      stripDasyncDecorators,
    ],
  });
  if (!result?.code) throw new Error(`native: could not prepare ${filename}`);
  return result.code;
}
