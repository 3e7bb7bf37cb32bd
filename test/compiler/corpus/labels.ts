/**
 * Labelled break and continue across nested loops, a switch and a labelled block, with durable
 * waits on both sides of the jumps.
 */
import { DTask, dasync } from "dtasks";
import type { CorpusCase } from "../harness/corpus.js";
import { log } from "../harness/corpus-log.js";

export const grid = dasync(async function grid(n: number) {
  const hits: string[] = [];
  outer: for (let i = 0; i < n; i++) {
    inner: for (let j = 0; j < n; j++) {
      await DTask.delay(1);
      if (i === 3) break outer;
      if (j > i) continue outer;
      if (i + j === 3) break inner;
      hits.push(`${i}${j}`);
    }
    log(`row ${i} done`);
  }
  return hits.join(" ");
});

export const block = dasync(async function block(flag: number) {
  let state = "start";
  found: {
    for (const x of [1, 2, 3]) {
      await DTask.yield();
      switch (x) {
        case 1:
          continue;
        case 2:
          if (flag === 2) break found;
          break;
        default:
          state = `default ${x}`;
      }
    }
    state += " loop ended";
  }
  return state;
});

export const continueFromSwitch = dasync(async function continueFromSwitch() {
  let out = "";
  loop: for (let i = 0; i < 4; i++) {
    switch (i % 2) {
      case 0:
        await DTask.delay(1);
        continue loop;
      default:
        out += i;
    }
    out += ".";
  }
  return out;
});

export const cases: CorpusCase[] = [
  {
    name: "continue outer / break inner / break outer",
    run: () => grid(4),
    expect: { value: "00 10 11 20", log: ["row 2 done"] },
  },
  { name: "break a labelled block from a switch in a loop", run: () => block(2), expect: { value: "start" } },
  { name: "labelled block ends normally", run: () => block(0), expect: { value: "default 3 loop ended" } },
  { name: "continue a labelled loop from a switch", run: () => continueFromSwitch(), expect: { value: "1.3." } },
];
