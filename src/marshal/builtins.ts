/**
 * The built-in prototypes the codec knows, looked up by identity: one `Object.getPrototypeOf` and
 * one Map lookup classify any object, and a subclass of a built-in is never mistaken for it (it has
 * another prototype).
 *
 * @module
 */

import { DTaskCanceledError, DTaskError } from "../core/errors.js";
import { TYPED_ARRAYS, type TypedArrayName } from "./tree.js";

export const K_DATE = 1;
export const K_REGEXP = 2;
export const K_MAP = 3;
export const K_SET = 4;
export const K_ARRAY_BUFFER = 5;
export const K_DATA_VIEW = 6;
export const K_TYPED = 7;
export const K_BUFFER = 8;
export const K_URL = 9;
export const K_ERROR = 10;

/** Storable built-ins, by prototype. */
export const BUILTIN_KINDS = new Map<object, number>([
  [Date.prototype, K_DATE],
  [RegExp.prototype, K_REGEXP],
  [Map.prototype, K_MAP],
  [Set.prototype, K_SET],
  [ArrayBuffer.prototype, K_ARRAY_BUFFER],
  [DataView.prototype, K_DATA_VIEW],
  [URL.prototype, K_URL],
]);
if (typeof Buffer === "function") BUILTIN_KINDS.set(Buffer.prototype, K_BUFFER);

/** Typed-array prototype → tag (the constructor's name). */
export const TYPED_ARRAY_TAGS = new Map<object, TypedArrayName>();
for (const [name, ctor] of Object.entries(TYPED_ARRAYS)) {
  TYPED_ARRAY_TAGS.set(ctor.prototype, name as TypedArrayName);
  BUILTIN_KINDS.set(ctor.prototype, K_TYPED);
}

/**
 * The error classes stored natively, by the name written in the snapshot. `create` makes a genuine
 * error object (with the internal slot `Object.prototype.toString` and `structuredClone` look at)
 * that has no own `message`: the decoder adds exactly the properties the snapshot has.
 */
export const ERROR_CLASSES: Record<string, { prototype: object; create(): Error }> = {
  Error: { prototype: Error.prototype, create: () => new Error() },
  TypeError: { prototype: TypeError.prototype, create: () => new TypeError() },
  RangeError: { prototype: RangeError.prototype, create: () => new RangeError() },
  SyntaxError: { prototype: SyntaxError.prototype, create: () => new SyntaxError() },
  ReferenceError: { prototype: ReferenceError.prototype, create: () => new ReferenceError() },
  EvalError: { prototype: EvalError.prototype, create: () => new EvalError() },
  URIError: { prototype: URIError.prototype, create: () => new URIError() },
  AggregateError: { prototype: AggregateError.prototype, create: () => new AggregateError([]) },
  // The placeholder code is replaced by the stored own `code` field.
  DTaskError: { prototype: DTaskError.prototype, create: () => new DTaskError("DT302", "") },
  DTaskCanceledError: { prototype: DTaskCanceledError.prototype, create: () => new DTaskCanceledError("") },
};

/** Error prototype → stored class name. */
export const ERROR_PROTOTYPES = new Map<object, string>();
for (const [name, { prototype }] of Object.entries(ERROR_CLASSES)) {
  ERROR_PROTOTYPES.set(prototype, name);
  BUILTIN_KINDS.set(prototype, K_ERROR);
}

/** The nearest built-in error class on the prototype chain of `prototype`, if any. */
export function errorBaseOf(prototype: object | null): string | undefined {
  for (let p = prototype; p !== null; p = Object.getPrototypeOf(p)) {
    const name = ERROR_PROTOTYPES.get(p);
    if (name !== undefined) return name;
  }
  return undefined;
}

/** Values that can never be stored, with the advice given for them, by `Symbol.toStringTag`. */
export const UNSTORABLE_ADVICE: Record<string, string> = {
  Promise: "await it before the durable await and keep its result instead",
  WeakMap: "weak collections cannot be stored; use a Map",
  WeakSet: "weak collections cannot be stored; use a Set",
  WeakRef: "weak references cannot be stored",
  FinalizationRegistry: "finalization registries cannot be stored",
  SharedArrayBuffer: "shared memory cannot be stored; copy it into an ArrayBuffer",
  Generator: "generators cannot be stored; collect the items into an array",
  AsyncGenerator: "generators cannot be stored; collect the items into an array",
  String: "store the primitive string instead of a String object",
  Number: "store the primitive number instead of a Number object",
  Boolean: "store the primitive boolean instead of a Boolean object",
  Symbol: "symbols cannot be stored",
  BigInt: "store the primitive bigint instead of a BigInt object",
};

export const ITERATOR_ADVICE = "iterators cannot be stored; collect the items into an array";
export const FUNCTION_ADVICE =
  "functions cannot be stored; keep data or a registered class instance instead, or do not keep it live across a durable await";
export const CLASS_ADVICE =
  "register the class with registerClass(), or do not keep it live across a durable await";
