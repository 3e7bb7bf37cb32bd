/**
 * Regression (CI, differential/expressions seed 170800621, shrunk): in a compound assignment whose
 * member target holds the await in its key, `arr[h(await x, (a = (gs.v = a)))] += a`, the
 * compiler read the target and wrote it through two copies of the key expression, so the key's
 * side effects ran twice (the setter logged twice). The same with an effectful key and an await on
 * the right (`mod[i++] += await x` on a module binding), and a module object indexed by an awaited
 * key (`mod[await k] = v`) was carried in the snapshot, so the write after a resume went to a copy.
 */
import { DTask, dasync } from "dtasks";
import type { CorpusCase } from "../../harness/corpus.js";
import { log } from "../../harness/corpus-log.js";

const gs = {
  _v: 1,
  get v() {
    log(`get ${this._v}`);
    return this._v;
  },
  set v(x: number) {
    log(`set ${x}`);
    this._v = x;
  },
};
const mod = [0, 0, 0, 0];
let i = 0;

function h2(x: number, y: number): number {
  return x * 2 + y;
}

export const keyAwaits = dasync(async function keyAwaits(p: number) {
  let a = p;
  const arr = [1, 2, 3, 4];
  arr[h2((await DTask.delay(1)) ?? 0, (a = gs.v = a)) & 3] += a;
  arr[(await DTask.fromResult(1)) + a] ||= 9;
  return arr;
});

export const rightAwaits = dasync(async function rightAwaits() {
  mod[i++] += (await DTask.delay(1)) ?? 5;
  mod[(log(`key ${i}`), i++)] ??= (await DTask.yield()) ?? 6;
  return [i, ...mod];
});

export const moduleIndexed = dasync(async function moduleIndexed() {
  mod[(await DTask.delay(1)) ?? 3] = 7;
  return mod.join();
});

// Guard for the fix: a local alias (not a module binding) as the base is still kept, so the write
// after a resume reaches the object the alias shares with a stored local.
export const aliasIndexed = dasync(async function aliasIndexed() {
  const holder = { arr: [0, 0], o: { n: 1 } };
  const local = holder.arr;
  local[(await DTask.delay(1)) ?? 1] = 5;
  const obj = holder.o;
  obj.n += (await DTask.delay(1)) ?? 7;
  return holder;
});

export const cases: CorpusCase[] = [
  {
    name: "arr[h(await x, effects)] += a: the key runs once",
    run: () => keyAwaits(2),
    expect: { value: [1, 2, 5, 4], log: ["set 2"] },
    suspensions: 1,
  },
  {
    name: "mod[i++] += await x on a module binding: the key runs once, before the await",
    run: () => {
      i = 0;
      mod.fill(0);
      return rightAwaits();
    },
    expect: { value: [2, 5, 0, 0, 0], log: ["key 1"] },
    suspensions: 1,
  },
  {
    name: "mod[await k] = v writes the module's array after a resume",
    run: () => {
      mod.fill(0);
      return moduleIndexed();
    },
    expect: { value: "0,0,0,7" },
    suspensions: 1,
  },
  {
    name: "a local alias indexed by an await still writes the shared object after a resume",
    run: () => aliasIndexed(),
    expect: { value: { arr: [0, 5], o: { n: 8 } } },
    suspensions: 2,
  },
];
