/**
 * Values that cannot be stored. The encoder does not stop at the first one: it collects every
 * offender and throws a single DT301 error listing them all, so a user fixes a frame in one pass.
 * Each entry names where the value is and what type it is — never the value itself, because
 * snapshots (and so these messages, which end up in logs) may concern personal data.
 *
 * @module
 */

import { DTaskError, ensureError } from "../core/errors.js";
import { CLASS_ADVICE, FUNCTION_ADVICE, ITERATOR_ADVICE, UNSTORABLE_ADVICE } from "./builtins.js";
import { formatPath, type PathSegment } from "./path.js";

/** One value that cannot be stored. */
export interface Offender {
  /** Where it is, from the value given to `encode` (see `formatPath`). */
  path: PathSegment[];
  /** What it is: `Socket`, `function onDone`, `Promise`, `Symbol`… */
  type: string;
  /** What to do about it. */
  reason: string;
}

/** The DT301 error `encode` throws: a `DTaskError` with the list of offenders attached. */
export type UnstorableValueError = DTaskError & { code: "DT301"; offenders: Offender[] };

/** Only this many offenders are spelled out in the message; `offenders` has them all. */
const LISTED = 20;

/** One line of the message: `l.server: Socket (register the class …)`. */
export function formatOffender(offender: Offender): string {
  return `${formatPath(offender.path)}: ${offender.type} (${offender.reason})`;
}

/** Builds the single error thrown for all offenders of one `encode` call. */
export function unstorableError(offenders: Offender[], cause: unknown): UnstorableValueError {
  const count = offenders.length;
  const lines = offenders.slice(0, LISTED).map((o) => `  ${formatOffender(o)}`);
  if (count > LISTED) lines.push(`  … and ${count - LISTED} more (see error.offenders)`);
  const message = `cannot store ${count === 1 ? "a value" : `${count} values`} in a snapshot:\n${lines.join("\n")}`;
  const error = new DTaskError(
    "DT301",
    message,
    cause === undefined ? undefined : { cause: ensureError(cause) },
  );
  return Object.assign(error, { offenders }) as UnstorableValueError;
}

/** True for the error {@link unstorableError} builds (also from another copy of dtasks). */
export function isUnstorableValueError(error: unknown): error is UnstorableValueError {
  return (
    error instanceof DTaskError &&
    error.code === "DT301" &&
    Array.isArray((error as { offenders?: unknown }).offenders)
  );
}

/** The type name of a function, for a message: `function onDone`, `class Foo`, `function <anonymous>`. */
export function functionType(fn: Function): string {
  let name = "";
  try {
    name = typeof fn.name === "string" ? fn.name : "";
  } catch {
    // A throwing `name` getter only costs us the name.
  }
  let isClass = false;
  try {
    isClass = Function.prototype.toString.call(fn).startsWith("class");
  } catch {
    // Proxies of functions refuse toString; they are still functions.
  }
  return `${isClass ? "class" : "function"} ${name || "<anonymous>"}`;
}

/**
 * Names an object the codec does not know and says what to do about it. Reads only the prototype
 * chain (constructor name, `Symbol.toStringTag`), never the object's own data.
 */
export function describeUnknownObject(
  value: object,
  prototype: object | null,
): { type: string; reason: string } {
  let tag = "Object";
  try {
    tag = Object.prototype.toString.call(value).slice(8, -1);
  } catch {
    // A throwing Symbol.toStringTag getter: fall back to the constructor name.
  }
  const advice = UNSTORABLE_ADVICE[tag];
  if (advice !== undefined) return { type: tag, reason: advice };
  if (tag.endsWith("Iterator")) return { type: tag, reason: ITERATOR_ADVICE };
  let ctorName = "";
  try {
    const ctor = prototype === null ? undefined : (prototype as { constructor?: unknown }).constructor;
    if (typeof ctor === "function" && typeof ctor.name === "string") ctorName = ctor.name;
  } catch {
    // ignore: an exotic prototype
  }
  const type = tag !== "Object" ? tag : ctorName || "object with an unknown prototype";
  return { type, reason: CLASS_ADVICE };
}

export { FUNCTION_ADVICE };
