// The host's API as callers use it: starting, reading, listing, resuming, canceling, services,
// closing; and every bad input, with its message, and with nothing lost.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { createHost, DTask, type DTaskError, memoryStore } from "dtasks";
import { createTestHost, type TestHost } from "dtasks/testing";
import * as flows from "./flows.js";
import { rejectsWith, STORES, throwsWith } from "./helpers.js";

for (const kind of STORES) {
  describe(`host API (${kind.name} store)`, { timeout: 60_000 }, () => {
    let host: TestHost;
    beforeEach(() => {
      flows.reset();
      host = createTestHost({ store: kind.make(), now: Date.UTC(2030, 0, 1) });
    });
    afterEach(() => host.close());

    test("start: a given id and metadata are kept; the same id again is DT406 and starts nothing", async () => {
      const flow = await host.start(flows.delays("m", "1d"), {
        id: "order-42",
        metadata: { customer: "ada", n: [1] },
      });
      assert.equal(flow.id, "order-42");
      const info = await host.get("order-42");
      assert.deepEqual(info.metadata, { customer: "ada", n: [1] });
      assert.equal(info.rootFunctionId, "test/host/flows#delays");
      await rejectsWith(host.start(flows.delays("m2", "1d"), { id: "order-42" }), "DT406", /already exists/);
      assert.deepEqual(flows.trace.get("m2"), undefined, "the second start ran nothing");
      assert.equal((await host.list()).flows.length, 1);
    });

    test("start: generated ids are 22 URL-safe characters (128 random bits), all different", async () => {
      const ids = new Set<string>();
      for (let i = 0; i < 20; i++) ids.add((await host.start(flows.returns42())).id);
      assert.equal(ids.size, 20);
      for (const id of ids) assert.match(id, /^[A-Za-z0-9_-]{22}$/);
    });

    test("start: bad arguments are DT509/DT505 naming the problem; nothing is created", async () => {
      await rejectsWith(
        () => host.start(DTask.delay("1d") as never),
        "DT509",
        /not with DTask\.delay\(\); wrap it/,
      );
      await rejectsWith(() => host.start(flows.returns42 as never), "DT509", /got a function: pass a call/);
      await rejectsWith(() => host.start(Promise.resolve(1) as never), "DT509", /got a Promise/);
      await rejectsWith(() => host.start(42 as never), "DT509", /expects a call of a d-async function/);
      await rejectsWith(
        () => host.start(flows.returns42(), { id: "has space" }),
        "DT505",
        /option 'id' must be 1–128 characters/,
      );
      await rejectsWith(
        () => host.start(flows.returns42(), { metdata: {} } as never),
        "DT505",
        /unknown option 'metdata' \(did you mean 'metadata'\?\)/,
      );
      await rejectsWith(
        () => host.start(flows.returns42(), { metadata: { at: new Date() } as never }),
        "DT505",
        /'at' is not/,
      );
      const pending = host.start(42 as never);
      assert.ok(
        pending instanceof Promise,
        "a promise-returning method rejects, it never throws synchronously",
      );
      await assert.rejects(pending);
      const call = flows.returns42();
      const twice = host.start(call);
      await rejectsWith(host.start(call), "DT509", /already started/);
      await twice;
      await rejectsWith(
        () => host.start(call),
        "DT509",
        /was already started \(it is succeeded\); call the d-async function again/,
      );
      assert.equal((await host.list()).flows.length, 1);
    });

    test("get: a suspended flow's frames, the await each is at, and its live locals", async () => {
      const flow = await host.start(flows.approval("g", { id: "o-7", total: 12.5 }));
      const info = await host.get(flow.id);
      assert.equal(info.status, "suspended");
      assert.equal(info.lastError, null);
      assert.equal(info.readyAt, null, "waits on a callback only");
      assert.equal(info.createdAt, Date.UTC(2030, 0, 1));
      const frames = info.tasks!.flatMap((t) => t.frames);
      assert.equal(frames.length, 1);
      const [frame] = frames;
      assert.equal(frame!.functionId, "test/host/flows#approval");
      assert.match(frame!.await!.loc, /^test\/host\/flows\.ts:\d+:\d+$/);
      assert.match(frame!.await!.src, /DTask\.callback/);
      assert.deepEqual(frame!.locals, { key: "g", order: { id: "o-7", total: 12.5 } });
      assert.ok(info.tasks!.some((t) => t.waitingOn === `callback ${flows.callbacks.get("g")![0]}`));
    });

    test("get/flow/cancel on an unknown id: DT501; bad ids: DT509", async () => {
      await rejectsWith(
        host.get("nope"),
        "DT501",
        /no flow with id "nope" \(never started in this store, or finished and deleted/,
      );
      await rejectsWith(host.flow("nope").status(), "DT501");
      await rejectsWith(host.flow("nope").result(), "DT501");
      await rejectsWith(host.cancel("nope"), "DT501");
      await rejectsWith(() => host.get("" as string), "DT509", /flow id must be a non-empty string/);
      throwsWith(() => host.flow(7 as never), "DT509", /got 7/);
    });

    test("list: by status, newest first, paged with a cursor; bad options are DT505", async () => {
      const done = await host.start(flows.returns42());
      const waiting: string[] = [];
      for (let i = 0; i < 3; i++) {
        await host.advance("1s");
        waiting.push((await host.start(flows.waitsForCallback(`l${i}`))).id);
      }
      const suspended = await host.list({ status: "suspended" });
      assert.deepEqual(
        suspended.flows.map((f) => f.id),
        [...waiting].reverse(),
      );
      assert.deepEqual(
        (await host.list({ status: ["succeeded"] })).flows.map((f) => f.id),
        [done.id],
      );
      const first = await host.list({ limit: 2, order: "asc" });
      assert.deepEqual(
        first.flows.map((f) => f.id),
        [done.id, waiting[0]],
      );
      const second = await host.list({ limit: 2, order: "asc", after: first.next });
      assert.deepEqual(
        second.flows.map((f) => f.id),
        waiting.slice(1),
      );
      assert.equal(second.next, null);
      await rejectsWith(
        () => host.list({ status: "suspend" as never }),
        "DT505",
        /did you mean 'suspended'\?/,
      );
      await rejectsWith(() => host.list({ limit: 0 }), "DT505", /'limit' must be an integer from 1 to 1000/);
      await rejectsWith(() => host.list({ stauts: "running" } as never), "DT505", /did you mean 'status'/);
    });

    test("resume: an unknown callback is DT502, a second resume DT503; the first value wins, nothing lost", async () => {
      const flow = await host.start(flows.waitsForCallback("r"));
      const [id] = flows.callbacks.get("r")!;
      await rejectsWith(host.resume("cb_unknown", 1), "DT502", /no callback with id "cb_unknown"/);
      await host.resume(id!, "first");
      await rejectsWith(
        host.resume(id!, "second"),
        "DT503",
        /was already resumed; a callback is resumed once/,
      );
      await rejectsWith(host.fail(id!, new Error("late")), "DT503");
      await host.runUntilIdle();
      assert.equal(await flow.result(), "first");
      await rejectsWith(host.resume(id!, "third"), "DT503");
      await rejectsWith(
        () => host.resume(undefined as never),
        "DT509",
        /callback id must be the non-empty string/,
      );
    });

    test("resume with a value that cannot be stored: DT301 before anything is stored; a good resume then works", async () => {
      const flow = await host.start(flows.waitsForCallback("u"));
      const [id] = flows.callbacks.get("u")!;
      const before = await host.store.countRecords();
      await rejectsWith(() => host.resume(id!, { notify: () => {} }), "DT301", /function/);
      assert.deepEqual(await host.store.countRecords(), before);
      await host.runUntilIdle();
      assert.equal(await flow.status(), "suspended");
      await host.resume(id!, { ok: true });
      await host.runUntilIdle();
      assert.deepEqual(await flow.result(), { ok: true });
    });

    test("a callback runs after the flow's state is stored, and before start() returns", async () => {
      const seen: unknown[] = [];
      flows.onCallback.set("s", async (id) => {
        const callback = await host.store.getCallback(id);
        const flow = await host.store.getFlow(callback!.flowId);
        seen.push(callback!.state, flow!.status, flow!.revision);
      });
      await host.start(flows.waitsForCallback("s"));
      assert.deepEqual(seen, ["waiting", "suspended", 1]);
    });

    test("a resume that arrives while a run of the flow is in progress is kept and applied after it", async () => {
      const gate = flows.makeGate("p");
      const flow = await host.start(flows.slowAfterCallback("p"));
      const [first] = flows.callbacks.get("p:first")!;
      const [second] = flows.callbacks.get("p:second")!;
      await host.resume(first!, "a");
      void host.runUntilIdle();
      await gate.reached; // the worker's run holds the lease and waits in process
      await host.resume(second!, "b");
      gate.open();
      await host.runUntilIdle();
      assert.equal(await flow.result(), "a+b");
      assert.equal((await host.store.countRecords()).events, 0);
    });

    test("two resumes of two callbacks before any run: both are applied", async () => {
      const flow = await host.start(flows.twoCallbacks("two"));
      await host.resume(flows.callbacks.get("two:second")![0]!, "y");
      await host.resume(flows.callbacks.get("two:first")![0]!, "x");
      await host.runUntilIdle();
      assert.equal(await flow.result(), "x+y");
    });

    test("result(): waits across a week of virtual time; aborts with its signal", async () => {
      const flow = await host.start(flows.delays("w", "7d"));
      const controller = new AbortController();
      const aborted = flow.result({ signal: controller.signal });
      controller.abort(new Error("gave up"));
      await assert.rejects(aborted, /gave up/);
      const result = flow.result();
      await host.advance("7d");
      assert.equal(await result, 42);
    });

    test("services: stored by token, resolved by token in the host that resumes", async () => {
      const mailer = new flows.Mailer("primary");
      host.registerService("mailer", mailer);
      const flow = await host.start(flows.usesService(mailer, "ada@example.com"));
      // Another host on the same store, with its own object under the same token, resumes it.
      const other = createTestHost({ store: host.store, closeStore: false, now: host.now() + 3_600_000 });
      const replacement = new flows.Mailer("replacement");
      other.registerService("mailer", replacement);
      await host.worker!.stop();
      await other.runUntilIdle();
      assert.equal(await flow.result(), "replacement");
      assert.deepEqual(replacement.sent, ["ada@example.com"]);
      assert.deepEqual(mailer.sent, []);
      await other.close();
      throwsWith(
        () => host.registerService("mailer", new flows.Mailer("x")),
        "DT509",
        /already registered for another object/,
      );
      throwsWith(() => host.registerService("", mailer), "DT509", /non-empty string/);
      throwsWith(() => host.registerService("n", 5 as never), "DT509", /must be an object/);
    });

    test("a live value that cannot be stored rejects the await with DT301 naming the variable; unhandled, it faults the flow", async () => {
      const flow = await host.start(flows.holdsFunction("h"));
      assert.equal(await flow.status(), "faulted");
      await assert.rejects(flow.result(), (error: DTaskError) => {
        assert.equal(error.code, "DT301");
        assert.match(error.message, /local 'callback'/);
        return true;
      });
    });
  });
}

describe("host lifecycle", { timeout: 60_000 }, () => {
  test("every method after close() is DT504; close() is idempotent; a waiting result() rejects with DT504", async () => {
    const host = createTestHost();
    const flow = await host.start(flows.delays("c", "1d"));
    const waiting = flow.result();
    await host.close();
    await host.close();
    await rejectsWith(waiting, "DT504", /closed while waiting/);
    await rejectsWith(
      () => host.start(flows.returns42()),
      "DT504",
      /host\.start\(\) was called after host\.close\(\); create a new host/,
    );
    await rejectsWith(() => host.get(flow.id), "DT504");
    await rejectsWith(() => host.list(), "DT504");
    throwsWith(() => host.flow(flow.id), "DT504");
    await rejectsWith(() => flow.result(), "DT504", /flow\.result\(\)/);
    await rejectsWith(() => flow.status(), "DT504");
    await rejectsWith(() => host.resume("x", 1), "DT504");
    await rejectsWith(() => host.fail("x", new Error()), "DT504");
    await rejectsWith(() => host.cancel(flow.id), "DT504");
    throwsWith(() => host.registerService("s", {}), "DT504");
    throwsWith(() => host.startWorker(), "DT504");
  });

  test("close() closes the store it was given unless closeStore is false", async () => {
    const store = memoryStore();
    await createHost({ store, closeStore: false }).close();
    await store.listFlows();
    await createHost({ store }).close();
    await rejectsWith(store.listFlows(), "DT403");
  });

  test("close() lets a start in progress finish before closing the store", async () => {
    const host = createTestHost();
    const started = host.start(flows.awaitsNativeTimer());
    const closed = host.close();
    assert.equal(await (await started).id.length, 22);
    await closed;
  });

  test("options are checked at construction: unknown keys with 'did you mean', types, ranges (DT505)", () => {
    throwsWith(
      () => createHost({ stor: memoryStore() } as never),
      "DT505",
      /createHost: unknown option 'stor' \(did you mean 'store'\?\)\. Known options: store, closeStore/,
    );
    throwsWith(
      () => createHost({ leaseDuraton: "1s", formt: "json" } as never),
      "DT505",
      /'leaseDuraton' \(did you mean 'leaseDuration'\?\); unknown option 'formt' \(did you mean 'format'\?\)/,
    );
    throwsWith(
      () => createHost({ store: {} as never }),
      "DT505",
      /option 'store' must be a dtasks Store .* without createFlow, commit/,
    );
    throwsWith(
      () => createHost({ leaseDuration: "soon" }),
      "DT505",
      /option 'leaseDuration' must be a duration/,
    );
    throwsWith(() => createHost({ leaseDuration: 1 }), "DT505", /at least 10 ms/);
    throwsWith(() => createHost({ retention: -1 }), "DT505", /'retention' must be a duration/);
    throwsWith(() => createHost({ format: "xml" as never }), "DT505", /"json" or "msgpack"/);
    throwsWith(() => createHost({ onError: "log" as never }), "DT505", /'onError' must be a function/);
    throwsWith(() => createHost({ services: { db: 1 } } as never), "DT505", /entry 'db' must be an object/);
    throwsWith(() => createHost("sqlite" as never), "DT505", /options must be an object/);
    throwsWith(() => createTestHost({ now: "today" } as never), "DT505", /'now' must be a time/);
    throwsWith(() => createTestHost({ wroker: false } as never), "DT505", /did you mean 'worker'/);
  });

  test("worker options are checked when the worker starts (DT505)", async () => {
    const host = createTestHost({ worker: false });
    throwsWith(
      () => host.startWorker({ concurency: 2 } as never),
      "DT505",
      /startWorker: unknown option 'concurency' \(did you mean 'concurrency'\?\)/,
    );
    throwsWith(
      () => host.startWorker({ concurrency: 0 }),
      "DT505",
      /'concurrency' must be an integer from 1 to 1024 \(got 0\)/,
    );
    throwsWith(
      () => host.startWorker({ retryDelay: "1s", maxRetryDelay: "10ms" }),
      "DT505",
      /must not be shorter than retryDelay/,
    );
    throwsWith(
      () => host.startWorker({ pollInterval: "often" }),
      "DT505",
      /'pollInterval' must be a duration/,
    );
    await host.close();
  });
});
