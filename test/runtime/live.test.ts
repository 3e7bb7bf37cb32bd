/**
 * A run that goes on from the previous run's memory (`RunResult.live`, what a worker does after a
 * yield) must behave exactly as one that decodes the committed snapshot: every scenario here is
 * driven both ways and must give the same result, the same effects in the same order, and the same
 * number of runs. The scenarios stress what the live path rebuilds: token listeners, cancelAfter
 * timers, waiters and watchers of combinators, events that arrive between yields, and pending calls
 * held in locals.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DCancellationTokenSource, DTask, DTaskCanceledError, dasync } from "dtasks";
import type { DCall } from "../../src/core/dtask.js";
import type { FlowEvent } from "../../src/core/store.js";
import { marshal } from "../../src/marshal/index.js";
import { runFlow } from "../../src/runtime/flow.js";
import { type DriveOptions, driveFlow } from "./drive.js";

const log: string[] = [];

const counter = dasync(async function counter(name: string, n: number) {
  for (let i = 0; i < n; i++) {
    await DTask.yield();
    log.push(`${name}${i}`);
  }
  return `${name}${n}`;
});

const sleeper = dasync(async function sleeper(token: DCancellationTokenSource["token"]) {
  try {
    await DTask.delay("7d", token);
    return "slept";
  } finally {
    await DTask.yield(); // parks on a new durable wait while being canceled
    log.push(`sleeper finally, requested=${token.isCancellationRequested}`);
  }
});

const cancelAfterYields = dasync(async function cancelAfterYields(
  source: DCancellationTokenSource,
  n: number,
) {
  for (let i = 0; i < n; i++) await DTask.yield();
  await source.cancel();
  log.push("canceled");
  return "canceller done";
});

const tokens = dasync(async function tokens() {
  const source = await DCancellationTokenSource.create();
  const results = await DTask.whenAllSettled([sleeper(source.token), cancelAfterYields(source, 3)]);
  return results.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as Error).name));
});

const cancelAfterWhileYielding = dasync(async function cancelAfterWhileYielding() {
  const source = await DCancellationTokenSource.create({ cancelAfter: "10s" });
  for (let i = 0; i < 4; i++) await DTask.yield();
  try {
    await DTask.delay("1d", source.token);
    return "slept";
  } catch (error) {
    return error instanceof DTaskCanceledError ? "canceled by cancelAfter" : String(error);
  }
});

const fanOut = dasync(async function fanOut() {
  const slow = counter("s", 4); // a pending call, held in a local across the yields below
  const [a, b] = await DTask.whenAll([counter("a", 2), counter("b", 3)]);
  const first = await DTask.whenAny([counter("x", 3), counter("y", 1)]);
  return [a, b, await first, await slow];
});

const callbackAmongYields = dasync(async function callbackAmongYields() {
  const reply = DTask.callback<string>(() => {});
  const winner = await DTask.whenAny([reply, counter("loop", 50)]);
  return winner === reply ? `reply: ${await reply}` : "loop won";
});

const thrower = dasync(async function thrower() {
  await DTask.yield();
  throw new RangeError("out of range after a yield");
});

const errorsAndFinally = dasync(async function errorsAndFinally() {
  const trail: string[] = [];
  try {
    await thrower();
  } catch (error) {
    await DTask.yield();
    trail.push((error as Error).message);
  } finally {
    await DTask.yield();
    trail.push("finally");
  }
  const shared = { n: 0 };
  const alias = shared;
  for (let i = 0; i < 3; i++) {
    await DTask.yield();
    shared.n++;
  }
  trail.push(`aliases kept: ${alias === shared} ${alias.n}`);
  return trail;
});

const canceledWhileYielding = dasync(async function canceledWhileYielding() {
  try {
    await DTask.whenAll([counter("p", 20), counter("q", 20)]);
    return "finished";
  } finally {
    log.push("cleanup ran");
  }
});

/** Asks to cancel the flow before run 5 (host.cancel), while both branches are yielding. */
const cancelAtRun5: DriveOptions["inject"] = (run) =>
  run === 5 ? [{ id: "c5", kind: "cancel", waitId: null, payload: null, at: 0 }] : [];

/** Resumes the flow's callback with "hello" before run 4, whatever the flow is doing. */
const answerAtRun4: DriveOptions["inject"] = (run, waits) => {
  if (run !== 4) return [];
  const callback = [...waits.values()].find((w) => w.kind === "callback");
  if (!callback) return [];
  return [
    { id: `e${run}`, kind: "resume", waitId: callback.id, payload: marshal("hello"), at: 0 } as FlowEvent,
  ];
};

const scenarios: [string, () => DCall<unknown>, DriveOptions?][] = [
  ["a token canceled by a branch after yields rejects the other branch's delay", () => tokens()],
  ["a cancelAfter timer set before yields still cancels", () => cancelAfterWhileYielding()],
  ["combinators over branches that yield; a pending call held in a local", () => fanOut()],
  ["a callback resumed while the flow yields", () => callbackAmongYields(), { inject: answerAtRun4 }],
  ["errors, catch and finally across yields; aliasing inside the flow", () => errorsAndFinally()],
  ["a cancel request while branches yield", () => canceledWhileYielding(), { inject: cancelAtRun5 }],
];

describe("live runs behave as decoded runs", () => {
  for (const [name, make, options] of scenarios) {
    test(name, async () => {
      log.length = 0;
      const decoded = await driveFlow(make(), options);
      const decodedLog = [...log];
      log.length = 0;
      const live = await driveFlow(make(), { ...options, live: true });
      assert.deepEqual(
        { status: live.status, value: live.value, error: live.error, runs: live.runs, log },
        {
          status: decoded.status,
          value: decoded.value,
          error: decoded.error,
          runs: decoded.runs,
          log: decodedLog,
        },
      );
      assert.ok(decoded.runs > 2, "the scenario suspends several times");
    });
  }

  test("the expected outcomes (so that both ways cannot be wrong together)", async () => {
    assert.deepEqual((await driveFlow(tokens(), { live: true })).value, [
      "DTaskCanceledError",
      "canceller done",
    ]);
    assert.equal(
      (await driveFlow(cancelAfterWhileYielding(), { live: true })).value,
      "canceled by cancelAfter",
    );
    assert.deepEqual((await driveFlow(fanOut(), { live: true })).value, ["a2", "b3", "y1", "s4"]);
    assert.equal(
      (await driveFlow(callbackAmongYields(), { live: true, inject: answerAtRun4 })).value,
      "reply: hello",
    );
    log.length = 0;
    const canceled = await driveFlow(canceledWhileYielding(), { live: true, inject: cancelAtRun5 });
    assert.equal(canceled.status, "canceled");
    assert.ok(log.includes("cleanup ran") && log.length < 20, `canceled midway: ${log.join(",")}`);
    assert.deepEqual((await driveFlow(errorsAndFinally(), { live: true })).value, [
      "out of range after a yield",
      "finally",
      "aliases kept: true 3",
    ]);
  });

  test("waits are added and removed exactly once; a yield is never sent to the store as a wait", async () => {
    const first = await runFlow({ flowId: "w", start: callbackAmongYields(), events: [], now: 0 });
    const added = first.addWaits.map((w) => w.id);
    assert.equal(added.length, 1, "the callback");
    let result = first;
    for (let run = 0; run < 3; run++) {
      result = await runFlow({
        flowId: "w",
        snapshot: result.snapshot,
        live: result.live,
        events: [],
        now: 0,
      });
      assert.deepEqual(result.addWaits, [], "nothing new to store");
      assert.deepEqual(result.removeWaits, [], "nothing to remove (yields are not waits)");
    }
    const decoded = await runFlow({ flowId: "w", snapshot: result.snapshot, events: [], now: 0 });
    assert.deepEqual(decoded.removeWaits, [], "nor after a decode");
  });

  test("a live state is only taken for the flow it came from", async () => {
    const first = await runFlow({ flowId: "one", start: fanOut(), events: [], now: 0 });
    const other = await runFlow({ flowId: "two", start: counter("other", 2), events: [], now: 0 });
    const next = await runFlow({
      flowId: "two",
      snapshot: other.snapshot,
      live: first.live,
      events: [],
      now: 0,
    });
    assert.equal(next.status, "suspended");
    log.length = 0;
    const done = await runFlow({
      flowId: "two",
      snapshot: next.snapshot,
      live: next.live,
      events: [],
      now: 0,
    });
    assert.equal(done.status, "succeeded");
    assert.deepEqual(log, ["other1"]);
  });
});
