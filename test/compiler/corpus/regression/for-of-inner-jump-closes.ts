/**
 * Regression (found by differential/programs.test.ts, seed 4, shrunk): in a `for-of` / `for await`
 * over an iterator whose body awaits, a jump between two states of the body (the join after the
 * short branch of `c ? x : await y`) is compiled as an exit from the loop: the iterator's
 * `return()` runs although the loop goes on and ends normally (where `return()` is never called).
 * Same family as try-finally-inner-jump.ts (the iterator close is a synthesized finally).
 */
import { dasync } from "dtasks";
import type { CorpusCase } from "../../harness/corpus.js";
import { log } from "../../harness/corpus-log.js";

class Counter {
  i = 0;
  constructor(readonly n: number) {}
  [Symbol.iterator]() {
    return this;
  }
  [Symbol.asyncIterator]() {
    return this;
  }
  next() {
    return this.i < this.n ? { done: false, value: ++this.i } : { done: true, value: undefined };
  }
  return() {
    log("return");
    return { done: true, value: undefined };
  }
}

export const syncLoop = dasync(async function syncLoop() {
  for (const x of new Counter(1)) {
    log(`x ${x ? x : await Promise.resolve(0)}`);
  }
  return "done";
});

export const asyncLoop = dasync(async function asyncLoop() {
  for await (const x of new Counter(1)) {
    log(`x ${x ? x : await Promise.resolve(0)}`);
  }
  return "done";
});

export const cases: CorpusCase[] = [
  { name: "for-of, short branch of ?: in the body", run: () => syncLoop(), expect: { value: "done", log: ["x 1"] } },
  { name: "for await, short branch of ?: in the body", run: () => asyncLoop(), expect: { value: "done", log: ["x 1"] } },
];
