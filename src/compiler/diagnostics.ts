/**
 * User-facing compile diagnostics: errors with a code frame of the user's source and a stable code;
 * warnings collected for the caller. Broken compiler invariants are plain assertion errors instead.
 */
import type { NodePath } from "@babel/traverse";
import type * as t from "@babel/types";
import { DTaskError, type ErrorCode } from "../core/errors.js";
import type { CompilerWarning } from "./types.js";

/** Throws a code-framed error for a problem in the user's code. */
export function fail(path: NodePath, code: ErrorCode, message: string): never {
  const error = path.buildCodeFrameError(`[${code}] ${message}`);
  const coded = new DTaskError(code, error.message);
  coded.stack = `${coded.name} [${code}]: ${error.message}`;
  throw coded;
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`dtasks compiler invariant failed: ${message}`);
}

/** `file:line:column` (1-based column) of a node in the original source. */
export function locOf(file: string, node: t.Node | null | undefined): string {
  const start = node?.loc?.start;
  return start ? `${file}:${start.line}:${start.column + 1}` : file;
}

export type WarningSink = (warning: CompilerWarning) => void;
