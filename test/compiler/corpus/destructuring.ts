/**
 * Destructuring with defaults that await (ordinary and durable), nested patterns, rest elements
 * and properties, assignment patterns on existing variables, destructured parameters, and the
 * order in which defaults are evaluated.
 */
import { DTask, dasync } from "dtasks";
import type { CorpusCase } from "../harness/corpus.js";
import { log } from "../harness/corpus-log.js";

function value<T>(v: T, label: string): Promise<T> {
  log(`default ${label}`);
  return Promise.resolve(v);
}

export const objects = dasync(async function objects(input: Record<string, unknown>) {
  const {
    a = await value(1, "a"),
    b: { c = (await DTask.delay(1)) ?? 3 } = {},
    ...rest
  } = input;
  await DTask.yield();
  return { a, c, rest };
});

export const arrays = dasync(async function arrays(input: unknown[]) {
  const [first = await value("f", "first"), , third = "t", ...others] = input;
  let x = 0;
  let y = 0;
  [x, y = await value(x + 10, "y")] = [first === "f" ? 1 : 2];
  await DTask.delay(1);
  return [first, third, others, x, y];
});

export const params = dasync(async function params({ n = 2, list: [head, ...tail] = [9, 8] }: { n?: number; list?: number[] } = {}) {
  await DTask.delay(1);
  return `${n}:${head}:${tail.join("+")}`;
});

export const swap = dasync(async function swap() {
  let a = 1;
  let b = 2;
  [a, b] = [b, await Promise.resolve(a)];
  await DTask.yield();
  ({ a, b } = { a: b * 10, b: a * 10 });
  return [a, b];
});

export const cases: CorpusCase[] = [
  {
    name: "object pattern: awaited defaults, nested default, rest",
    run: () => objects({ z: 26, y: 25 }),
    expect: { value: { a: 1, c: 3, rest: { z: 26, y: 25 } }, log: ["default a"] },
    suspensions: 2,
  },
  {
    name: "object pattern: present values skip their defaults",
    run: () => objects({ a: "A", b: { c: "C" } }),
    expect: { value: { a: "A", c: "C", rest: {} } },
  },
  {
    name: "array pattern: holes, defaults, rest; assignment pattern",
    run: () => arrays([undefined, 0, undefined, 4, 5]),
    expect: { value: ["f", "t", [4, 5], 1, 11], log: ["default first", "default y"] },
  },
  { name: "destructured parameters with defaults", run: () => params(), expect: { value: "2:9:8" } },
  { name: "destructured parameters given", run: () => params({ n: 5, list: [1, 2, 3] }), expect: { value: "5:1:2+3" } },
  { name: "swaps through array and object patterns", run: () => swap(), expect: { value: [10, 20] } },
];
