/**
 * Differential property, second shape: deeper expressions (awaits in every operand position),
 * shallower statements, and no closures, so the chaos round trip after every ordinary await copies
 * plain data by value (a slot the compiler forgets to keep, or keeps in the wrong place, shows).
 */
import { test } from "node:test";
import fc from "fast-check";
import { differentialProperty, emptyStats, report, settings, sized, summary } from "./property.js";

test("generated programs behave natively and compiled alike (expressions, copying chaos)", {
  timeout: 600_000,
}, async (t) => {
  const { runs, seed, path } = settings(500);
  const stats = emptyStats();
  const started = Date.now();
  const details = await fc.check(
    differentialProperty(sized({ stmtDepth: 3, exprDepth: 4, blockLength: 3, closures: false }), stats),
    { numRuns: runs, seed, path, endOnFailure: false },
  );
  t.diagnostic(`seed ${seed}: ${summary(stats, Date.now() - started)}`);
  if (details.failed) throw new Error(report(details, "differential (expressions)"));
});
