/**
 * Regression (found by differential/programs.test.ts, seed 51, shrunk): liveness is too coarse
 * around `finally`. Inside a try/finally, after a for-of whose body awaits, a local that is dead
 * (here an array of closures, read for the last time before the durable wait) is still counted
 * live at the durable wait — the end of the finally seems to be allowed to jump to any target
 * recorded anywhere in the try, including the for-of's exit, which reads it. The snapshot then
 * holds functions: DT301, although the program never keeps a closure across the wait.
 * (Manifest: `await DTask.delay(1)` lists `fns` as live.)
 */
import { DTask, dasync } from "dtasks";
import type { CorpusCase } from "../../harness/corpus.js";
import { log } from "../../harness/corpus-log.js";

export const deadClosure = dasync(async function deadClosure() {
  try {
    const fns = [() => 1];
    for (const x of [0]) await Promise.resolve(x);
    log(`fns ${fns.length}`);
    await DTask.delay(1);
  } finally {
    log("finally");
  }
  return "done";
});

export const cases: CorpusCase[] = [
  {
    name: "a dead array of closures is not stored",
    run: () => deadClosure(),
    expect: { value: "done", log: ["fns 1", "finally"] },
    suspensions: 1,
  },
];
