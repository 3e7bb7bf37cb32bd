/**
 * try/catch/finally: return, break and continue crossing finally blocks (also nested ones), a
 * finally that overrides with its own return, awaits (ordinary and durable) in try, catch and
 * finally, a rethrow after a durable wait in finally, and a catch around a failing durable wait.
 */
import { DTask, dasync } from "dtasks";
import type { CorpusCase } from "../harness/corpus.js";
import { log } from "../harness/corpus-log.js";

export const crossing = dasync(async function crossing() {
  const out: string[] = [];
  for (let i = 0; i < 4; i++) {
    try {
      try {
        if (i === 0) continue;
        if (i === 2) break;
        out.push(`body ${i}`);
        await DTask.delay(1);
      } finally {
        out.push(`inner finally ${i}`);
        await DTask.yield();
      }
    } finally {
      out.push(`outer finally ${i}`);
      await Promise.resolve();
    }
  }
  return out;
});

export const returnThroughFinally = dasync(async function returnThroughFinally(x: number) {
  try {
    await DTask.delay(1);
    return x * 2;
  } finally {
    log("finally sees the pending return");
    await DTask.delay(1);
    log("finally after its own durable wait");
  }
});

export const finallyOverrides = dasync(async function finallyOverrides() {
  try {
    await DTask.yield();
    throw new Error("lost");
  } finally {
    // biome-ignore lint/correctness/noUnsafeFinally: the override is what is tested.
    return "finally wins";
  }
});

export const catchAndRethrow = dasync(async function catchAndRethrow() {
  try {
    try {
      await DTask.delay(1_000_001); // fails when resumed (the harness's convention)
    } catch (e) {
      log(`caught ${(e as Error).message}`);
      await DTask.delay(1);
      throw new Error("again", { cause: e });
    } finally {
      log("inner finally");
      await DTask.yield();
    }
  } catch (e) {
    const error = e as Error;
    return `${error.message} <- ${(error.cause as Error).message}`;
  }
});

export const cases: CorpusCase[] = [
  {
    name: "continue and break crossing two finally blocks",
    run: () => crossing(),
    expect: {
      value: [
        "inner finally 0",
        "outer finally 0",
        "body 1",
        "inner finally 1",
        "outer finally 1",
        "inner finally 2",
        "outer finally 2",
      ],
    },
    suspensions: 4,
  },
  {
    name: "return crossing a finally with a durable wait",
    run: () => returnThroughFinally(21),
    expect: { value: 42, log: ["finally sees the pending return", "finally after its own durable wait"] },
    suspensions: 2,
    fresh: 2, // inside the finally, with the pending return stored
  },
  { name: "return in finally overrides a throw", run: () => finallyOverrides(), expect: { value: "finally wins" } },
  {
    name: "failing durable wait caught, rethrown with a cause through a finally",
    run: () => catchAndRethrow(),
    expect: {
      value: "again <- durable wait failed: delay(1000001)",
      log: ["caught durable wait failed: delay(1000001)", "inner finally"],
    },
    suspensions: 3,
    fresh: 2, // inside the catch: the caught error is live
  },
];
