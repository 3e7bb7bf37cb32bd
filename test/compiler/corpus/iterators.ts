/**
 * Iterators are closed on early exit — break, continue of an outer loop, return, throw — from
 * for-of over an iterator and a generator and from for await over an async generator, with
 * ordinary awaits in the bodies (an open iterator cannot be stored, so no durable wait while one
 * is open); durable waits before and after. Array destructuring closes its iterator too.
 */
import { DTask, dasync } from "dtasks";
import type { CorpusCase } from "../harness/corpus.js";
import { log } from "../harness/corpus-log.js";

class Numbers {
  private i = 0;
  constructor(
    private readonly n: number,
    private readonly name: string,
  ) {}
  [Symbol.iterator]() {
    return this;
  }
  next() {
    return this.i < this.n ? { done: false, value: this.i++ } : { done: true, value: undefined };
  }
  return() {
    log(`close ${this.name} at ${this.i}`);
    return { done: true, value: undefined };
  }
}

function* counted(name: string) {
  try {
    for (let i = 0; ; i++) yield i;
  } finally {
    log(`generator ${name} finished`);
  }
}

async function* ticks(name: string) {
  try {
    for (let i = 0; i < 10; i++) {
      await null;
      yield i;
    }
  } finally {
    log(`async generator ${name} finished`);
  }
}

export const exits = dasync(async function exits() {
  await DTask.delay(1);
  for (const x of new Numbers(5, "break")) {
    await Promise.resolve();
    if (x === 1) break;
  }
  outer: for (const y of [1, 2]) {
    for (const x of counted(`continue ${y}`)) {
      await Promise.resolve(x);
      if (x === y) continue outer;
    }
  }
  try {
    for await (const t of ticks("throw")) {
      if (t === 2) throw new Error("stop at 2");
    }
  } catch (e) {
    log(`caught ${(e as Error).message}`);
  }
  for (const x of new Numbers(2, "complete")) log(`complete ${x}`); // exhausted: not closed
  await DTask.yield();
  return "done";
});

export const returnsFromLoop = dasync(async function returnsFromLoop() {
  for await (const t of ticks("return")) {
    await new Promise((resolve) => setImmediate(resolve));
    if (t === 1) return t;
  }
  return -1;
});

export const destructuring = dasync(async function destructuring() {
  const [a, b] = new Numbers(5, "pattern");
  await DTask.delay(1);
  const [c, ...rest] = new Numbers(3, "rest"); // rest exhausts it: not closed
  return [a, b, c, rest];
});

export const cases: CorpusCase[] = [
  {
    name: "break, continue outer, throw; exhausted loops are not closed",
    run: () => exits(),
    expect: {
      value: "done",
      log: [
        "close break at 2",
        "generator continue 1 finished",
        "generator continue 2 finished",
        "async generator throw finished",
        "caught stop at 2",
        "complete 0",
        "complete 1",
      ],
    },
    suspensions: 2,
  },
  { name: "return from for await", run: () => returnsFromLoop(), expect: { value: 1, log: ["async generator return finished"] } },
  {
    name: "array destructuring closes an unfinished iterator",
    run: () => destructuring(),
    expect: { value: [0, 1, 0, [1, 2]], log: ["close pattern at 2"] },
  },
];
