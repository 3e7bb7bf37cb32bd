/**
 * `dasync`: marks a function as d-async. The compiler replaces the argument with a compiled
 * {@link FunctionDescriptor}; called on anything else (the compiler did not run) the result throws
 * DT201 with instructions, at call time.
 *
 * @module
 */
import { DCall } from "./dtask.js";
import { DTaskError } from "./errors.js";
import { type FunctionDescriptor, isFunctionDescriptor, PROTOCOL_VERSION } from "./protocol.js";

/** A d-async function: calling it returns a cold `DCall`. */
export type DAsyncFunction<A extends unknown[], R> = ((...args: A) => DCall<R>) & {
  readonly descriptor?: FunctionDescriptor;
};

/** Compiled d-async functions loaded in this process, by id (the last loaded wins: hot reload). */
const functions = new Map<string, FunctionDescriptor>();

/** The compiled function with this id, if its module is loaded. */
export function lookupFunction(id: string): FunctionDescriptor | undefined {
  return functions.get(id);
}

/** Every compiled function loaded in this process. */
export function loadedFunctions(): IterableIterator<FunctionDescriptor> {
  return functions.values();
}

const HOW_TO_COMPILE =
  "start node with `--import dtasks/register`, add the bundler plugin (`dtasks/plugin/vite`, `/esbuild`, `/rollup`, `/webpack`), or precompile with `dtasks build`";

function uncompiled(name: string): never {
  throw new DTaskError(
    "DT201",
    `d-async function '${name}' was not compiled by the dtasks compiler; ${HOW_TO_COMPILE}`,
  );
}

function fromDescriptor(descriptor: FunctionDescriptor): DAsyncFunction<unknown[], unknown> {
  if (descriptor.$dtask !== PROTOCOL_VERSION) {
    throw new DTaskError(
      "DT211",
      `d-async function '${descriptor.id}' was compiled for protocol ${descriptor.$dtask}, this runtime speaks ${PROTOCOL_VERSION}; rebuild it with the installed dtasks`,
    );
  }
  functions.set(descriptor.id, descriptor);
  const fn = {
    [descriptor.name](this: unknown, ...args: unknown[]) {
      return new DCall(descriptor, args, descriptor.method ? this : undefined);
    },
  }[descriptor.name]!;
  Object.defineProperty(fn, "descriptor", { value: descriptor });
  descriptor.fn = fn;
  return fn as DAsyncFunction<unknown[], unknown>;
}

/**
 * Marks an async function as d-async.
 *
 * @example
 * export const checkout = dasync(async function checkout(orderId: string) {
 *   await DTask.delay("1h");
 *   return orderId;
 * });
 */
export function dasync<A extends unknown[], R>(fn: (...args: A) => Promise<R>): DAsyncFunction<A, R>;
/** Marks an async function as d-async under a pinned id (survives renames and moves). */
export function dasync<A extends unknown[], R>(
  id: string,
  fn: (...args: A) => Promise<R>,
): DAsyncFunction<A, R>;
/** The `@dasync` decorator for async methods. */
export function dasync<This, A extends unknown[], R>(
  method: (this: This, ...args: A) => Promise<R>,
  context: ClassMethodDecoratorContext<This, (this: This, ...args: A) => Promise<R>>,
): (this: This, ...args: A) => Promise<R>;
export function dasync(...args: unknown[]): unknown {
  const [first, second] = args;
  if (isFunctionDescriptor(first)) return fromDescriptor(first);
  if (typeof second === "object" && second !== null && (second as { kind?: unknown }).kind === "method") {
    const name = String((second as ClassMethodDecoratorContext).name);
    return function uncompiledMethod() {
      uncompiled(name);
    };
  }
  const fn = typeof first === "string" ? second : first;
  if (typeof fn !== "function") {
    throw new DTaskError("DT107", "dasync() expects an async function, or an id and an async function");
  }
  const name = typeof first === "string" ? first : fn.name || "anonymous";
  return function uncompiledDAsync() {
    uncompiled(name);
  };
}
