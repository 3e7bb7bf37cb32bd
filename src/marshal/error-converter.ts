/**
 * Errors ↔ tree. An error node keeps what debugging and `catch` blocks rely on: the class (built-in
 * or registered), `name` when it differs from the class's, `message`, `stack`, `cause`, `errors`
 * (AggregateError) and every own enumerable field (`code`, `status`…), each of them a full value
 * (so a cause may be any storable value, and cycles through causes work).
 *
 * Decoding builds a genuine error object of the stored built-in class (then gives it the registered
 * class's prototype, if any) and defines exactly the stored properties on it: no constructor of a
 * user class runs, and no setter is called.
 *
 * @module
 */

import { ERROR_CLASSES } from "./builtins.js";
import type { TreeDecoder } from "./decode.js";
import type { TreeEncoder } from "./encode.js";
import type { ClassEntry } from "./registry.js";
import { T, type Tree, type TreeObject } from "./tree.js";

const hasOwn = Object.hasOwn;

/** Writes `{"$":"Error","cls":…,"cid"?:…,"name"?,"message"?,"stack"?,"cause"?,"errors"?,"props"?}`. */
export function encodeError(
  encoder: TreeEncoder,
  error: Error,
  base: string,
  entry: ClassEntry | undefined,
  d: number,
): Tree {
  const node: TreeObject = { $: T.Error, cls: base };
  if (entry !== undefined) node.cid = entry.id;
  encoder.seen.set(error, node);
  const path = encoder.path;
  const d1 = d + 1;
  const keys = Object.keys(error);

  // Store `name` only when reading it back from the decoded object's class would differ; an own
  // enumerable `name` (`this.name = "HttpError"`) travels with the other fields.
  // The same goes for `message`, which some classes (DOMException) compute in a prototype getter.
  // Fields that are own *enumerable* (assigned rather than set by the constructor) travel in props.
  const prototype = (entry?.prototype ?? ERROR_CLASSES[base].prototype) as Error;
  if (!keys.includes("name")) {
    const name = error.name;
    if (name !== defaultOf(prototype, "name")) {
      path[d] = "name";
      node.name = encoder.value(name, d1);
    }
  }
  if (
    !keys.includes("message") &&
    (hasOwn(error, "message") || error.message !== defaultOf(prototype, "message"))
  ) {
    path[d] = "message";
    node.message = encoder.value(error.message, d1);
  }
  if (hasOwn(error, "stack") && !keys.includes("stack")) {
    path[d] = "stack";
    node.stack = encoder.value(error.stack, d1);
  }
  if (hasOwn(error, "cause") && !keys.includes("cause")) {
    path[d] = "cause";
    node.cause = encoder.value(error.cause, d1);
  }
  if (hasOwn(error, "errors") && !keys.includes("errors")) {
    path[d] = "errors";
    node.errors = encoder.value((error as AggregateError).errors, d1);
  }
  if (keys.length > 0) node.props = encoder.fields(error, keys, d);
  return node;
}

/** What the decoded error would inherit; a getter that cannot run on the bare prototype inherits nothing known. */
function defaultOf(prototype: Error, key: "name" | "message"): unknown {
  try {
    return prototype[key];
  } catch {
    return NOTHING;
  }
}
const NOTHING = Symbol("nothing");

/** Rebuilds an error node. Reads the keys in the order `encodeError` writes them (ids come first). */
export function decodeError(decoder: TreeDecoder, node: TreeObject, d: number): Error {
  const cls = node.cls;
  if (typeof cls !== "string" || !hasOwn(ERROR_CLASSES, cls))
    decoder.fail(d, "an error node with an unknown 'cls'");
  const error = createBare(ERROR_CLASSES[cls].create);
  const cid = node.cid;
  if (cid !== undefined) {
    if (typeof cid !== "string") decoder.fail(d, "an error node with a 'cid' that is not a string");
    const entry = decoder.classEntry(cid, d);
    if (entry.errorBase === undefined) {
      decoder.fail(
        d,
        `an error node names class '${cid}', which is registered as a non-error class or with serialize()`,
      );
    }
    Object.setPrototypeOf(error, entry.prototype);
  }
  decoder.defineNode(node, error, d);

  const path = decoder.path;
  const d1 = d + 1;
  if (hasOwn(node, "name")) {
    path[d] = "name";
    hidden(error, "name", decoder.value(node.name, d1));
  }
  if (hasOwn(node, "message")) {
    path[d] = "message";
    hidden(error, "message", decoder.value(node.message, d1));
  }
  if (hasOwn(node, "stack")) {
    path[d] = "stack";
    hidden(error, "stack", decoder.value(node.stack, d1));
  }
  if (hasOwn(node, "cause")) {
    path[d] = "cause";
    hidden(error, "cause", decoder.value(node.cause, d1));
  }
  if (hasOwn(node, "errors")) {
    path[d] = "errors";
    hidden(error, "errors", decoder.value(node.errors, d1));
  }
  if (hasOwn(node, "props")) decoder.fieldsInto(error, node.props, d, true);
  // Remove what the constructor made but the original did not have. Done last, so a field the
  // props redefined keeps the constructor's position among the own keys, as in the original.
  for (const key of CONSTRUCTOR_MADE) {
    if (!hasOwn(node, key) && Object.getOwnPropertyDescriptor(error, key)?.enumerable === false) {
      delete (error as unknown as Record<string, unknown>)[key];
    }
  }
  return error;
}

const CONSTRUCTOR_MADE = ["message", "errors"] as const;

/**
 * A new error without a captured stack. V8 formats `stack` lazily, from the error's *current*
 * message and name, the first time the property is read or even described; after the stored
 * fields are set that could throw (a message that is an object without toString) or recurse (a
 * message that is the error itself). So the constructor's stack is removed at once, unread, and
 * capturing it is skipped altogether (it would be replaced anyway).
 */
function createBare(create: () => Error): Error {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    const error = create();
    delete error.stack;
    return error;
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** Defines a non-enumerable own data property, as the Error constructors do. */
function hidden(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: false, configurable: true });
}
