/**
 * The globals a generated program sees (besides `dasync` and `DTask`): the side-effect log,
 * ordinary awaitables of every flavour, iterators that log when they are closed, and small
 * helpers. A fresh environment is made per run, so the native and the compiled run each write
 * their own log.
 *
 * @module
 */
import { show } from "../harness/show.js";

export interface Env {
  /** What the run logged. */
  readonly entries: string[];
  /** The globals, by name. */
  readonly globals: Record<string, unknown>;
}

/**
 * A hard bound on loop iterations and recursive calls, so a miscompiled loop or recursion fails
 * instead of hanging the suite or exhausting the heap (d-async frames live on the heap).
 */
const GUARD_LIMIT = 20_000;

function describeError(e: unknown): string {
  if (e instanceof Error) {
    const cause = "cause" in e ? `<${describeError((e as { cause?: unknown }).cause)}>` : "";
    return `${e.name}:${e.message}${cause}`;
  }
  return `v:${show(e)}`;
}

export function makeEnv(): Env {
  const entries: string[] = [];
  let guardCount = 0;

  /** A sync iterator that logs when closed early (`return()`). */
  class Iter {
    i = 0;
    constructor(
      readonly n: number,
      readonly name: string,
    ) {}
    [Symbol.iterator]() {
      return this;
    }
    next() {
      return this.i < this.n ? { done: false, value: this.i++ * 2 + 1 } : { done: true, value: undefined };
    }
    return() {
      entries.push(`close ${this.name}@${this.i}`);
      return { done: true, value: undefined };
    }
  }

  /** A sync iterator whose return() logs and throws. */
  class BadClose extends Iter {
    override return(): never {
      entries.push(`close ${this.name}@${this.i} throws`);
      throw new Error(`close ${this.name}`);
    }
  }

  /** A sync iterator whose next() throws on the second step. */
  class ThrowingNext extends Iter {
    override next() {
      if (this.i === 1) throw new RangeError(`next ${this.name}`);
      return super.next();
    }
  }

  /** An async iterator that logs when closed early. */
  class AsyncIter {
    i = 0;
    constructor(
      readonly n: number,
      readonly name: string,
    ) {}
    [Symbol.asyncIterator]() {
      return this;
    }
    next() {
      return Promise.resolve(
        this.i < this.n ? { done: false, value: this.i++ * 5 } : { done: true, value: undefined },
      );
    }
    return() {
      entries.push(`aclose ${this.name}@${this.i}`);
      return Promise.resolve({ done: true, value: undefined });
    }
  }

  const globals: Record<string, unknown> = {
    log(value: unknown) {
      entries.push(String(value));
    },
    micro: (v: unknown) => Promise.resolve(v),
    macro: (v: unknown) => new Promise((resolve) => setImmediate(() => resolve(v))),
    rej: (v: unknown) => Promise.reject(new Error(`rej ${String(v)}`)),
    rejMacro: (v: unknown) =>
      new Promise((_, reject) => setImmediate(() => reject(new RangeError(`late ${String(v)}`)))),
    thenable: (v: unknown) => ({
      // biome-ignore lint/suspicious/noThenProperty: a thenable on purpose.
      then(resolve: (x: unknown) => void) {
        resolve(v);
      },
    }),
    /** null for even numbers: a value for `??` that is sometimes nullish. */
    nul: (x: unknown) => (typeof x === "number" && x % 2 === 0 ? null : x),
    msg: describeError,
    keys: (o: object) => Object.keys(o).length,
    show,
    guard() {
      if (++guardCount > GUARD_LIMIT) throw new Error("guard: too many loop iterations or calls");
    },
    mk: (n: number, name: string) => new Iter(n, name),
    mkBad: (n: number, name: string) => new BadClose(n, name),
    mkThrow: (n: number, name: string) => new ThrowingNext(n, name),
    amk: (n: number, name: string) => new AsyncIter(n, name),
    gen: function* gen(n: number, name: string) {
      try {
        for (let i = 0; i < n; i++) yield i * 3 + 1;
      } finally {
        entries.push(`gen-end ${name}`);
      }
    },
    agen: async function* agen(n: number, name: string) {
      try {
        for (let i = 0; i < n; i++) {
          await null;
          yield i * 7 + 2;
        }
      } finally {
        entries.push(`agen-end ${name}`);
      }
    },
  };
  return { entries, globals };
}

/**
 * Module-level declarations every generated program starts with (after its import), so some
 * callees are module bindings of the program itself: a method with `this`, a class for `new`, a
 * plain function, a tag function and a method used as a tag; `gm`, a module-level object the
 * functions write to, and `gs`, one whose property is an accessor that logs every get and set.
 */
export const PRELUDE = `const calc = { base: 3, m(x, y) { return this.base * x - y; } };
class Pt { constructor(x, y) { this.x = x; this.y = y; } sum() { return this.x * 10 + this.y; } }
function h2(x, y) { return x * 2 + (y === undefined ? 7 : y); }
function tag(strings, ...values) { return strings.join("|").length * 100 + values.length * 10 + values.reduce((s, v) => s + (typeof v === "number" ? v : 1), 0); }
const gm = { n: 1 };
const gs = { _v: 1, get v() { log("get " + this._v); return this._v; }, set v(x) { log("set " + x); this._v = x; } };
const tagger = { p: "T", t(strings, ...values) { return this.p.length * 10 + values.length; } };
`;
