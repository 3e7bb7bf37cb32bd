// The runner scenarios of the .NET original (dotnet-dtasks-spec.md §5.1 and §5.2) as host
// behaviour: each flow is started with host.start, suspends into the store, and is carried on by
// the test host's worker on a virtual clock. Where the original had a bug or a NotImplemented path,
// the test asserts the correct behaviour (noted "fixed").
import assert from "node:assert/strict";
import { after, afterEach, beforeEach, describe, test } from "node:test";
import { DTaskCanceledError } from "dtasks";
import { createTestHost, type TestHost } from "dtasks/testing";
import * as flows from "./flows.js";
import { collectErrors, rejectsWith, STORES } from "./helpers.js";

for (const kind of STORES) {
  describe(`scenarios (${kind.name} store)`, { timeout: 60_000 }, () => {
    let host: TestHost;
    beforeEach(() => {
      flows.reset();
      host = createTestHost({ store: kind.make(), now: Date.UTC(2030, 0, 1) });
    });
    afterEach(() => host.close());

    async function counts() {
      return host.store.countRecords();
    }

    test("1–2, 13: a root that returns at once finishes in the start run, with nothing left waiting", async () => {
      const flow = await host.start(flows.returns42());
      assert.equal(await flow.status(), "succeeded");
      assert.equal(await flow.result(), 42);
      const records = await counts();
      assert.equal(records.callbacks, 0);
      assert.equal(records.timers, 0);
      assert.equal(records.events, 0);
    });

    test("3–4: an exception escaping the root faults the flow; result() rejects with the same error", async () => {
      const flow = await host.start(flows.throwsRange("out of range"));
      assert.equal(await flow.status(), "faulted");
      await assert.rejects(flow.result(), (error: Error) => {
        assert.ok(error instanceof RangeError);
        assert.equal(error.message, "out of range");
        assert.equal((error.cause as Error).message, "the cause");
        return true;
      });
      const info = await host.get(flow.id);
      assert.ok(info.error instanceof RangeError);
    });

    test("14–15, 35: native awaits and completed DTasks run in process; a completed failure is catchable", async () => {
      assert.equal(await (await host.start(flows.awaitsNativeTimer())).result(), 42);
      assert.equal(await (await host.start(flows.awaitsCompleted())).result(), 42);
      assert.equal(await (await host.start(flows.awaitsFromError())).result(), "caught TypeError");
    });

    test("19: a child that completes without suspending returns its value to the caller", async () => {
      const flow = await host.start(flows.awaitsChild());
      assert.equal(await flow.status(), "succeeded");
      assert.equal(await flow.result(), 43);
    });

    test("5, 20: a yield suspends durably and a worker resumes it", async () => {
      await host.close();
      host = createTestHost({ store: kind.make(), worker: false });
      const flow = await host.start(flows.yieldsOnce("y"));
      assert.equal(await flow.status(), "suspended", "start returns at the first suspension");
      const info = await host.get(flow.id);
      assert.equal(info.readyAt, host.now(), "runnable at once");
      assert.equal(info.tasks![0]!.frames[0]!.await!.src, "await DTask.yield()");
      await host.runUntilIdle();
      assert.deepEqual(flows.trace.get("y"), ["before yield"], "without a worker nothing runs it");
      host.startWorker();
      assert.equal(await flow.result(), 42);
      assert.deepEqual(flows.trace.get("y"), ["before yield", "after yield"]);
    });

    test("24: yielding twice keeps the frame's state across both suspensions", async () => {
      const flow = await host.start(flows.yieldsTwice("y2"));
      await host.runUntilIdle();
      assert.equal(await flow.result(), 2);
    });

    test("6, 21: a delay suspends until its due time, measured on the host's clock", async () => {
      const flow = await host.start(flows.delays("d", "42s"));
      await host.advance("41s");
      assert.equal(await flow.status(), "suspended");
      assert.deepEqual(flows.trace.get("d"), ["waiting"]);
      await host.advance("1s");
      assert.equal(await flow.result(), 42);
      const info = await host.get(flow.id);
      assert.equal(info.finishedAt, Date.UTC(2030, 0, 1) + 42_000);
    });

    test("7–12, 22–23: a callback gets a fresh id once; resume(id, value) completes it with the value", async () => {
      const flow = await host.start(flows.waitsForCallback("c"));
      const ids = flows.callbacks.get("c")!;
      assert.equal(ids.length, 1);
      assert.notEqual(ids[0], flow.id);
      assert.deepEqual(await host.resume(ids[0]!, { answer: 42 }), { flowId: flow.id });
      await host.runUntilIdle();
      assert.deepEqual(await flow.result(), { answer: 42 });
      assert.equal(flows.callbacks.get("c")!.length, 1, "the callback is not called again on resume");
    });

    test("8: resume(id) without a value completes the wait with undefined", async () => {
      const flow = await host.start(flows.waitsForCallback("c"));
      await host.resume(flows.callbacks.get("c")![0]!);
      await host.runUntilIdle();
      assert.equal(await flow.result(), undefined);
    });

    test("18 (fixed): fail(id, error) rejects the awaiting frame with that error", async () => {
      const flow = await host.start(flows.catchesCallbackFailure("f"));
      await host.fail(flows.callbacks.get("f")![0]!, new TypeError("card declined"));
      await host.runUntilIdle();
      assert.equal(await flow.result(), "TypeError: card declined");
    });

    test("a throwing DTask.callback callback fails its wait (reported, not lost)", async () => {
      const { errors, onError } = collectErrors();
      await host.close();
      host = createTestHost({ store: kind.make(), onError });
      const flow = await host.start(flows.callbackThrows("t"));
      await host.runUntilIdle();
      assert.equal(await flow.result(), "caught: the webhook for t is down");
      assert.ok(
        errors.some((e) => e.operation === "callback" && /webhook for t is down/.test(e.error.message)),
      );
    });

    test("25–26, 28–29: whenAll of suspending branches: results in input order, and each branch's own result", async () => {
      const flow = await host.start(flows.allOfYields("w"));
      await host.runUntilIdle();
      assert.deepEqual(await flow.result(), { results: [1, 3, 2], same: true });
      assert.deepEqual(flows.trace.get("w")!.sort(), ["branch 1", "branch 2"]);
    });

    test("50 (fixed): whenAll whose branches all complete synchronously", async () => {
      const flow = await host.start(flows.allSynchronous());
      assert.deepEqual(await flow.result(), [2, 3, 9]);
    });

    test("27, 53: whenAny: the callback wins; the losing delay's timer is removed", async () => {
      const flow = await host.start(flows.anyOf("a"));
      assert.equal((await counts()).timers, 1);
      await host.resume(flows.callbacks.get("a")![0]!, "approved");
      await host.runUntilIdle();
      assert.equal(await flow.result(), "approved");
      assert.equal((await counts()).timers, 0);
    });

    test("27: whenAny: the delay wins; the losing callback can no longer be resumed (DT502)", async () => {
      const flow = await host.start(flows.anyOf("a"));
      await host.advance("10m");
      assert.equal(await flow.result(), "timed out");
      await rejectsWith(host.resume(flows.callbacks.get("a")![0]!, "late"), "DT502", /no longer awaited/);
    });

    test("51 (fixed): whenAny with a branch that completes during fan-out", async () => {
      const flow = await host.start(flows.anySynchronous());
      assert.equal(await flow.result(), 2);
      assert.equal((await counts()).timers, 0, "the losing delay left no timer");
    });

    test("30: when the root finishes, pending tasks are canceled (finally runs) and their waits removed", async () => {
      const flow = await host.start(flows.leavesBranch("b"));
      assert.equal((await counts()).timers, 1);
      await host.runUntilIdle();
      assert.equal(await flow.result(), "root done");
      assert.deepEqual(flows.trace.get("b"), ["background finally"]);
      const records = await counts();
      assert.equal(records.timers, 0);
      assert.equal(records.events, 0);
    });

    test("cancel: durable waits reject with DTaskCanceledError at the await, finally runs, result() rejects", async () => {
      const flow = await host.start(flows.cancelable("k"));
      assert.deepEqual(await host.cancel(flow.id), { outcome: "requested" });
      assert.deepEqual(await host.cancel(flow.id), { outcome: "pending" }, "one cancel request at a time");
      await host.runUntilIdle();
      assert.equal(await flow.status(), "canceled");
      assert.deepEqual(flows.trace.get("k"), ["waiting a week", "finally"]);
      await assert.rejects(flow.result(), DTaskCanceledError);
      assert.deepEqual(await host.cancel(flow.id), { outcome: "finished" });
      assert.equal((await counts()).timers, 0);
    });

    test("cancelAfter: a token source cancels a durable delay after its own timer", async () => {
      const flow = await host.start(flows.cancelsItself("s"));
      await host.advance("1h");
      assert.equal(await flow.result(), "canceled after an hour");
      assert.deepEqual(flows.trace.get("s"), ["DTaskCanceledError"]);
    });

    test("31: calling a d-async function runs nothing until it is started", async () => {
      const call = flows.delays("cold", "1d");
      await host.runUntilIdle();
      assert.equal(flows.trace.get("cold"), undefined);
      assert.equal(call.status, "pending");
      assert.deepEqual((await host.list()).flows, []);
      await host.start(call);
      assert.deepEqual(flows.trace.get("cold"), ["waiting"]);
    });

    test("45 (fixed): an exception escaping a non-root frame after a suspension propagates to its caller", async () => {
      const uncaught = await host.start(flows.childFails("e1", false));
      const caught = await host.start(flows.childFails("e2", true));
      await host.runUntilIdle();
      await assert.rejects(uncaught.result(), { name: "TypeError", message: "child of e1 failed" });
      assert.equal(await caught.result(), "caught child of e2 failed");
    });

    test("52 (fixed): whenAny whose winning branch no local holds", async () => {
      const flow = await host.start(flows.anyUnheld("u"));
      await host.runUntilIdle();
      assert.equal(await flow.result(), 7);
      assert.equal((await counts()).timers, 0);
    });

    test("live locals (Date, Map, Set) come back after a suspension", async () => {
      const flow = await host.start(flows.keepsLocals("l"));
      await host.resume(flows.callbacks.get("l")![0]!);
      await host.runUntilIdle();
      assert.deepEqual(await flow.result(), {
        started: "2030-01-01T00:00:00.000Z",
        seen: [
          ["a", 1],
          ["b", 2],
        ],
        tags: ["x"],
      });
    });
  });
}

after(() => flows.reset());
