/**
 * Sensitivity of the differential suite: with a deliberately broken compiler output — a slot
 * dropped from every live set, or the innermost row of every exception table removed — the
 * property must FAIL, i.e. find a program that the healthy compiler runs like native and the
 * broken one does not (shrunk to a smallest such program, shown in the diagnostics). Programs the
 * healthy compiler already gets wrong (a real bug) do not count either way.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { Fault } from "../harness/run.js";
import { type SensitivityCounters, sensitivityProperty, settings } from "./property.js";

const FAULTS: Exclude<Fault, "none">[] = ["liveness", "handlers"];

for (const fault of FAULTS) {
  test(`the differential property fails when the compiler's ${fault} is broken`, {
    timeout: 600_000,
  }, async (t) => {
    const { seed } = settings(0);
    const counters: SensitivityCounters = { informative: 0, skipped: 0 };
    const details = await fc.check(
      sensitivityProperty(
        // Try-heavy programs, so that exceptions cross the exception table often.
        { stmtDepth: 3, exprDepth: 2, blockLength: 3, tryWeight: fault === "handlers" ? 20 : 5 },
        fault,
        counters,
      ),
      {
        numRuns: 200,
        seed,
      },
    );
    t.diagnostic(
      `seed ${seed}: ${counters.informative} informative program(s), ${counters.skipped} skipped (healthy run already differs)`,
    );
    assert.ok(
      details.failed,
      `the suite did not notice the '${fault}' fault in ${counters.informative} programs the compiler otherwise runs right`,
    );
    const message =
      details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    t.diagnostic(
      `noticed after ${details.numRuns} program(s), shrunk ${details.numShrinks} time(s):\n${message}`,
    );
  });
}
