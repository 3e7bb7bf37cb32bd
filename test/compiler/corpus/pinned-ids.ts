/**
 * Marking forms: `dasync("pinned.id", fn)` (the id survives renames; here it is what the snapshot
 * names), an arrow named by its variable, and a function expression whose inner name differs
 * from the variable.
 */
import { DTask, dasync } from "dtasks";
import type { CorpusCase } from "../harness/corpus.js";

export const pinned = dasync("corpus.pinned-ids.pinned", async function renamedFreely(x: number) {
  await DTask.delay(1);
  return x + 1;
});

export const arrowNamed = dasync(async (x: number) => {
  await DTask.yield();
  return (await pinned(x)) * 2;
});

export const outerName = dasync(async function innerName(x: number): Promise<number> {
  await DTask.delay(1);
  return x > 0 ? innerName(x - 1) : -1;
});

export const cases: CorpusCase[] = [
  { name: "pinned id and arrow", run: () => arrowNamed(4), expect: { value: 10 }, suspensions: 2, fresh: true },
  { name: "self-name differs from the variable; returning a d-async call", run: () => outerName(2), expect: { value: -1 } },
];
