/**
 * The d-async functions of the peer comparison (`npm run bench -- --only peers`), the same three
 * workloads as the peer harness (`../shared/bench/peers/common/harness.mjs`), plus the checkpoint
 * loop. Imported by the bench process and by the worker processes it spawns, so that both load the
 * same functions (a d-async function's id is its module and name).
 *
 * **A step** (W1, W3) is `acc += await step(i); await DTask.yield()`: an ordinary async function
 * whose result is folded into the flow's state, then a durable checkpoint. When the yield's commit
 * returns, the step's result is durable (it is in the committed snapshot), so a crash after it
 * never runs that step again; a crash before it runs the step again. That is DBOS's
 * `DBOS.runStep(fn)` / `@DBOS.step` contract (the output is recorded before the workflow goes on;
 * a step interrupted before its output was recorded runs again) and Restate's `ctx.run`. The
 * difference: DBOS records each step's output as a row and replays the workflow over them on
 * recovery; dtasks records the whole continuation (where the flow is and its live locals) and
 * never replays.
 *
 * @module
 */
import { DTask, dasync } from "dtasks";

/** The unit of work of a step: the peers' `async (i) => i + 1`. */
export async function step(i: number): Promise<number> {
  return i + 1;
}

/** W1 and W3: `steps` sequential durable steps. */
export const seqFlow = dasync(async function seqFlow(steps: number) {
  let acc = 0;
  for (let i = 0; i < steps; i++) {
    acc += await step(i);
    await DTask.yield();
  }
  return acc;
});

/**
 * When each W2 iteration ended, in the process that ran it (`performance.now()`): the bench reads
 * them to compare the last iterations of a long run with its first ones.
 */
export const sleepMarks: number[] = [];

function markIteration(): void {
  sleepMarks.push(performance.now());
}

/** W2: a loop of `n` durable sleeps of `ms` milliseconds (a timer in the store each time). */
export const sleepFlow = dasync(async function sleepFlow(n: number, ms: number) {
  for (let i = 0; i < n; i++) {
    await DTask.delay(ms);
    markIteration();
  }
  return n;
});

/** Checkpoint: `n` yields with about 1 KB of live state, so that each commit stores ~1 KB. */
export const checkpointFlow = dasync(async function checkpointFlow(n: number, payload: { items: unknown[] }) {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    await DTask.yield();
    sum += i;
  }
  return sum + payload.items.length;
});

/** The live state of {@link checkpointFlow}: ~1 KB once encoded, like the peers' 1 KB checkpoint. */
export function checkpointPayload(): { items: unknown[] } {
  return {
    items: Array.from({ length: 12 }, (_, i) => ({
      sku: `SKU-${1000 + i}`,
      qty: i + 1,
      price: 9.99 + i,
      note: "x".repeat(24),
    })),
  };
}
