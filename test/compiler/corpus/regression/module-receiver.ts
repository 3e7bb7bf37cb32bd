/**
 * Regression (found by differential/programs.test.ts, seed 1, shrunk): a method call whose
 * arguments await keeps its receiver in a temp slot even when the receiver is a module binding or
 * a global (`calc.m(await …)`, `Math.max(…, await …)`). At a durable wait the temp must be stored:
 * a module object holding a method cannot be (DT301), and `Math` is stored as a plain object with
 * no enumerable properties, so after the resume `_l.$t1.max is not a function`. The rule:
 * carry the callee across the snapshot as a module binding or intrinsic, i.e. read it again.
 * The same with an imported binding: `DTask.fromResult(await durable)` keeps the class `DTask`.
 */
import { dasync, DTask } from "dtasks";
import type { CorpusCase } from "../../harness/corpus.js";

const calc = {
  base: 3,
  m(x: number, y: number) {
    return this.base * x - y;
  },
};

export const intrinsicReceiver = dasync(async function intrinsicReceiver() {
  return Math.max(1, (await DTask.delay(1)) ?? 2);
});

export const moduleReceiver = dasync(async function moduleReceiver() {
  return calc.m((await DTask.yield()) ?? 2, 1);
});

export const importedReceiver = dasync(async function importedReceiver() {
  return await DTask.fromResult((await DTask.delay(1)) ?? 3);
});

export const intrinsicOrdinary = dasync(async function intrinsicOrdinary() {
  return Math.max(0, await Promise.resolve(5));
});

export const cases: CorpusCase[] = [
  { name: "Math.max(1, await durable)", run: () => intrinsicReceiver(), expect: { value: 2 }, suspensions: 1 },
  { name: "calc.m(await durable, 1)", run: () => moduleReceiver(), expect: { value: 5 }, suspensions: 1 },
  { name: "DTask.fromResult(await durable)", run: () => importedReceiver(), expect: { value: 3 }, suspensions: 1 },
  // The same with an ordinary await, in the chaos mode that copies plain data.
  { name: "Math.max(0, await promise), copying chaos", run: () => intrinsicOrdinary(), expect: { value: 5 }, chaos: "copy" },
];
