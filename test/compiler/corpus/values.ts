/**
 * Values kept live across durable waits: Map, Set, Date (also invalid), BigInt, undefined, NaN,
 * ±Infinity, -0, sparse arrays, nested objects, shared references and cycles, an object with a
 * null prototype, and RegExp. The whole state is compared with `show`, which distinguishes all of
 * them (and shared identity).
 */
import { DTask, dasync } from "dtasks";
import type { CorpusCase } from "../harness/corpus.js";

export const values = dasync(async function values() {
  const shared = { tag: "shared" };
  const cyclic: Record<string, unknown> = { name: "cyclic" };
  cyclic.self = cyclic;
  const bare = Object.create(null) as Record<string, number>;
  bare.x = 1;
  const state = {
    map: new Map<unknown, unknown>([
      ["k", shared],
      [1n, [shared]],
    ]),
    set: new Set([1, "1", shared]),
    dates: [new Date(86_400_000), new Date(Number.NaN)],
    big: 2n ** 70n,
    nothing: undefined,
    numbers: [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0],
    // biome-ignore lint/suspicious/noSparseArray: a hole is one of the values under test.
    sparse: [1, , 3],
    nested: { a: { b: { c: [1, { d: "deep" }] } } },
    shared: [shared, shared],
    cyclic,
    bare,
    pattern: /a+b/gi,
  };
  await DTask.delay(1);
  state.map.set("after", new Date(0));
  state.set.add(-0);
  state.big *= 3n;
  await DTask.yield();
  return state;
});

/** The same state, built directly (`show` compares structure, types and sharing). */
function expected() {
  const shared = { tag: "shared" };
  const cyclic: Record<string, unknown> = { name: "cyclic" };
  cyclic.self = cyclic;
  const bare = Object.create(null) as Record<string, number>;
  bare.x = 1;
  return {
    map: new Map<unknown, unknown>([
      ["k", shared],
      [1n, [shared]],
      ["after", new Date(0)],
    ]),
    set: new Set([1, "1", shared, 0]),
    dates: [new Date(86_400_000), new Date(Number.NaN)],
    big: 3n * 2n ** 70n,
    nothing: undefined,
    numbers: [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0],
    // biome-ignore lint/suspicious/noSparseArray: as above.
    sparse: [1, , 3],
    nested: { a: { b: { c: [1, { d: "deep" }] } } },
    shared: [shared, shared],
    cyclic,
    bare,
    pattern: /a+b/gi,
  };
}

export const cases: CorpusCase[] = [
  { name: "every kind of value", run: () => values(), expect: { value: expected() }, suspensions: 2, fresh: true },
];
