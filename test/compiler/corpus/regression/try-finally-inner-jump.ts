/**
 * Regression (found by differential/programs.test.ts, seed 3, shrunk): inside a `try` that has a
 * `finally`, a jump between two states of the try block itself (here the join after the short
 * branch of `c ? x : await y`) is compiled as a jump that crosses the finally: a completion record
 * `{ t: 3, s: <join> }` is stored and control goes to the finally block, which then runs twice —
 * once too early, before the rest of the try block, and again at the end.
 */
import { dasync } from "dtasks";
import type { CorpusCase } from "../../harness/corpus.js";
import { log } from "../../harness/corpus-log.js";

export const conditional = dasync(async function conditional(flag: boolean) {
  try {
    log(`in ${flag ? 1 : await Promise.resolve(2)}`);
  } finally {
    log("finally");
  }
  return "done";
});

export const cases: CorpusCase[] = [
  { name: "short branch of ?: inside try/finally", run: () => conditional(true), expect: { value: "done", log: ["in 1", "finally"] } },
  { name: "awaiting branch of ?: inside try/finally", run: () => conditional(false), expect: { value: "done", log: ["in 2", "finally"] } },
];
