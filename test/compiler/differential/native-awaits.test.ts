/**
 * Differential property, production path: no chaos, so the compiled steps await ordinary values
 * themselves (natively, inside the step) and only durable waits leave the frame — where the whole
 * stack is still stored as text and resumed. A frame must be storable at a durable wait however
 * many native awaits ran in the step before it (state, live slots, completion records).
 */
import { test } from "node:test";
import fc from "fast-check";
import { differentialProperty, emptyStats, report, settings, sized, summary } from "./property.js";

test("generated programs behave natively and compiled alike (ordinary awaits native in the step)", {
  timeout: 600_000,
}, async (t) => {
  const { runs, seed, path } = settings(300);
  const stats = emptyStats();
  const started = Date.now();
  const details = await fc.check(
    differentialProperty(sized({ stmtDepth: 4, exprDepth: 3 }), stats, "none", "native"),
    { numRuns: runs, seed, path, endOnFailure: false },
  );
  t.diagnostic(`seed ${seed}: ${summary(stats, Date.now() - started)}`);
  if (details.failed) throw new Error(report(details, "differential (native awaits)"));
});
