/**
 * Regression (found by differential/programs.test.ts, seed 8, shrunk): in `obj[key] = await v`
 * the key expression is evaluated after the right-hand side's await; natively the reference
 * (object and key) is evaluated first. With a key that has a side effect the awaited value sees the
 * wrong state: here `rej(a)` receives 1 instead of 2.
 */
import { dasync } from "dtasks";
import type { CorpusCase } from "../../harness/corpus.js";
import { log } from "../../harness/corpus-log.js";

export const keyFirst = dasync(async function keyFirst(p: number) {
  const arr = [1, 2, 3];
  let a = p;
  arr[(a += a) & 3] = await Promise.resolve(a * 10);
  log(`arr ${arr.join()}`);
  return a;
});

export const cases: CorpusCase[] = [
  { name: "arr[(a += a) & 3] = await f(a)", run: () => keyFirst(1), expect: { value: 2, log: ["arr 1,2,20"] } },
];
