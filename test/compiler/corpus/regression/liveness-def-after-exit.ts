/**
 * Regression (found by differential/programs.test.ts, seed 5, shrunk): liveness counts an
 * assignment as a definition of the whole state even when the state can leave earlier. Here the
 * resume state of the first await starts with the `if` test (jumping past the branch when false)
 * and then assigns `a = 0`; `a` is taken as killed there, so it is not stored at the durable wait
 * and after the resume `a` is undefined on the path that skips the branch.
 *
 * The same mistake on a loop test (seed 7): `a`, written in the loop body and read after the loop,
 * is taken as never live at the body's await, so it becomes a step-function local ("register")
 * and is lost at every await — even an ordinary one, with no snapshot at all.
 */
import { dasync, DTask } from "dtasks";
import type { CorpusCase } from "../../harness/corpus.js";

export const skipped = dasync(async function skipped(flag: boolean) {
  let a = 1;
  if ((await DTask.yield()) ?? flag) {
    a = 0;
    await Promise.resolve();
  }
  return a;
});

export const writtenInLoop = dasync(async function writtenInLoop(p: number) {
  let a = p;
  let b: number;
  for (let i = 0; i < 1; i++) {
    [a, b = i] = [i + 5];
    await Promise.resolve(b);
  }
  return a;
});

export const cases: CorpusCase[] = [
  { name: "branch not taken after a durable wait", run: () => skipped(false), expect: { value: 1 }, suspensions: 1 },
  { name: "branch taken after a durable wait", run: () => skipped(true), expect: { value: 0 }, suspensions: 1 },
  { name: "written in a loop body, read after the loop (ordinary await)", run: () => writtenInLoop(1), expect: { value: 5 } },
];
