/**
 * Closures: per-iteration `let` bindings captured by closures (for, for-of, body-scoped lets),
 * closures sharing locals with the function across ordinary awaits (reads and writes both ways),
 * nested async functions, and nested function declarations, which are re-created after a durable
 * wait (no closure is held across one: a function value cannot be stored).
 */
import { DTask, dasync } from "dtasks";
import type { CorpusCase } from "../harness/corpus.js";
import { log } from "../harness/corpus-log.js";

export const perIteration = dasync(async function perIteration() {
  const fns: (() => number)[] = [];
  for (let i = 0; i < 3; i++) {
    fns.push(() => i);
    await Promise.resolve();
  }
  for (const x of [10, 20]) {
    let y = x;
    fns.push(() => y);
    await Promise.resolve();
    y += 1; // seen by this iteration's closure only
  }
  const seen = fns.map((f) => f()).join();
  await DTask.delay(1); // fns is dead here
  return seen;
});

export const previous = dasync(async function previous() {
  const seen: number[] = [];
  let prev: (() => number) | null = null;
  for (let j = 0; j < 4; j++) {
    if (prev) seen.push(prev());
    prev = () => j;
    if (j === 1) j += await Promise.resolve(1); // this iteration's closure sees the write
    await Promise.resolve();
  }
  seen.push(prev ? prev() : -1);
  return seen;
});

export const shared = dasync(async function shared(start: number) {
  let count = start;
  const bump = (by: number) => {
    count += by;
    return count;
  };
  bump(await Promise.resolve(2));
  count *= 10;
  log(`after bump ${bump(1)}`);
  const later = async (k: number) => {
    await new Promise((resolve) => setImmediate(resolve));
    count += k;
    return count;
  };
  const result = await later(5);
  await DTask.yield(); // the closures are dead: only count is stored
  return [result, count];
});

export const hoisted = dasync(async function hoisted(base: number) {
  let calls = 0;
  function scaled(k: number): number {
    calls++;
    return base * k;
  }
  const before = scaled(2);
  await DTask.delay(1);
  const after = scaled(3); // re-created after the resume, sharing the restored locals
  await DTask.delay(1);
  return { before, after, calls };
});

export const cases: CorpusCase[] = [
  { name: "per-iteration bindings captured by closures", run: () => perIteration(), expect: { value: "0,1,2,11,21" } },
  { name: "a closure called in the next iteration sees its own binding", run: () => previous(), expect: { value: [0, 2, 3] } },
  { name: "closures sharing locals across ordinary awaits", run: () => shared(1), expect: { value: [36, 36], log: ["after bump 31"] } },
  {
    name: "nested function declarations after durable waits",
    run: () => hoisted(7),
    expect: { value: { before: 14, after: 21, calls: 2 } },
    suspensions: 2,
    fresh: true,
  },
];
