/**
 * Registers (locals live at no await) start at 0 when every path writes them before reading them,
 * which keeps V8's loop types numeric. One that some path reads first must still read undefined:
 * a `var` read before its assignment, a `var` only assigned on one branch, a `var` in a loop whose
 * first iteration reads the previous one's value.
 */
import { dasync } from "dtasks";
import type { CorpusCase } from "../../harness/corpus.js";

export const readFirst = dasync(async function readFirst(flag: boolean) {
  const before = typeof early;
  // biome-ignore lint/correctness/noInnerDeclarations: the hoisted `var` is the case under test.
  var early = 1;
  var branch: number | undefined;
  if (flag) branch = 2;
  const seen: unknown[] = [];
  for (let i = 0; i < 2; i++) {
    // biome-ignore lint/correctness/noInnerDeclarations: the hoisted `var` is the case under test.
    var carried: number | undefined;
    seen.push(carried);
    carried = i;
  }
  const all = [before, early, branch, ...seen];
  await Promise.resolve();
  return all;
});

export const cases: CorpusCase[] = [
  {
    name: "a var a path reads before writing stays undefined",
    run: () => readFirst(false),
    expect: { value: ["undefined", 1, undefined, undefined, 0] },
  },
  { name: "a var written on the branch taken", run: () => readFirst(true), expect: { value: ["undefined", 1, 2, undefined, 0] } },
];
