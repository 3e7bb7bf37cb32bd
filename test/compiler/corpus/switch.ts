/**
 * switch with fall-through, default in the middle, awaits (ordinary and durable) in the
 * discriminant, in case tests (evaluated lazily, in order) and in bodies.
 */
import { DTask, dasync } from "dtasks";
import type { CorpusCase } from "../harness/corpus.js";
import { log } from "../harness/corpus-log.js";

async function probe(x: number): Promise<number> {
  log(`test ${x}`);
  return x;
}

export const classify = dasync(async function classify(v: number) {
  const out: string[] = [];
  switch (await Promise.resolve(v)) {
    case await probe(1):
      out.push("one");
    // falls through
    case 2:
      out.push("two");
      await DTask.delay(1);
      break;
    default:
      out.push("default");
      await DTask.yield();
    // falls through
    case await probe(3):
      out.push("three");
    case 4: {
      const local = out.length;
      await DTask.delay(2);
      out.push(`four after ${local}`);
    }
  }
  return out.join(",");
});

export const inLoop = dasync(async function inLoop() {
  let acc = "";
  for (let i = 0; i < 5; i++) {
    switch (i) {
      case 1:
        continue;
      case 3:
        await DTask.delay(1);
        break;
      default:
        acc += i;
    }
    acc += ";";
  }
  return acc;
});

export const cases: CorpusCase[] = [
  { name: "match by an awaited case test, fall through", run: () => classify(1), expect: { value: "one,two", log: ["test 1"] } },
  {
    name: "default in the middle falls through to later cases",
    run: () => classify(9),
    expect: { value: "default,three,four after 2", log: ["test 1", "test 3"] },
    suspensions: 2,
  },
  { name: "a later case after an awaited test", run: () => classify(3), expect: { value: "three,four after 1", log: ["test 1", "test 3"] } },
  { name: "continue and break inside a switch in a loop", run: () => inLoop(), expect: { value: "0;2;;4;" } },
];
