// Workers: their states, graceful stop and drain, bounded concurrency, lease renewal, a store
// that fails or is closed under them, and retention sweeps.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { createHost, DTaskError, memoryStore, type Store } from "dtasks";
import { createTestHost, type TestHost } from "dtasks/testing";
import * as flows from "./flows.js";
import { collectErrors, rejectsWith, STORES } from "./helpers.js";

describe("worker", { timeout: 30_000 }, () => {
  let host: TestHost;
  beforeEach(() => flows.reset());
  afterEach(() => host?.close());

  test("states: idle → running while a flow runs → draining on stop() → stopped once it committed", async () => {
    host = createTestHost({ worker: false });
    const worker = host.startWorker();
    await host.runUntilIdle();
    assert.equal(worker.state, "idle");
    const gate = flows.makeGate("s");
    const flow = await host.start(flows.gated("s"));
    await gate.reached;
    assert.equal(worker.state, "running");
    assert.equal(worker.active, 1);
    const stopped = worker.stop();
    assert.equal(worker.state, "draining");
    assert.equal(worker.stop(), stopped, "stop() is idempotent");
    gate.open();
    await stopped;
    assert.equal(worker.state, "stopped");
    assert.equal(await flow.status(), "succeeded", "the run in progress finished and committed");
    assert.equal((await host.store.getFlow(flow.id))!.lease, null);
  });

  test("a drain that times out releases the leases at once: another worker finishes the flow; the old run's commit is refused", async () => {
    const store = memoryStore();
    host = createTestHost({ store, closeStore: false, worker: { drainTimeout: 20 } });
    const gate = flows.makeGate("d");
    const flow = await host.start(flows.gated("d"));
    await gate.reached;
    await host.worker!.stop(); // waits 20 ms (real time), then gives the flow back
    assert.equal(host.worker!.state, "stopped");
    assert.equal((await store.getFlow(flow.id))!.lease, null, "released, not left to expire");
    const other = createTestHost({ store, now: host.now() });
    gate.open(); // both the abandoned run and the new one go through the gate
    await other.runUntilIdle();
    assert.equal(await other.flow(flow.id).result(), "d");
    const trace = flows.trace.get("d")!;
    assert.deepEqual(
      trace.filter((e) => e === "running"),
      ["running", "running"],
      "the segment ran twice (at least once)",
    );
    assert.equal(
      (await store.getFlow(flow.id))!.revision,
      2,
      "but only one run committed: start + the new worker's run",
    );
    await other.close();
  });

  test("runs at most `concurrency` flows at once, then takes the rest", async () => {
    host = createTestHost({ worker: { concurrency: 2 } });
    const gates = [0, 1, 2, 3, 4].map((i) => flows.makeGate(`c${i}`));
    // Which two run first is the store's choice (equal wake-up times): wait for any two.
    let reached = 0;
    const twoReached = new Promise<void>((resolve) => {
      for (const gate of gates) void gate.reached.then(() => ++reached === 2 && resolve());
    });
    const started = [];
    for (let i = 0; i < 5; i++) started.push(await host.start(flows.gated(`c${i}`)));
    await twoReached;
    // Give the worker every chance to (wrongly) claim a third: a few turns of the event loop.
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(host.worker!.active, 2);
    assert.equal(reached, 2, "no third flow started while two were running");
    for (const gate of gates) gate.open();
    await host.runUntilIdle();
    assert.equal(reached, 5);
    for (const flow of started) assert.equal(await flow.status(), "succeeded");
  });

  test("a store that fails: the worker reports it, backs off, and runs the flow once the store is back", async () => {
    const { errors, onError } = collectErrors();
    const inner = memoryStore();
    let down = false;
    const failing = new Proxy(inner, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver);
        if ((name === "claim" || name === "nextWakeAt") && typeof value === "function") {
          return (...args: unknown[]) =>
            down
              ? Promise.reject(new DTaskError("DT402", "memory store: claim failed: connection refused"))
              : value.apply(target, args);
        }
        return typeof value === "function" ? value.bind(target) : value;
      },
    }) as Store;
    host = createTestHost({ store: failing, onError });
    const flow = await host.start(flows.waitsForCallback("f"));
    down = true;
    await host.resume(flows.callbacks.get("f")![0]!, "ok");
    await host.advance("1s");
    const failures = errors.filter((e) => e.operation === "claim");
    assert.ok(failures.length >= 3, `retried with back-off (${failures.length} failures in 1 s)`);
    assert.ok(failures.length < 12, "backing off, not hammering the store");
    assert.ok(failures.every((e) => e.error instanceof DTaskError && e.error.code === "DT402"));
    assert.equal(host.worker!.state, "idle");
    assert.equal(await flow.status(), "suspended", "the resume is stored and waits");
    down = false;
    await host.advance("30s");
    assert.equal(await flow.result(), "ok");
  });

  test("a store closed under a worker fails it with DT403 (state failed, error kept)", async () => {
    const { errors, onError } = collectErrors();
    const store = memoryStore();
    host = createTestHost({ store, closeStore: false, onError });
    await store.close();
    await host.start(flows.returns42()).catch(() => {});
    await host.worker!.done;
    assert.equal(host.worker!.state, "failed");
    assert.equal((host.worker!.error as DTaskError).code, "DT403");
    assert.ok(errors.some((e) => e.operation === "worker"));
  });

  for (const kind of STORES) {
    test(`retention (${kind.name}): a finished flow is kept for its retention, then swept with everything attached`, async () => {
      host = createTestHost({ store: kind.make(), retention: "2h" });
      const flow = await host.start(flows.anyOf("r"));
      await host.resume(flows.callbacks.get("r")![0]!, "yes");
      await host.runUntilIdle();
      const info = await host.get(flow.id);
      assert.equal(info.status, "succeeded");
      assert.equal(info.expiresAt, info.finishedAt! + 2 * 3_600_000);
      await host.advance("1h");
      assert.equal((await host.get(flow.id)).result, "yes");
      await host.advance("1h");
      await rejectsWith(host.get(flow.id), "DT501");
      const counts = await host.store.countRecords();
      for (const [table, n] of Object.entries(counts)) assert.equal(n, 0, `${table} left behind`);
    });
  }

  test("retention Infinity keeps finished flows", async () => {
    host = createTestHost({ retention: Infinity });
    const flow = await host.start(flows.returns42());
    await host.advance("40d");
    assert.equal((await host.get(flow.id)).expiresAt, null);
  });
});

describe("worker on the real clock", { timeout: 30_000 }, () => {
  test("renews the lease of a run longer than the lease, so a second worker never takes the flow over", async () => {
    flows.reset();
    const store = memoryStore();
    // A 1 s lease renewed every ~333 ms, for a 2.5 s segment: without renewal, b would take the
    // flow over after 1 s; with it, b never can, even on a busy machine.
    const a = createHost({ store, closeStore: false, leaseDuration: 1_000 });
    const b = createHost({ store, closeStore: false, leaseDuration: 1_000 });
    const flow = await a.start(flows.longSegment("l", 2_500));
    const workerA = a.startWorker({ pollInterval: 5 });
    const workerB = b.startWorker({ pollInterval: 5 });
    assert.equal(await flow.result(), "done");
    assert.deepEqual(flows.trace.get("l"), ["segment start", "segment end"], "the segment ran once");
    await Promise.all([workerA.stop(), workerB.stop()]);
    await a.close();
    await b.close();
    await store.close();
  });

  test("a flow finished by another host's worker is seen by result() through the store's notification", async () => {
    flows.reset();
    const store = memoryStore();
    const starter = createHost({ store, closeStore: false });
    const runner = createHost({ store, closeStore: false });
    const flow = await starter.start(flows.yieldsOnce("n"));
    const result = flow.result();
    const worker = runner.startWorker();
    assert.equal(await result, 42);
    await worker.stop();
    await Promise.all([starter.close(), runner.close()]);
    await store.close();
  });
  test("a flow that keeps yielding runs on while its worker has a free slot; with none it goes back to the queue every 100 rounds", async () => {
    flows.reset();
    /** How many times a claim handed the flow to a worker. */
    const claimsOf = async (concurrency: number) => {
      const store = memoryStore();
      let claimed = 0;
      const claim = store.claim.bind(store);
      store.claim = async (input) => {
        const taken = await claim(input);
        claimed += taken.length;
        return taken;
      };
      const host = createHost({ store });
      const worker = host.startWorker({ concurrency });
      // host.start runs the first segment and gives the flow to the queue at its first yield.
      const flow = await host.start(flows.counts(`c${concurrency}`, 350, 0));
      assert.equal(await flow.result(), 350);
      await worker.stop();
      await host.close();
      return claimed;
    };
    assert.equal(await claimsOf(2), 1, "claimed once, then 349 rounds in process");
    assert.equal(
      await claimsOf(1),
      4,
      "claimed again after 100, 200 and 300 rounds (its slot is the only one)",
    );
  });

  test("a worker with more free slots than one claim may take (concurrency 1024) claims in batches", async () => {
    flows.reset();
    const store = memoryStore();
    const starter = createHost({ store, closeStore: false });
    const { errors, onError } = collectErrors();
    const runner = createHost({ store, closeStore: false, onError });
    const started = await Promise.all(
      Array.from({ length: 1_010 }, (_, i) => starter.start(flows.yieldsOnce(`k${i}`))),
    );
    const worker = runner.startWorker({ concurrency: 1024 });
    for (const flow of started) assert.equal(await flow.result(), 42);
    assert.deepEqual(
      errors.map((e) => e.error.message),
      [],
      "no claim was refused (the store takes at most 1,000 at once)",
    );
    await worker.stop();
    await Promise.all([starter.close(), runner.close()]);
    await store.close();
  });

  for (const kind of STORES) {
    test(`draining a backlog on a synchronous store (${kind.name}) lets the process's timers run`, async () => {
      flows.reset();
      const store = kind.make();
      const starter = createHost({ store, closeStore: false });
      const runner = createHost({ store, closeStore: false });
      const count = 2_000;
      const started = await Promise.all(
        Array.from({ length: count }, (_, i) => starter.start(flows.yieldsOnce(`b${i}`))),
      );
      const finished = () =>
        started.filter((_, i) => flows.trace.get(`b${i}`)?.includes("after yield")).length;
      const worker = runner.startWorker({ concurrency: 64 });
      // A timer set when the drain begins must fire while it goes on, not after it.
      const atTimer = await new Promise<number>((resolve) => setTimeout(() => resolve(finished()), 0));
      for (const flow of started) assert.equal(await flow.result(), 42);
      assert.ok(atTimer < count, `the first timer fired only after all ${count} flows finished`);
      await worker.stop();
      await Promise.all([starter.close(), runner.close()]);
      await store.close();
    });
  }
});
