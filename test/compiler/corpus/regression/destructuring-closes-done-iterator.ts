/**
 * Regression (found by differential/programs.test.ts, seed 3, shrunk): an array pattern lowered
 * because a default awaits closes its iterator even when the iterator is already done. Natively
 * (IteratorBindingInitialization, then IteratorClose only if not [[Done]]) an exhausted iterator is
 * never closed and `next` is not called again after it said done.
 */
import { dasync } from "dtasks";
import type { CorpusCase } from "../../harness/corpus.js";
import { log } from "../../harness/corpus-log.js";

class Empty {
  [Symbol.iterator]() {
    return this;
  }
  next() {
    log("next");
    return { done: true, value: undefined };
  }
  return() {
    log("return");
    return { done: true, value: undefined };
  }
}

export const exhausted = dasync(async function exhausted() {
  const [a, b = await Promise.resolve(2)] = new Empty();
  return `${a}/${b}`;
});

export const cases: CorpusCase[] = [
  {
    name: "const [a, b = await x] = <exhausted iterator>",
    run: () => exhausted(),
    expect: { value: "undefined/2", log: ["next"] },
  },
];
