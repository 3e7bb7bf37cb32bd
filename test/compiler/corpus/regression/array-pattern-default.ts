/**
 * Regression (found by differential/programs.test.ts, shrunk by hand from the generated
 * `let [p = …, [q] = [await …]] = []`): when an array pattern is lowered because one element's
 * default awaits, an element whose default does not await is emitted as `_l.a = 1 = _t2.value`,
 * which is not JavaScript — the whole module fails to load with a SyntaxError.
 */
import { dasync } from "dtasks";
import type { CorpusCase } from "../../harness/corpus.js";

export const plainDefaultFirst = dasync(async function plainDefaultFirst() {
  const [a = 1, b = await Promise.resolve(2)] = [];
  return a + b;
});

export const cases: CorpusCase[] = [
  { name: "[a = 1, b = await x] = []", run: () => plainDefaultFirst(), expect: { value: 3 } },
];
