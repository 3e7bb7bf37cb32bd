/**
 * Every loop form with durable and ordinary awaits in the body, test and update positions; a
 * for-of over an array that grows while it is iterated (the cursor re-reads the length); a for-in
 * whose object loses a key before it is visited.
 */
import { DTask, dasync } from "dtasks";
import type { CorpusCase } from "../harness/corpus.js";
import { log } from "../harness/corpus-log.js";

export const forLoop = dasync(async function forLoop(n: number) {
  let sum = 0;
  for (let i = 0; i < n; i += await Promise.resolve(1)) {
    if (i % 2 === 0) await DTask.delay(1);
    sum += i * 10;
    log(`for ${i} ${sum}`);
  }
  return sum;
});

export const whileLoops = dasync(async function whileLoops(n: number) {
  let i = n;
  const seen: number[] = [];
  while ((await DTask.fromResult(i)) > 0) {
    seen.push(i);
    i--;
    await DTask.yield();
  }
  do {
    seen.push(-i);
    await DTask.delay("1s");
    i++;
  } while (i < 2);
  return seen;
});

export const forOfGrowing = dasync(async function forOfGrowing() {
  const items = [1, 2];
  const visited: number[] = [];
  for (const x of items) {
    visited.push(x);
    if (items.length < 5) items.push(x * 10);
    await DTask.delay(5);
  }
  return { visited, items };
});

export const forInDeleting = dasync(async function forInDeleting() {
  const o: Record<string, number> = { a: 1, b: 2, c: 3, d: 4 };
  const keys: string[] = [];
  for (const k in o) {
    keys.push(k);
    if (k === "a") delete o.c;
    if (k === "b") o.e = 5; // added during the loop: not visited
    await DTask.yield();
  }
  return keys.join();
});

export const nested = dasync(async function nested() {
  const out: string[] = [];
  for (let i = 0; i < 3; i++) {
    let j = 0;
    while (j < i) {
      out.push(`${i}.${j}`);
      j++;
      if (j === 1) await DTask.delay(1);
      else await Promise.resolve();
    }
  }
  return out.join(" ");
});

export const cases: CorpusCase[] = [
  {
    name: "for with await in the update and durable waits in the body",
    run: () => forLoop(4),
    expect: { value: 60, log: ["for 0 0", "for 1 10", "for 2 30", "for 3 60"] },
    suspensions: 2,
  },
  { name: "while and do-while", run: () => whileLoops(2), expect: { value: [2, 1, -0, -1] }, suspensions: 4 },
  {
    name: "for-of over a growing array",
    run: () => forOfGrowing(),
    expect: { value: { visited: [1, 2, 10, 20, 100], items: [1, 2, 10, 20, 100] } },
    suspensions: 5,
  },
  { name: "for-in with deletion and addition", run: () => forInDeleting(), expect: { value: "a,b,d" }, suspensions: 3 },
  { name: "nested loops", run: () => nested(), expect: { value: "1.0 2.0 2.1" }, suspensions: 2 },
];
