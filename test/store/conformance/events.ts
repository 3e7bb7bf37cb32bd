/**
 * Durable events: deliveries to callbacks (exactly once), events that arrive while a run holds the
 * flow (kept, applied once), waits that are removed, and cancel requests.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { flowChannel } from "../../../src/core/store.js";
import {
  claimAll,
  id,
  LEASE,
  nextMessage,
  OWNER,
  rejectsWith,
  type StoreFactory,
  suspended,
  withStore,
} from "./harness.js";

export function eventTests(factory: StoreFactory): void {
  it("delivers a resume durably: the flow becomes runnable and gets the payload, bytes or text", async () => {
    await withStore(factory, async (store) => {
      const { id: flowId } = await suspended(store, {
        waits: [
          { kind: "callback", id: "cb-text" },
          { kind: "callback", id: "cb-bytes" },
        ],
      });
      assert.equal((await store.getFlow(flowId))?.readyAt, null);
      const delivered = await store.deliver({
        callbackId: "cb-text",
        kind: "resume",
        payload: '{"ok":1}',
        now: 40,
      });
      assert.equal(delivered.flowId, flowId);
      assert.equal(typeof delivered.eventId, "string");
      await store.deliver({ callbackId: "cb-bytes", kind: "fail", payload: new Uint8Array([7, 8]), now: 41 });
      assert.equal((await store.getFlow(flowId))?.readyAt, 40);
      assert.deepEqual(await store.getCallback("cb-text"), {
        id: "cb-text",
        flowId,
        state: "delivered",
        createdAt: 0,
        deliveredAt: 40,
      });

      const [claimed] = await claimAll(store, 50);
      assert.ok(claimed);
      assert.equal(claimed.events.length, 2);
      const [text, bytes] = claimed.events;
      assert.deepEqual(text, {
        id: delivered.eventId,
        kind: "resume",
        waitId: "cb-text",
        payload: '{"ok":1}',
        at: 40,
      });
      assert.equal(bytes?.kind, "fail");
      assert.ok(bytes?.payload instanceof Uint8Array);
      assert.deepEqual([...bytes.payload], [7, 8]);
    });
  });

  it("accepts one delivery per callback: a second is DT503, before and after it is applied", async () => {
    await withStore(factory, async (store) => {
      const { id: flowId } = await suspended(store, { waits: [{ kind: "callback", id: "cb-once" }] });
      await store.deliver({ callbackId: "cb-once", kind: "resume", payload: "first", now: 1 });
      await rejectsWith(
        store.deliver({ callbackId: "cb-once", kind: "resume", payload: "second", now: 2 }),
        "DT503",
        /already resumed/,
      );
      await rejectsWith(
        store.deliver({ callbackId: "cb-once", kind: "fail", payload: "x", now: 2 }),
        "DT503",
      );
      const [claimed] = await claimAll(store, 3);
      assert.deepEqual(
        claimed?.events.map((e) => e.payload),
        ["first"],
      );
      await store.commit({
        flowId,
        revision: claimed!.revision,
        leaseToken: claimed!.lease.token,
        now: 4,
        status: "suspended",
        consumedEvents: claimed!.events.map((e) => e.id),
      });
      await rejectsWith(
        store.deliver({ callbackId: "cb-once", kind: "resume", payload: "third", now: 5 }),
        "DT503",
      );
      assert.equal((await store.countRecords()).events, 0);
    });
  });

  it("delivers exactly once under concurrent deliveries", async () => {
    await withStore(factory, async (store, harness) => {
      await suspended(store, { waits: [{ kind: "callback", id: "cb-race" }] });
      const stores = harness.connect ? [store, await harness.connect()] : [store];
      const outcomes = await Promise.allSettled(
        Array.from({ length: 10 }, (_, n) =>
          stores[n % stores.length]!.deliver({
            callbackId: "cb-race",
            kind: "resume",
            payload: `v${n}`,
            now: n,
          }),
        ),
      );
      assert.equal(outcomes.filter((o) => o.status === "fulfilled").length, 1);
      for (const o of outcomes)
        if (o.status === "rejected") assert.equal((o.reason as { code: string }).code, "DT503");
      assert.equal((await store.countRecords()).events, 1);
    });
  });

  it("rejects a delivery to an unknown callback, or one no longer awaited (DT502)", async () => {
    await withStore(factory, async (store) => {
      await rejectsWith(
        store.deliver({ callbackId: "nobody", kind: "resume", payload: "x", now: 0 }),
        "DT502",
        /no callback/,
      );
      const { id: flowId } = await suspended(store, {
        waits: [
          { kind: "callback", id: "cb-dropped" },
          { kind: "callback", id: "cb-kept" },
        ],
        runnableAt: 0,
      });
      const [claimed] = await claimAll(store, 1);
      await store.commit({
        flowId,
        revision: claimed!.revision,
        leaseToken: claimed!.lease.token,
        now: 2,
        status: "suspended",
        removeWaits: ["cb-dropped", "never-existed"],
      });
      assert.equal((await store.getCallback("cb-dropped"))?.state, "canceled");
      await rejectsWith(
        store.deliver({ callbackId: "cb-dropped", kind: "resume", payload: "x", now: 3 }),
        "DT502",
        /no longer awaited/,
      );
      assert.equal((await store.getFlow(flowId))?.readyAt, null, "the rejected delivery changed nothing");
      assert.equal((await store.countRecords()).events, 0);
    });
  });

  it("keeps an event that arrives while a run holds the flow, and applies it in the next run, once", async () => {
    await withStore(factory, async (store) => {
      const { id: flowId } = await suspended(store, {
        waits: [
          { kind: "timer", id: "t", dueAt: 10 },
          { kind: "callback", id: "cb-mid-run" },
        ],
      });
      const [run1] = await claimAll(store, 10);
      assert.deepEqual(
        run1?.events.map((e) => e.kind),
        ["timer"],
      );
      // The resume arrives while run 1 is still going: it is stored and acknowledged...
      const { eventId } = await store.deliver({
        callbackId: "cb-mid-run",
        kind: "resume",
        payload: "value",
        now: 11,
      });
      // ...but does not hand the flow to anyone else while run 1 holds it.
      assert.deepEqual(await store.claim({ owner: "other", leaseMs: LEASE, limit: 5, now: 12 }), []);
      const committed = await store.commit({
        flowId,
        revision: run1!.revision,
        leaseToken: run1!.lease.token,
        now: 13,
        status: "suspended",
        consumedEvents: run1!.events.map((e) => e.id),
      });
      assert.equal(committed.readyAt, 11, "the kept event makes the flow runnable again");

      const [run2] = await store.claim({ owner: "other", leaseMs: LEASE, limit: 5, now: 14 });
      assert.deepEqual(
        run2?.events.map((e) => [e.id, e.kind, e.payload]),
        [[eventId, "resume", "value"]],
      );
      await store.commit({
        flowId,
        revision: run2!.revision,
        leaseToken: run2!.lease.token,
        now: 15,
        status: "suspended",
        consumedEvents: [eventId],
      });
      assert.deepEqual(await claimAll(store, 1_000), [], "applied once: nothing left to run");
      await rejectsWith(
        store.commit({
          flowId,
          revision: run2!.revision + 1,
          leaseToken: run2!.lease.token,
          now: 16,
          status: "suspended",
          consumedEvents: [eventId],
        }),
        "DT401",
      );
    });
  });

  it("drops the pending event of a wait the run removes (a whenAny loser)", async () => {
    await withStore(factory, async (store) => {
      const { id: flowId } = await suspended(store, {
        waits: [
          { kind: "callback", id: "cb-winner" },
          { kind: "callback", id: "cb-loser" },
          { kind: "timer", id: "t-loser", dueAt: 5 },
        ],
      });
      await store.deliver({ callbackId: "cb-winner", kind: "resume", payload: "w", now: 5 });
      const [run] = await claimAll(store, 6);
      assert.deepEqual(run?.events.map((e) => e.waitId).sort(), ["cb-winner", "t-loser"]);
      await store.deliver({ callbackId: "cb-loser", kind: "resume", payload: "l", now: 7 });
      const winner = run!.events.find((e) => e.waitId === "cb-winner")!;
      const result = await store.commit({
        flowId,
        revision: run!.revision,
        leaseToken: run!.lease.token,
        now: 8,
        status: "suspended",
        consumedEvents: [winner.id],
        removeWaits: ["cb-loser", "t-loser"],
      });
      assert.equal(result.readyAt, null, "nothing left to wake it");
      assert.equal((await store.countRecords()).events, 0);
      assert.equal((await store.countRecords()).timers, 0);
      assert.equal(
        (await store.getCallback("cb-loser"))?.state,
        "delivered",
        "its delivery happened; it stays answered",
      );
    });
  });

  it("cancels timers that are removed before they fire", async () => {
    await withStore(factory, async (store) => {
      const { id: flowId } = await suspended(store, {
        waits: [
          { kind: "timer", id: "t-cancel", dueAt: 100 },
          { kind: "timer", id: "t-keep", dueAt: 200 },
        ],
        runnableAt: 0,
      });
      const [run] = await claimAll(store, 0);
      const result = await store.commit({
        flowId,
        revision: run!.revision,
        leaseToken: run!.lease.token,
        now: 1,
        status: "suspended",
        removeWaits: ["t-cancel"],
      });
      assert.equal(result.readyAt, 200);
      const [later] = await claimAll(store, 500);
      assert.deepEqual(
        later?.events.map((e) => e.waitId),
        ["t-keep"],
      );
    });
  });

  it("stores a cancel request once, wakes the flow, and tells its channel", async () => {
    await withStore(factory, async (store) => {
      await rejectsWith(store.requestCancel({ flowId: "missing", now: 0 }), "DT501");
      const { id: flowId } = await suspended(store, { waits: [{ kind: "callback", id: id("cb") }] });
      const heard = nextMessage(store, flowChannel(flowId));
      await heard.subscribed;
      const first = await store.requestCancel({ flowId, now: 5, payload: "user asked" });
      assert.equal(first.outcome, "requested");
      assert.equal(await heard, "cancel-requested");
      const second = await store.requestCancel({ flowId, now: 6 });
      assert.deepEqual(second, { outcome: "pending", eventId: first.eventId });
      assert.equal((await store.getFlow(flowId))?.readyAt, 5);

      const [run] = await claimAll(store, 7);
      assert.deepEqual(
        run?.events.map((e) => [e.id, e.kind, e.waitId, e.payload]),
        [[first.eventId, "cancel", null, "user asked"]],
      );
      await store.commit({
        flowId,
        revision: run!.revision,
        leaseToken: run!.lease.token,
        now: 8,
        status: "canceled",
        error: "canceled",
        consumedEvents: [first.eventId!],
      });
      assert.deepEqual(await store.requestCancel({ flowId, now: 9 }), { outcome: "finished", eventId: null });
    });
  });

  it("keeps a cancel request made during a run for the next run", async () => {
    await withStore(factory, async (store) => {
      const { id: flowId } = await suspended(store, { runnableAt: 0 });
      const [run] = await claimAll(store, 0, OWNER);
      await store.requestCancel({ flowId, now: 1 });
      const result = await store.commit({
        flowId,
        revision: run!.revision,
        leaseToken: run!.lease.token,
        now: 2,
        status: "suspended",
      });
      assert.equal(result.readyAt, 1);
      const [next] = await claimAll(store, 3);
      assert.deepEqual(
        next?.events.map((e) => e.kind),
        ["cancel"],
      );
    });
  });
}
