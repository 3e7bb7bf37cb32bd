/**
 * Claims and leases: what is claimable, in which order, never twice at once; timers; recovery
 * after a lease runs out; renew and release; the wake-up time.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import type { ClaimedFlow, Store } from "../../../src/core/store.js";
import {
  claimAll,
  id,
  LEASE,
  OWNER,
  rejectsWith,
  type StoreFactory,
  suspended,
  withStore,
} from "./harness.js";

export function claimTests(factory: StoreFactory): void {
  it("claims only runnable flows: yields now, timers when due, callbacks never by themselves", async () => {
    await withStore(factory, async (store) => {
      const yielded = await suspended(store, { runnableAt: 5 });
      const timed = await suspended(store, { waits: [{ kind: "timer", id: "t", dueAt: 100 }] });
      await suspended(store, { waits: [{ kind: "callback", id: id("cb") }] });

      assert.deepEqual(await claimAll(store, 4), []);
      const atFive = await claimAll(store, 5);
      assert.deepEqual(
        atFive.map((f) => f.id),
        [yielded.id],
      );
      assert.deepEqual(atFive[0]?.events, [], "a yield has no event");
      assert.equal(atFive[0]?.snapshot, "s1");
      assert.equal(atFive[0]?.status, "suspended");
      assert.equal(atFive[0]?.rootFunctionId, "test/flows#root");
      assert.equal(atFive[0]?.attempt, 1);
      assert.deepEqual(await claimAll(store, 99), [], "the yielded flow is leased now");

      const atHundred = await claimAll(store, 100);
      assert.deepEqual(
        atHundred.map((f) => f.id),
        [timed.id],
      );
      assert.equal(atHundred[0]?.events.length, 1);
      assert.deepEqual(
        { ...atHundred[0]?.events[0], id: "-" },
        { id: "-", kind: "timer", waitId: "t", payload: null, at: 100 },
      );
      assert.deepEqual(await claimAll(store, 1_000), [], "leased, or waiting on a callback");
      const flow = await store.getFlow(timed.id);
      assert.equal(flow?.status, "suspended", "a claim does not rewrite the status");
      assert.deepEqual(flow?.lease, { owner: OWNER, expiresAt: 100 + LEASE });
    });
  });

  it("claims oldest-ready first, up to the limit, so no flow starves", async () => {
    await withStore(factory, async (store) => {
      const order = [50, 10, 40, 20, 30];
      const flows = new Map<number, string>();
      for (const readyAt of order) flows.set(readyAt, (await suspended(store, { runnableAt: readyAt })).id);
      const first = await store.claim({ owner: OWNER, leaseMs: LEASE, limit: 2, now: 100 });
      assert.deepEqual(
        first.map((f) => f.id),
        [flows.get(10), flows.get(20)],
      );
      const rest = await store.claim({ owner: OWNER, leaseMs: LEASE, limit: 10, now: 100 });
      assert.deepEqual(
        rest.map((f) => f.id),
        [flows.get(30), flows.get(40), flows.get(50)],
      );
    });
  });

  it("fires timers in due order, each once, and sleeps until the next", async () => {
    await withStore(factory, async (store) => {
      const { id: flowId } = await suspended(store, {
        waits: [
          { kind: "timer", id: "t300", dueAt: 300 },
          { kind: "timer", id: "t100", dueAt: 100 },
          { kind: "timer", id: "t200", dueAt: 200 },
        ],
      });
      assert.equal(await store.nextWakeAt(), 100);
      assert.equal((await store.getFlow(flowId))?.readyAt, 100);
      const [claimed] = await claimAll(store, 250);
      assert.ok(claimed);
      assert.deepEqual(
        claimed.events.map((e) => [e.kind, e.waitId, e.at]),
        [
          ["timer", "t100", 100],
          ["timer", "t200", 200],
        ],
      );
      const committed = await store.commit({
        flowId,
        revision: claimed.revision,
        leaseToken: claimed.lease.token,
        now: 251,
        status: "suspended",
        consumedEvents: claimed.events.map((e) => e.id),
      });
      assert.equal(committed.readyAt, 300);
      assert.equal(await store.nextWakeAt(), 300);
      assert.deepEqual(await claimAll(store, 299), []);
      const [again] = await claimAll(store, 300);
      assert.deepEqual(
        again?.events.map((e) => e.waitId),
        ["t300"],
      );
    });
  });

  it("recovers a flow whose lease ran out, with its unconsumed events and its snapshot", async () => {
    await withStore(factory, async (store) => {
      const { id: flowId } = await suspended(store, { waits: [{ kind: "timer", id: "t", dueAt: 10 }] });
      const [first] = await store.claim({ owner: "dies", leaseMs: 100, limit: 5, now: 10 });
      assert.ok(first);
      assert.equal(await store.nextWakeAt(), 110, "a worker should look again when the lease runs out");
      // "dies" never commits.
      assert.deepEqual(await store.claim({ owner: "b", leaseMs: 100, limit: 5, now: 109 }), []);
      const [second] = await store.claim({ owner: "b", leaseMs: 100, limit: 5, now: 110 });
      assert.equal(second?.id, flowId);
      assert.equal(second?.snapshot, "s1");
      assert.deepEqual(second?.events, first.events, "the same pending events, once");
      assert.equal(second?.attempt, 2);
      await store.commit({
        flowId,
        revision: second.revision,
        leaseToken: second.lease.token,
        now: 111,
        status: "suspended",
        consumedEvents: second.events.map((e) => e.id),
      });
      assert.deepEqual(await claimAll(store, 100_000), []);
    });
  });

  it("recovers a flow whose creator died before its first commit", async () => {
    await withStore(factory, async (store) => {
      const created = await store.createFlow({
        id: id(),
        rootFunctionId: "r#f",
        snapshot: "root-call",
        owner: "starter",
        leaseMs: 30,
        now: 0,
      });
      assert.deepEqual(await claimAll(store, 29), []);
      const [recovered] = await claimAll(store, 30);
      assert.equal(recovered?.id, created.id);
      assert.equal(recovered?.snapshot, "root-call");
      assert.equal(recovered?.status, "running");
      assert.equal(recovered?.revision, 0);
      assert.equal(recovered?.attempt, 2, "the start counted as the first attempt");
    });
  });

  it("never grants one flow to two concurrent claimers", async () => {
    await withStore(factory, async (store, harness) => {
      const total = 120;
      for (let i = 0; i < total; i++) await suspended(store, { runnableAt: i % 7 });
      const stores: Store[] = [store];
      if (harness.connect) stores.push(await harness.connect(), await harness.connect());
      const claimers = Array.from({ length: 8 }, async (_, n) => {
        const mine: ClaimedFlow[] = [];
        const from = stores[n % stores.length]!;
        for (;;) {
          const batch = await from.claim({ owner: `w${n}`, leaseMs: LEASE, limit: 1 + (n % 3), now: 10 });
          if (batch.length === 0) return mine;
          mine.push(...batch);
        }
      });
      const results = await Promise.all(claimers);
      const ids = results.flat().map((f) => f.id);
      assert.equal(ids.length, total, "every flow claimed");
      assert.equal(new Set(ids).size, total, "no flow claimed twice");
    });
  });

  it("renews a held lease; a lost or expired one cannot be renewed (DT401)", async () => {
    await withStore(factory, async (store) => {
      const { id: flowId } = await suspended(store, { runnableAt: 0 });
      const [claimed] = await store.claim({ owner: OWNER, leaseMs: 100, limit: 1, now: 0 });
      assert.ok(claimed);
      const renewed = await store.renewLease({ flowId, token: claimed.lease.token, leaseMs: 100, now: 90 });
      assert.deepEqual(renewed, { token: claimed.lease.token, owner: OWNER, expiresAt: 190 });
      assert.deepEqual(await claimAll(store, 150), [], "renewed: still ours at 150");
      await rejectsWith(
        store.renewLease({ flowId, token: "not-the-token", leaseMs: 100, now: 100 }),
        "DT401",
      );
      await rejectsWith(
        store.renewLease({ flowId, token: claimed.lease.token, leaseMs: 100, now: 190 }),
        "DT401",
        /expired/,
      );
      await rejectsWith(store.renewLease({ flowId: "missing", token: "t", leaseMs: 100, now: 1 }), "DT401");
      // A commit within the renewed lease succeeds.
      const [again] = await claimAll(store, 190);
      assert.ok(again);
      await store.renewLease({ flowId, token: again.lease.token, leaseMs: 100, now: 250 });
      await store.commit({
        flowId,
        revision: again.revision,
        leaseToken: again.lease.token,
        now: 340,
        status: "suspended",
      });
    });
  });

  it("releases a lease without committing: runnable again at once; a stale release changes nothing", async () => {
    await withStore(factory, async (store) => {
      const { id: flowId } = await suspended(store, { runnableAt: 0 });
      const [claimed] = await claimAll(store, 1);
      assert.ok(claimed);
      assert.equal(await store.releaseLease({ flowId, token: "wrong", now: 2 }), false);
      assert.deepEqual(await claimAll(store, 2), []);
      assert.equal(await store.releaseLease({ flowId, token: claimed.lease.token, now: 2 }), true);
      assert.equal(
        await store.releaseLease({ flowId, token: claimed.lease.token, now: 2 }),
        false,
        "already released",
      );
      assert.equal((await store.getFlow(flowId))?.lease, null);
      await rejectsWith(
        store.commit({
          flowId,
          revision: claimed.revision,
          leaseToken: claimed.lease.token,
          now: 3,
          status: "suspended",
        }),
        "DT401",
      );
      const [again] = await claimAll(store, 3);
      assert.equal(again?.id, flowId);
      assert.equal(await store.releaseLease({ flowId: "missing", token: "t", now: 3 }), false);
    });
  });

  it("tells when to wake: null when idle, the earliest ready time, a lease's end for leased flows", async () => {
    await withStore(factory, async (store) => {
      assert.equal(await store.nextWakeAt(), null);
      await suspended(store, { waits: [{ kind: "callback", id: id("cb") }] });
      assert.equal(await store.nextWakeAt(), null, "a callback wait has no time");
      await suspended(store, { waits: [{ kind: "timer", id: "t", dueAt: 500 }] });
      const soon = await suspended(store, { runnableAt: 200 });
      assert.equal(await store.nextWakeAt(), 200);
      await store.claim({ owner: OWNER, leaseMs: 1_000, limit: 1, now: 200 });
      assert.equal(await store.nextWakeAt(), 500, "the leased flow counts from its lease's end (1200)");
      assert.equal((await store.getFlow(soon.id))?.lease?.expiresAt, 1_200);
    });
  });

  it("keeps the lease on request and hands back the events that came meanwhile", async () => {
    await withStore(factory, async (store) => {
      const created = await store.createFlow({
        id: id(),
        rootFunctionId: "r#f",
        owner: OWNER,
        leaseMs: LEASE,
        now: 0,
      });
      const first = await store.commit({
        flowId: created.id,
        revision: 0,
        leaseToken: created.lease.token,
        now: 1,
        status: "running",
        addWaits: [
          { kind: "callback", id: "cb-keep" },
          { kind: "timer", id: "t5", dueAt: 5 },
          { kind: "timer", id: "t50", dueAt: 50 },
        ],
        runnableAt: 1,
        keepLeaseMs: LEASE,
      });
      assert.deepEqual(first.events, []);
      assert.deepEqual(await claimAll(store, 2), [], "kept: nobody else may claim it");
      await store.deliver({ callbackId: "cb-keep", kind: "resume", payload: "v", now: 3 });
      assert.deepEqual(await claimAll(store, 4), [], "still kept");
      const second = await store.commit({
        flowId: created.id,
        revision: first.revision,
        leaseToken: created.lease.token,
        now: 10,
        status: "running",
        keepLeaseMs: LEASE,
      });
      assert.deepEqual(
        second.events.map((e) => [e.kind, e.waitId, e.payload, e.at]),
        [
          ["resume", "cb-keep", "v", 3],
          ["timer", "t5", null, 5],
        ],
      );
      const third = await store.commit({
        flowId: created.id,
        revision: second.revision,
        leaseToken: created.lease.token,
        now: 11,
        status: "suspended",
        consumedEvents: second.events.map((e) => e.id),
      });
      assert.deepEqual(third.events, [], "no events when the lease is released");
      assert.equal(third.readyAt, 50);
    });
  });

  it("holds a deferred flow back until deferUntil, even with events arriving", async () => {
    await withStore(factory, async (store) => {
      const { id: flowId } = await suspended(store, { waits: [{ kind: "callback", id: "cb-defer" }] });
      await store.deliver({ callbackId: "cb-defer", kind: "resume", payload: "x", now: 10 });
      const [claimed] = await claimAll(store, 10);
      assert.ok(claimed);
      // This run cannot apply the event (say, its code is too old): record why, back off 1 s.
      await store.commit({
        flowId,
        revision: claimed.revision,
        leaseToken: claimed.lease.token,
        now: 11,
        status: "suspended",
        lastError: { code: "DT208", message: "function changed", functionId: "test/flows#root" },
        deferUntil: 1_011,
      });
      const flow = await store.getFlow(flowId);
      assert.equal(flow?.readyAt, 1_011);
      assert.equal(flow?.lastError?.code, "DT208");
      assert.equal(await store.nextWakeAt(), 1_011);
      await store.requestCancel({ flowId, now: 20 });
      assert.deepEqual(await claimAll(store, 1_010), [], "a new event does not cut the back-off short");
      const [later] = await claimAll(store, 1_011);
      assert.deepEqual(
        later?.events.map((e) => e.kind),
        ["resume", "cancel"],
      );
    });
  });
}
