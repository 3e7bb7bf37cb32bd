/**
 * The runtime half of the step protocol: exception dispatch over the static handler table, and
 * loop cursors, which every stack's {@link StepIO} shares (see protocol.ts and local.ts).
 *
 * @module
 */
import {
  COMPLETION_THROW,
  type Frame,
  type HandlerRow,
  type LoopCursor,
  type StepIO,
} from "../core/protocol.js";

/**
 * Finds the innermost handler of an exception thrown at `frame.s`: a catch block takes it into its
 * slot; a finally block gets it as a throw completion record; a state inside a finally block (or
 * outside every try) passes it outward. Rows are innermost first, so the first match wins.
 */
export function dispatchException(frame: Frame, error: unknown): number {
  const state = frame.s;
  const rows: HandlerRow[] = frame.d.handlers;
  for (let i = 0; i < rows.length; i++) {
    const [tryStart, catchStart, finallyStart, end, catchSlot, k] = rows[i]!;
    const tryEnd = catchStart >= 0 ? catchStart : finallyStart >= 0 ? finallyStart : end;
    if (state >= tryStart && state < tryEnd) {
      if (catchStart >= 0) {
        if (catchSlot !== null) frame.l[catchSlot] = error;
        return catchStart;
      }
      (frame.c ??= [])[k] = { t: COMPLETION_THROW, v: error };
      return finallyStart;
    }
    if (catchStart >= 0 && finallyStart >= 0 && state >= catchStart && state < finallyStart) {
      (frame.c ??= [])[k] = { t: COMPLETION_THROW, v: error };
      return finallyStart;
    }
  }
  throw error;
}

function iterate(iterable: unknown): LoopCursor {
  if (Array.isArray(iterable)) return { $cur: "array", a: iterable, i: 0 };
  const method = (iterable as { [Symbol.iterator]?: unknown } | null | undefined)?.[Symbol.iterator];
  if (typeof method !== "function") throw new TypeError(`${describe(iterable)} is not iterable`);
  return { $cur: "iter", it: method.call(iterable), async: false };
}

function iterateAsync(iterable: unknown): LoopCursor {
  const asyncMethod = (iterable as { [Symbol.asyncIterator]?: unknown } | null | undefined)?.[
    Symbol.asyncIterator
  ];
  if (typeof asyncMethod === "function") return { $cur: "iter", it: asyncMethod.call(iterable), async: true };
  // A sync iterable in `for await`: each value is awaited (CreateAsyncFromSyncIterator).
  const cursor = iterate(iterable);
  if (cursor.$cur === "iter") return { $cur: "iter", it: cursor.it, async: true, w: true };
  if (cursor.$cur === "array") cursor.w = true; // each element is awaited
  return cursor;
}

function forInKeys(object: unknown): LoopCursor {
  const keys: string[] = [];
  if (object !== null && object !== undefined) for (const key in object as object) keys.push(key);
  return { $cur: "keys", k: keys, o: object, i: 0 };
}

const DONE: IteratorResult<unknown> = Object.freeze({ done: true, value: undefined });

function next(cursor: LoopCursor): IteratorResult<unknown> | Promise<IteratorResult<unknown>> {
  switch (cursor.$cur) {
    case "array": {
      if (cursor.i >= cursor.a.length) return cursor.w ? Promise.resolve(undefined).then(() => DONE) : DONE;
      const value = cursor.a[cursor.i++];
      return cursor.w
        ? Promise.resolve(value).then((v) => ({ done: false, value: v }))
        : { done: false, value };
    }
    case "keys": {
      // A key deleted during the loop is not visited (as in a native for-in).
      const object = Object(cursor.o) as object; // `in` needs an object (for-in over a string)
      while (cursor.i < cursor.k.length) {
        const key = cursor.k[cursor.i++]!;
        if (key in object) return { done: false, value: key };
      }
      return DONE;
    }
    case "iter": {
      // Once an iterator said done it is not called again, and not closed (IteratorClose only
      // runs while it is not [[Done]]).
      if (cursor.done) return cursor.async ? Promise.resolve(DONE) : DONE;
      if (cursor.async && !cursor.w) {
        // An async iterator: its own promise is awaited by the loop, as in a native `for await`.
        // Until `took` sees the result, the call is pending: if it rejects, the iterator is not
        // closed (only an abrupt exit of the loop body closes it).
        cursor.p = true;
        return (cursor.it as AsyncIterator<unknown>).next();
      }
      let result: IteratorResult<unknown>;
      try {
        result = (cursor.it as Iterator<unknown>).next();
      } catch (error) {
        cursor.done = true; // an iterator whose next() threw is done, and never closed
        throw error;
      }
      if (typeof result !== "object" || result === null) {
        throw new TypeError(`Iterator result ${String(result)} is not an object`);
      }
      if (result.done) cursor.done = true;
      if (!cursor.async) return result;
      // A sync iterator in `for await` (CreateAsyncFromSyncIterator): the value is awaited.
      const done = result.done === true;
      return Promise.resolve(result.value).then((value) => ({ done, value }));
    }
  }
}

function took(cursor: LoopCursor, result: unknown): IteratorResult<unknown> {
  if (cursor.$cur === "iter") delete cursor.p;
  if (typeof result !== "object" || result === null) {
    throw new TypeError(`Iterator result ${String(result)} is not an object`);
  }
  if ((result as IteratorResult<unknown>).done && cursor.$cur === "iter") cursor.done = true;
  return result as IteratorResult<unknown>;
}

function close(cursor: LoopCursor | undefined, suppress?: boolean): unknown {
  if (cursor === undefined) return undefined;
  // In `for await`, a sync iterable is wrapped by an async-from-sync iterator, whose return()
  // always exists and is always awaited, even when the sync iterator has none.
  if (cursor.$cur === "array") return cursor.w ? Promise.resolve(DONE) : undefined;
  if (cursor.$cur !== "iter" || cursor.done || cursor.p) return undefined;
  if (cursor.w) return closeSyncInAsync(cursor.it as Iterator<unknown>, suppress);
  const ret = cursor.it.return as ((this: unknown) => unknown) | undefined;
  if (typeof ret !== "function") return undefined;
  if (suppress) {
    // IteratorClose with a throw completion: the original exception wins over return()'s.
    try {
      const result = ret.call(cursor.it);
      return cursor.async ? Promise.resolve(result).catch(() => undefined) : undefined;
    } catch {
      return undefined;
    }
  }
  const result = ret.call(cursor.it);
  if (!cursor.async && (typeof result !== "object" || result === null)) {
    throw new TypeError(`Iterator result ${String(result)} is not an object`);
  }
  return result; // a promise for async iterators: the compiled code awaits it
}

function closeSyncInAsync(it: Iterator<unknown>, suppress?: boolean): Promise<unknown> {
  const ret = it.return as ((this: unknown) => IteratorResult<unknown>) | undefined;
  if (typeof ret !== "function") return Promise.resolve(DONE);
  let result: IteratorResult<unknown>;
  try {
    result = ret.call(it);
  } catch (error) {
    if (suppress) return Promise.resolve(DONE);
    throw error;
  }
  if (typeof result !== "object" || result === null) {
    if (suppress) return Promise.resolve(DONE);
    throw new TypeError(`Iterator result ${String(result)} is not an object`);
  }
  const done = Promise.resolve(result.value).then((value) => ({ done: true, value }));
  return suppress ? done.catch(() => DONE) : done;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  return typeof value === "object" ? (value.constructor?.name ?? "object") : typeof value;
}

/** The step IO's helpers, shared by every stack (the driver adds the rest: `v`, `t`, `d`, `all`, `y`). */
export const io: Omit<StepIO, "v" | "t" | "d" | "all" | "y"> = {
  h: dispatchException,
  iter: iterate,
  aiter: iterateAsync,
  keys: forInKeys,
  next,
  took,
  close,
};
