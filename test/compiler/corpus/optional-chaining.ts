/**
 * Optional chaining with awaits: in the object, in computed keys and in call arguments, which
 * must not run when the chain short-circuits; optional calls keep their receiver; durable waits
 * around a kept receiver that can be stored (an array).
 */
import { DTask, dasync } from "dtasks";
import type { CorpusCase } from "../harness/corpus.js";
import { log } from "../harness/corpus-log.js";

function arg(v: number): Promise<number> {
  log(`arg ${v}`);
  return Promise.resolve(v);
}

export const chains = dasync(async function chains(present: boolean) {
  const o = present ? { a: { b: [10, 20, 30] }, name: "o", greet(x: number) { return `${this.name}:${x}`; } } : null;
  const out: unknown[] = [];
  out.push(o?.a.b[await arg(1)]);
  out.push(o?.greet(await arg(2)));
  out.push((await Promise.resolve(o))?.a?.["b"]?.length);
  out.push(o?.missing?.(await arg(3)));
  const list = present ? [5, 6, 7] : undefined;
  out.push(list?.indexOf((await DTask.delay(1)) ?? 7));
  return out;
});

export const cases: CorpusCase[] = [
  {
    name: "chains that go through",
    run: () => chains(true),
    expect: { value: [20, "o:2", 3, undefined, 2], log: ["arg 1", "arg 2"] },
    suspensions: 1,
  },
  { name: "chains that short-circuit", run: () => chains(false), expect: { value: [undefined, undefined, undefined, undefined, undefined] } },
];
