// flow.result() and the runs of its own host: a flow that this host's worker finishes while
// result() waits is settled from what the run committed, not read back from the store; waiters of
// another host still read the store; nothing is kept for flows nobody waits on.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { createHost, type Store } from "dtasks";
import { FinishedOutcomes } from "../../src/host/finished.js";
import * as flows from "./flows.js";
import { STORES } from "./helpers.js";

/** The store, with its `getFlow` calls counted. */
function counting(store: Store): { store: Store; reads: () => number } {
  let reads = 0;
  const counted = new Proxy(store, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (key === "getFlow") {
        return (...args: Parameters<Store["getFlow"]>) => {
          reads++;
          return target.getFlow(...args);
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { store: counted, reads: () => reads };
}

/** Resolves once `key`'s flow announced its callback id. */
async function callbackOf(key: string): Promise<string> {
  for (;;) {
    const id = flows.callbacks.get(key)?.[0];
    if (id !== undefined) return id;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Resolves once `reads()` reached `n`: the waiter has done its first read and is waiting. */
async function readsReach(reads: () => number, n: number): Promise<void> {
  while (reads() < n) await new Promise((resolve) => setTimeout(resolve, 2));
}

for (const kind of STORES) {
  describe(`flow.result() and this host's runs (${kind.name} store)`, { timeout: 30_000 }, () => {
    let shared: Store;
    const hosts: ReturnType<typeof createHost>[] = [];
    beforeEach(() => {
      flows.reset();
      shared = kind.make();
    });
    afterEach(async () => {
      for (const host of hosts.splice(0)) await host.close();
      await shared.close();
    });
    const host = (store: Store) => {
      const h = createHost({ store, closeStore: false });
      hosts.push(h);
      return h;
    };
    /** A host with a worker, a flow of it waiting on a callback, and its result() waiting too. */
    const waiting = async (key: string) => {
      const { store, reads } = counting(shared);
      const h = host(store);
      h.startWorker({ concurrency: 2 });
      const flow = await h.start(flows.waitsForCallback(key));
      const result = flow.result();
      await readsReach(reads, 1);
      return { h, flow, result, reads, callbackId: await callbackOf(key) };
    };

    test("a flow this host's worker finishes is settled without reading it back", async () => {
      const { h, result, reads, callbackId } = await waiting("a");
      await h.resume(callbackId, { approved: true });
      assert.deepEqual(await result, { approved: true });
      assert.equal(reads(), 1, "only the read made before waiting");
    });

    test("a flow that faults rejects with its own error, also without a read back", async () => {
      const { h, result, reads, callbackId } = await waiting("f");
      await h.fail(callbackId, new RangeError("card declined"));
      await assert.rejects(
        result,
        (error: Error) => error.name === "RangeError" && error.message === "card declined",
      );
      assert.equal(reads(), 1);
    });

    test("every waiter of the flow gets the outcome; a later result() reads the store", async () => {
      const { h, flow, result: first, reads, callbackId } = await waiting("m");
      const second = h.flow(flow.id).result();
      await readsReach(reads, 2);
      await h.resume(callbackId, 7);
      assert.deepEqual(await Promise.all([first, second]), [7, 7]);
      assert.equal(reads(), 2);
      // Nobody waits now, so nothing was kept: a new waiter reads the finished flow.
      assert.equal(await flow.result(), 7);
      assert.equal(reads(), 3);
    });

    test("a waiter of another host (same store) is woken and reads the outcome from the store", async () => {
      const runner = counting(shared);
      const watcher = counting(shared);
      const running = host(runner.store);
      const watching = host(watcher.store);
      running.startWorker({ concurrency: 2 });
      const flow = await running.start(flows.waitsForCallback("o"));
      const result = watching.flow(flow.id).result();
      await readsReach(watcher.reads, 1);
      await running.resume(await callbackOf("o"), "done");
      assert.equal(await result, "done");
      assert.ok(watcher.reads() >= 2, `the other host read the finished flow (${watcher.reads()} reads)`);
    });
  });
}

describe("FinishedOutcomes", () => {
  const outcome = (id: string) => ({ id, status: "succeeded" as const, result: "r", error: null });

  test("keeps an outcome only while someone watches the flow", () => {
    const outcomes = new FinishedOutcomes();
    outcomes.record(outcome("a"));
    assert.equal(outcomes.get("a"), undefined, "not watched: not kept");
    const unwatch = outcomes.watch("a");
    outcomes.record(outcome("a"));
    assert.deepEqual(outcomes.get("a"), outcome("a"));
    unwatch();
    assert.equal(outcomes.get("a"), undefined, "released with the last watcher");
  });

  test("two watchers: the outcome stays until both are done; releasing twice counts once", () => {
    const outcomes = new FinishedOutcomes();
    const first = outcomes.watch("a");
    const second = outcomes.watch("a");
    outcomes.record(outcome("a"));
    first();
    first();
    assert.deepEqual(outcomes.get("a"), outcome("a"));
    second();
    assert.equal(outcomes.get("a"), undefined);
    outcomes.record(outcome("a"));
    assert.equal(outcomes.get("a"), undefined);
  });
});
