/**
 * Recursion by name: inside `dasync(async function fib(n) {…})` the name `fib` is the d-async
 * function, so each recursive call is a child frame; deep stacks suspend durably as a whole.
 * Mutual recursion goes through module bindings.
 */
import { DTask, dasync } from "dtasks";
import type { CorpusCase } from "../harness/corpus.js";
import { log } from "../harness/corpus-log.js";

export const fib = dasync(async function fib(n: number): Promise<number> {
  if (n < 2) {
    await DTask.delay(1);
    return n;
  }
  return (await fib(n - 1)) + (await fib(n - 2));
});

export const isEven: (n: number) => Promise<boolean> = dasync(async function isEven(n: number) {
  if (n === 0) return true;
  if (n % 3 === 0) await DTask.yield();
  return await isOdd(n - 1);
});

export const isOdd: (n: number) => Promise<boolean> = dasync(async function isOdd(n: number) {
  if (n === 0) return false;
  return await isEven(n - 1);
});

export const countdown = dasync(async function countdown(n: number): Promise<string> {
  log(`enter ${n}`);
  if (n === 0) {
    await DTask.delay(1);
    return "liftoff";
  }
  const rest = await countdown(n - 1);
  log(`leave ${n}`);
  return `${n} ${rest}`;
});

export const cases: CorpusCase[] = [
  { name: "fib(6) suspends at every leaf", run: () => fib(6), expect: { value: 8 }, suspensions: 13 },
  { name: "mutual recursion", run: () => isEven(7), expect: { value: false }, suspensions: 1 },
  {
    name: "a stack of six frames suspended as one",
    run: () => countdown(5),
    expect: {
      value: "5 4 3 2 1 liftoff",
      log: ["enter 5", "enter 4", "enter 3", "enter 2", "enter 1", "enter 0", "leave 1", "leave 2", "leave 3", "leave 4", "leave 5"],
    },
    suspensions: 1,
    fresh: true,
  },
];
