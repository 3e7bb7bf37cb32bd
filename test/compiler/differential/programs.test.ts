/**
 * Differential property: random d-async programs (every construct of the generator, closures
 * included) give the same result and log natively and compiled — with the frame cut to its live
 * slots and round-tripped after every ordinary await, and the whole stack stored as text and
 * resumed at every durable wait. See generator.ts for the coverage and property.ts for the knobs.
 */
import { test } from "node:test";
import fc from "fast-check";
import { differentialProperty, emptyStats, report, settings, sized, summary } from "./property.js";

test("generated programs behave natively and compiled alike (statements, closures)", {
  timeout: 600_000,
}, async (t) => {
  const { runs, seed, path } = settings(600);
  const stats = emptyStats();
  const started = Date.now();
  const details = await fc.check(differentialProperty(sized({ stmtDepth: 4, exprDepth: 2 }), stats), {
    numRuns: runs,
    seed,
    path,
    endOnFailure: false,
  });
  t.diagnostic(`seed ${seed}: ${summary(stats, Date.now() - started)}`);
  if (details.failed) throw new Error(report(details, "differential (statements)"));
});
