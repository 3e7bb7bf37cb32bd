/**
 * Errors: thrown across frames (a child throws after suspending; the parent catches), errors with
 * a cause kept live across durable waits, a failing durable wait, a rejection of an ordinary await
 * inside a child, non-Error throws, custom error names, and an uncaught error reaching the caller.
 */
import { DTask, dasync } from "dtasks";
import type { CorpusCase } from "../harness/corpus.js";
import { log } from "../harness/corpus-log.js";

export const child = dasync(async function child(kind: number) {
  await DTask.delay(1);
  if (kind === 0) throw new TypeError("bad input", { cause: { field: "x", at: new Date(0) } });
  if (kind === 1) await Promise.reject(new RangeError("too far"));
  if (kind === 2) throw 42;
  if (kind === 3) await DTask.delay(1_000_002);
  return "fine";
});

export const parent = dasync(async function parent() {
  const seen: unknown[] = [];
  for (let kind = 0; kind < 5; kind++) {
    try {
      seen.push(await child(kind));
    } catch (e) {
      await DTask.yield(); // e is live across this durable wait
      if (e instanceof Error) {
        seen.push(`${e.name}: ${e.message}${e.cause ? ` (cause ${JSON.stringify(e.cause)})` : ""}`);
      } else {
        seen.push(e);
      }
    }
  }
  return seen;
});

class ValidationError extends Error {
  override name = "ValidationError";
}

export const uncaught = dasync(async function uncaught(n: number) {
  try {
    await DTask.delay(1);
    if (n > 1) throw new ValidationError(`n is ${n}`, { cause: new Error("root cause") });
  } finally {
    log("cleanup");
  }
  return n;
});

export const cases: CorpusCase[] = [
  {
    name: "errors from a child across durable waits",
    run: () => parent(),
    expect: {
      value: [
        'TypeError: bad input (cause {"field":"x","at":"1970-01-01T00:00:00.000Z"})',
        "RangeError: too far",
        42,
        "Error: durable wait failed: delay(1000002)",
        "fine",
      ],
    },
    suspensions: 10,
  },
  {
    name: "an error with a cause reaches the caller",
    run: () => uncaught(2),
    expect: { throws: "ValidationError: n is 2 (cause: Error: root cause)", log: ["cleanup"] },
  },
];
