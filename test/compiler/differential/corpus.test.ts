/**
 * The hand-written corpus (test/compiler/corpus/**): each case runs natively (checked against the
 * expected behaviour written in the module) and compiled (chaos mode, text snapshot and resume at
 * every durable wait), and the two must agree. Regressions found by the property suites live in
 * corpus/regression/ and run here too.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type CorpusCase, corpusFiles, readCorpus } from "../harness/corpus.js";
import { takeLog } from "../harness/corpus-log.js";
import { loadCompiled, loadNative, observeCompiled, observeNative } from "../harness/run.js";
import { show, showThrown } from "../harness/show.js";

function expected(c: CorpusCase): string {
  if (c.expect.throws !== undefined) return `throw ${c.expect.throws}`;
  return `value ${show(c.expect.value)}`;
}

for (const file of corpusFiles()) {
  test(file, async (t) => {
    const source = readCorpus(file);
    const native = await loadNative(source, file);
    let compiledCases: CorpusCase[];
    try {
      compiledCases = (await loadCompiled(source, file)).exports.cases as CorpusCase[];
    } catch (error) {
      assert.fail(`${file} does not compile: ${showThrown(error)}`);
    }
    const nativeCases = native.cases as CorpusCase[];
    assert.ok(Array.isArray(nativeCases) && nativeCases.length > 0, `${file} exports no cases`);
    for (let i = 0; i < nativeCases.length; i++) {
      const c = nativeCases[i]!;
      await t.test(c.name, async () => {
        takeLog();
        const n = { ...(await observeNative(c.run, [])), log: takeLog() };
        assert.equal(
          n.result,
          expected(c),
          "native result differs from the expectation written in the corpus",
        );
        if (c.expect.log) assert.deepEqual(n.log, c.expect.log, "native log differs from the expectation");
        const compiledCase = compiledCases[i]!;
        const k = await observeCompiled(compiledCase.run, [], { chaos: c.chaos ?? "identity" });
        k.log = takeLog();
        assert.equal(k.result, n.result, "compiled result differs from the native one");
        assert.deepEqual(k.log, n.log, "compiled log differs from the native one");
        if (c.suspensions !== undefined) {
          assert.ok(
            k.suspensions >= c.suspensions,
            `expected at least ${c.suspensions} durable suspensions, got ${k.suspensions}`,
          );
        }
      });
    }
  });
}
