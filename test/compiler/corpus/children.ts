/**
 * Child d-async calls in the patterns the issue names — `results.push(await step(i))`,
 * `helper(await step(i))`, `obj.method(await step(i))` — where the child suspends durably (the
 * callee is carried across the snapshot as receiver and key, or a module binding, never as a
 * function value); chains of three frames; a child that returns without suspending; objects
 * shared between a parent's locals and a child's arguments stay shared after a resume.
 */
import { DTask, dasync } from "dtasks";
import type { CorpusCase } from "../harness/corpus.js";
import { log } from "../harness/corpus-log.js";

export const step = dasync(async function step(i: number) {
  await DTask.delay(1);
  log(`step ${i}`);
  return i * i;
});

const quick = dasync(async function quick(i: number) {
  return i + 100;
});

function helper(x: number, y = 0): string {
  return `h(${x},${y})`;
}

const formatter = {
  prefix: "#",
  format(x: number) {
    return `${this.prefix}${x}`;
  },
};

export const patterns = dasync(async function patterns(n: number) {
  const results: unknown[] = [];
  for (let i = 1; i <= n; i++) results.push(await step(i));
  results.push(helper(await step(5), await quick(1)));
  results.push(formatter.format(await step(6)));
  results.push([await quick(2), await step(7)].join("/"));
  return results;
});

const leaf = dasync(async function leaf(box: { items: string[] }, label: string) {
  box.items.push(`leaf ${label} before`);
  await DTask.yield();
  box.items.push(`leaf ${label} after`);
  return box.items.length;
});

const middle = dasync(async function middle(box: { items: string[] }) {
  const n = await leaf(box, "a");
  box.items.push(`middle saw ${n}`);
  return await leaf(box, "b");
});

export const chain = dasync(async function chain() {
  const box = { items: [] as string[] };
  const alias = { box };
  const total = await middle(box);
  return { total, items: box.items, same: alias.box === box };
});

export const cases: CorpusCase[] = [
  {
    name: "push / helper / method / array of child results",
    run: () => patterns(2),
    expect: {
      value: [1, 4, "h(25,101)", "#36", "102/49"],
      log: ["step 1", "step 2", "step 5", "step 6", "step 7"],
    },
    suspensions: 5,
  },
  {
    name: "three frames sharing an object across snapshots",
    run: () => chain(),
    expect: {
      value: {
        total: 5,
        items: ["leaf a before", "leaf a after", "middle saw 2", "leaf b before", "leaf b after"],
        same: true,
      },
    },
    suspensions: 2,
    fresh: true,
  },
];
