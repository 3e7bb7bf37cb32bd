/**
 * Parameters: defaults that read earlier parameters, rest parameters, defaults given `undefined`
 * explicitly, and all of them live across durable waits.
 */
import { DTask, dasync } from "dtasks";
import type { CorpusCase } from "../harness/corpus.js";

export const params = dasync(async function params(a: number, b = a * 2, c: number[] = [a, b], ...rest: unknown[]) {
  await DTask.delay(1);
  c.push(rest.length);
  await DTask.yield();
  return { a, b, c, rest };
});

export const arrow = dasync(async (first: string, ...others: string[]) => {
  await DTask.delay(1);
  return [first, ...others].join("-");
});

export const cases: CorpusCase[] = [
  { name: "defaults from earlier parameters", run: () => params(3), expect: { value: { a: 3, b: 6, c: [3, 6, 0], rest: [] } } },
  {
    name: "explicit undefined takes the default; rest collects the others",
    run: () => params(1, undefined, [9], "x", { y: 2 }),
    expect: { value: { a: 1, b: 2, c: [9, 2], rest: ["x", { y: 2 }] } },
  },
  { name: "an arrow d-async function with a rest parameter", run: () => arrow("a", "b", "c"), expect: { value: "a-b-c" } },
];
