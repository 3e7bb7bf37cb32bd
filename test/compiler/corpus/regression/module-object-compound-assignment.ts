/**
 * Regression (found by the generator once it assigned to module-level objects, seed 61):
 * `counter.n = await durable` and `counter.n += await durable`, where `counter` is a module binding. The compiler keeps the object in a temp slot across
 * the await, so the snapshot stores a *copy* of the module's object and the assignment after the
 * resume writes to the copy: the module's `counter` never changes. The user wrote no local alias;
 * like a callee, a module binding (or global) as the base of a member target should be read again,
 * not carried in the snapshot.
 */
import { DTask, dasync } from "dtasks";
import type { CorpusCase } from "../../harness/corpus.js";

const counter = { n: 1 };

export const bump = dasync(async function bump() {
  counter.n += (await DTask.delay(1)) ?? 5;
  return counter.n;
});

export const assign = dasync(async function assign() {
  counter.n = (await DTask.yield()) ?? 10;
  return counter.n;
});

export const cases: CorpusCase[] = [
  { name: "module object += await durable", run: () => bump(), expect: { value: 6 }, suspensions: 1 },
  { name: "module object = await durable", run: () => assign(), expect: { value: 10 }, suspensions: 1 },
];
