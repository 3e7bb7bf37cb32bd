/**
 * `&&`, `||`, `??` and the logical assignments `&&=`, `||=`, `??=` with awaits on the right: the
 * right side runs only when it would natively; targets are locals, members and computed members
 * (object and key evaluated once, before the await); durable waits on the right.
 */
import { DTask, dasync } from "dtasks";
import type { CorpusCase } from "../harness/corpus.js";
import { log } from "../harness/corpus-log.js";

function right<T>(v: T): Promise<T> {
  log(`right ${String(v)}`);
  return Promise.resolve(v);
}

let keyReads = 0;
function key(): string {
  keyReads++;
  return "k";
}

export const logical = dasync(async function logical() {
  let a: number | null = null;
  let b = 0;
  let c = 5;
  a ??= await right(1);
  a ??= await right(2); // not evaluated
  b ||= await right(3);
  c &&= (await DTask.delay(1)) ?? 6;
  const o: Record<string, number | undefined> = { k: undefined };
  o[key()] ??= await right(4);
  o[key()] ??= await right(5); // not evaluated; the key is
  const and = 0 && (await right("and"));
  const or = 1 || (await right("or"));
  const nullish = (null ?? (await right("nullish"))) as string;
  return { a, b, c, o, and, or, nullish, keyReads };
});

export const cases: CorpusCase[] = [
  {
    name: "short-circuits and targets",
    run: () => logical(),
    expect: {
      value: { a: 1, b: 3, c: 6, o: { k: 4 }, and: 0, or: 1, nullish: "nullish", keyReads: 2 },
      log: ["right 1", "right 3", "right 4", "right nullish"],
    },
    suspensions: 1,
  },
];
