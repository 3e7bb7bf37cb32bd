/** Retention: finished flows expire, and sweeping them leaves nothing behind. */
import assert from "node:assert/strict";
import { it } from "node:test";
import type { Store } from "../../../src/core/store.js";
import { claimAll, id, LEASE, OWNER, type StoreFactory, suspended, withStore } from "./harness.js";

const DAY = 86_400_000;

async function assertEmpty(store: Store): Promise<void> {
  const counts = await store.countRecords();
  for (const family of ["flows", "callbacks", "timers", "events", "leases", "notifications"]) {
    assert.equal(typeof counts[family], "number", `countRecords() reports ${family}`);
  }
  for (const [family, count] of Object.entries(counts))
    assert.equal(count, 0, `${family} left behind: ${count}`);
}

export function retentionTests(factory: StoreFactory): void {
  it("sweeps finished flows once their retention has passed, and only those", async () => {
    await withStore(factory, async (store) => {
      const finish = async (retentionMs?: number) => {
        const created = await store.createFlow({
          id: id(),
          rootFunctionId: "r#f",
          owner: OWNER,
          leaseMs: LEASE,
          now: 0,
        });
        await store.commit({
          flowId: created.id,
          revision: 0,
          leaseToken: created.lease.token,
          now: 100,
          status: "succeeded",
          result: "r",
          ...(retentionMs === undefined ? {} : { retentionMs }),
        });
        return created.id;
      };
      const byDefault = await finish();
      const short = await finish(1_000);
      const forever = await finish(Infinity);
      const running = await suspended(store, { waits: [{ kind: "callback", id: "cb-alive" }] });

      assert.deepEqual(await store.sweep({ now: 1_099 }), { flows: 0 });
      assert.deepEqual(await store.sweep({ now: 1_100 }), { flows: 1 });
      assert.equal(await store.getFlow(short), null);
      assert.ok(await store.getFlow(byDefault));
      assert.deepEqual(await store.sweep({ now: 100 + 7 * DAY }), { flows: 1 });
      assert.equal(await store.getFlow(byDefault), null);
      assert.deepEqual(await store.sweep({ now: 1e15 }), { flows: 0 });
      assert.ok(await store.getFlow(forever), "Infinity keeps a flow forever");
      assert.ok(await store.getFlow(running.id), "unfinished flows are never swept");
      assert.equal((await store.getCallback("cb-alive"))?.state, "waiting");
    });
  });

  it("sweeps in batches of at most `limit`, oldest expiry first", async () => {
    await withStore(factory, async (store) => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const created = await store.createFlow({
          id: id(),
          rootFunctionId: "r#f",
          owner: OWNER,
          leaseMs: LEASE,
          now: 0,
        });
        await store.commit({
          flowId: created.id,
          revision: 0,
          leaseToken: created.lease.token,
          now: 10 - i,
          status: "succeeded",
          retentionMs: 0,
        });
        ids.push(created.id);
      }
      assert.deepEqual(await store.sweep({ now: 100, limit: 2 }), { flows: 2 });
      assert.equal(await store.getFlow(ids[4]!), null, "expired first");
      assert.equal(await store.getFlow(ids[3]!), null);
      assert.ok(await store.getFlow(ids[0]!));
      assert.deepEqual(await store.sweep({ now: 100, limit: 10 }), { flows: 3 });
      await assertEmpty(store);
    });
  });

  it("leaves nothing behind: callbacks, timers, events, leases, notifications all go with the flows", async () => {
    await withStore(factory, async (store) => {
      // Flows in every state of a lifetime, each touching every kind of record.
      const a = await suspended(store, {
        waits: [
          { kind: "callback", id: "a-delivered" },
          { kind: "callback", id: "a-removed" },
          { kind: "callback", id: "a-pending" },
          { kind: "timer", id: "a-fired", dueAt: 5 },
          { kind: "timer", id: "a-later", dueAt: 500 },
        ],
      });
      await store.deliver({ callbackId: "a-delivered", kind: "resume", payload: new Uint8Array(64), now: 6 });
      const [runA] = await claimAll(store, 6);
      await store.deliver({ callbackId: "a-pending", kind: "fail", payload: "late", now: 7 });
      await store.requestCancel({ flowId: a.id, now: 7 });
      const midA = await store.commit({
        flowId: a.id,
        revision: runA!.revision,
        leaseToken: runA!.lease.token,
        now: 8,
        status: "suspended",
        consumedEvents: [runA!.events[0]!.id],
        removeWaits: ["a-removed"],
        addWaits: [{ kind: "callback", id: "a-new" }],
      });
      assert.ok(midA.readyAt !== null);
      const b = await suspended(store, { waits: [{ kind: "timer", id: "b-t", dueAt: 1 }] });
      const c = await suspended(store, { runnableAt: 2 });
      const before = await store.countRecords();
      assert.ok(before.flows === 3 && before.callbacks >= 4 && before.events >= 2 && before.timers >= 1);

      // Finish all three: a and b through runs that hold leases at the time, c from a recovery.
      for (const run of await claimAll(store, 10, "w", 5)) {
        if (run.id === c.id) continue; // c's run dies: its lease expires
        await store.commit({
          flowId: run.id,
          revision: run.revision,
          leaseToken: run.lease.token,
          now: 11,
          status: run.id === a.id ? "canceled" : "succeeded",
          result: "done",
          consumedEvents: run.events.map((e) => e.id),
          retentionMs: 1_000,
        });
      }
      assert.ok((await store.countRecords()).leases >= 1, "c is still leased by its dead run");
      const [recovered] = await claimAll(store, 20);
      assert.equal(recovered?.id, c.id);
      await store.commit({
        flowId: c.id,
        revision: recovered!.revision,
        leaseToken: recovered!.lease.token,
        now: 21,
        status: "faulted",
        error: "boom",
        retentionMs: 1_000,
      });
      assert.equal((await store.getFlow(b.id))?.status, "succeeded");

      assert.deepEqual(await store.sweep({ now: 1_011 }), { flows: 2 });
      assert.deepEqual(await store.sweep({ now: 1_021 }), { flows: 1 });
      await assertEmpty(store);
      assert.equal(await store.getCallback("a-delivered"), null);
      assert.equal(await store.nextWakeAt(), null);
    });
  });
}
