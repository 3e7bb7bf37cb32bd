/**
 * Regression (found by differential/programs.test.ts, seed 81, shrunk): in a for-of whose body
 * awaits, when the iterator's `next()` throws, the compiled loop calls the iterator's `return()`
 * before the error propagates. Natively an iterator whose `next()` threw is done and is never
 * closed (ForIn/OfBodyEvaluation only closes on an abrupt completion of the body).
 */
import { dasync } from "dtasks";
import type { CorpusCase } from "../../harness/corpus.js";
import { log } from "../../harness/corpus-log.js";

class FailsOnSecondNext {
  i = 0;
  [Symbol.iterator]() {
    return this;
  }
  next() {
    if (this.i === 1) throw new RangeError("next failed");
    return { done: false, value: this.i++ };
  }
  return() {
    log("return");
    return { done: true, value: undefined };
  }
}

export const nextThrows = dasync(async function nextThrows() {
  for (const x of new FailsOnSecondNext()) {
    log(`x ${await Promise.resolve(x)}`);
  }
  return "unreached";
});

export const cases: CorpusCase[] = [
  {
    name: "next() throws: the iterator is not closed",
    run: () => nextThrows(),
    expect: { throws: "RangeError: next failed", log: ["x 0"] },
  },
];
