/**
 * Creating flows and committing runs: what a commit writes, what it leaves alone, and fencing
 * (a stale revision or a lost lease is DT401 and writes nothing).
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

export function commitTests(factory: StoreFactory): void {
  it("creates a running flow leased to its creator, payloads and metadata round-tripped", async () => {
    await withStore(factory, async (store) => {
      const bytes = new Uint8Array([0, 1, 2, 255]);
      const created = await store.createFlow({
        id: "flow-1",
        rootFunctionId: "src/orders#checkout",
        snapshot: bytes,
        metadata: { callbackType: "webhook", tries: 2, nested: { ok: true } },
        owner: OWNER,
        leaseMs: LEASE,
        now: 1_000,
      });
      bytes[0] = 9; // the store kept its own copy
      assert.equal(created.revision, 0);
      assert.equal(created.lease.owner, OWNER);
      assert.equal(created.lease.expiresAt, 2_000);
      assert.ok(created.lease.token.length >= 16);

      const flow = await store.getFlow("flow-1");
      assert.ok(flow);
      assert.equal(flow.status, "running");
      assert.equal(flow.revision, 0);
      assert.equal(flow.rootFunctionId, "src/orders#checkout");
      assert.ok(flow.snapshot instanceof Uint8Array);
      assert.deepEqual([...flow.snapshot], [0, 1, 2, 255]);
      assert.deepEqual(flow.metadata, { callbackType: "webhook", tries: 2, nested: { ok: true } });
      assert.equal(flow.createdAt, 1_000);
      assert.equal(flow.updatedAt, 1_000);
      assert.equal(flow.finishedAt, null);
      assert.equal(flow.readyAt, 1_000, "runnable from the start, for recovery if the creator dies");
      assert.deepEqual(flow.lease, { owner: OWNER, expiresAt: 2_000 });
      assert.equal("token" in (flow.lease ?? {}), false, "the lease token is never listed");
      assert.equal(flow.lastError, null);
      assert.equal(flow.result, null);
      assert.equal(flow.error, null);

      assert.equal(await store.getFlow("no-such-flow"), null);
    });
  });

  it("rejects a second flow with the same id (DT406)", async () => {
    await withStore(factory, async (store) => {
      await store.createFlow({ id: "dup", rootFunctionId: "r#f", owner: OWNER, leaseMs: LEASE, now: 0 });
      await rejectsWith(
        store.createFlow({ id: "dup", rootFunctionId: "r#g", owner: "other", leaseMs: LEASE, now: 5 }),
        "DT406",
        /flow with id "dup" already exists/,
      );
      assert.equal((await store.getFlow("dup"))?.rootFunctionId, "r#f");
    });
  });

  it("commits: bumps the revision, writes what is given, keeps what is omitted", async () => {
    await withStore(factory, async (store) => {
      const created = await store.createFlow({
        id: id(),
        rootFunctionId: "r#f",
        snapshot: "s0",
        metadata: { a: 1 },
        owner: OWNER,
        leaseMs: LEASE,
        now: 0,
      });
      const first = await store.commit({
        flowId: created.id,
        revision: 0,
        leaseToken: created.lease.token,
        now: 10,
        status: "suspended",
        snapshot: "s1",
        lastError: {
          code: "DT208",
          message: "changed",
          functionId: "r#f",
          details: { expected: "v1", found: "v2" },
        },
        keepLeaseMs: LEASE,
      });
      assert.equal(first.revision, 1);
      assert.ok(first.lease);
      assert.equal(first.lease.token, created.lease.token, "the same lease, renewed");
      assert.ok(first.lease.expiresAt >= 10 + LEASE * 0.9 && first.lease.expiresAt <= 10 + LEASE);
      let flow = await store.getFlow(created.id);
      assert.equal(flow?.revision, 1);
      assert.equal(flow?.status, "suspended");
      assert.equal(flow?.snapshot, "s1");
      assert.deepEqual(flow?.metadata, { a: 1 }, "metadata omitted = unchanged");
      assert.deepEqual(flow?.lastError, {
        code: "DT208",
        message: "changed",
        functionId: "r#f",
        details: { expected: "v1", found: "v2" },
      });
      assert.equal(flow?.updatedAt, 10);

      const second = await store.commit({
        flowId: created.id,
        revision: 1,
        leaseToken: created.lease.token,
        now: 20,
        status: "suspended",
        metadata: { b: 2 },
      });
      assert.equal(second.revision, 2);
      assert.equal(second.lease, null, "released by default");
      flow = await store.getFlow(created.id);
      assert.equal(flow?.snapshot, "s1", "snapshot omitted = unchanged");
      assert.deepEqual(flow?.metadata, { b: 2 });
      assert.equal(flow?.lastError, null, "lastError omitted = cleared");
      assert.equal(flow?.lease, null);
      assert.equal(flow?.readyAt, null, "nothing to wake it");
    });
  });

  it("a kept lease runs at least 0.9 × keepLeaseMs more after every checkpoint, as stored", async () => {
    await withStore(factory, async (store) => {
      const created = await store.createFlow({
        id: id(),
        rootFunctionId: "r#f",
        owner: OWNER,
        leaseMs: LEASE,
        now: 0,
      });
      let revision = created.revision;
      for (const now of [10, 300, 700, 1_100, 1_500, 2_400]) {
        const committed = await store.commit({
          flowId: created.id,
          revision,
          leaseToken: created.lease.token,
          now,
          status: "suspended",
          snapshot: `at ${now}`,
          runnableAt: now,
          keepLeaseMs: LEASE,
        });
        revision = committed.revision;
        const expiresAt = committed.lease?.expiresAt ?? -1;
        assert.ok(
          expiresAt >= now + LEASE * 0.9 && expiresAt <= now + LEASE,
          `at ${now}: the lease runs until ${expiresAt}, between ${now + LEASE * 0.9} and ${now + LEASE}`,
        );
        assert.equal((await store.getFlow(created.id))?.lease?.expiresAt, expiresAt, "as stored");
        assert.deepEqual(
          await claimAll(store, expiresAt - 1, "other"),
          [],
          "nobody else claims it meanwhile",
        );
      }
    });
  });

  it("a flow requeued after checkpoints goes behind flows that became ready before the requeue", async () => {
    await withStore(factory, async (store) => {
      const hog = await store.createFlow({
        id: id(),
        rootFunctionId: "r#hog",
        owner: OWNER,
        leaseMs: LEASE,
        now: 0,
      });
      const other = await store.createFlow({
        id: id(),
        rootFunctionId: "r#other",
        owner: OWNER,
        leaseMs: LEASE,
        now: 0,
      });
      let revision = hog.revision;
      for (const now of [5, 10, 15]) {
        const kept = await store.commit({
          flowId: hog.id,
          revision,
          leaseToken: hog.lease.token,
          now,
          status: "suspended",
          runnableAt: now,
          keepLeaseMs: LEASE,
        });
        revision = kept.revision;
        assert.ok(kept.readyAt !== null && kept.readyAt <= now, "runnable now");
      }
      await store.commit({
        flowId: other.id,
        revision: other.revision,
        leaseToken: other.lease.token,
        now: 12,
        status: "suspended",
        runnableAt: 12,
      });
      const requeued = await store.commit({
        flowId: hog.id,
        revision,
        leaseToken: hog.lease.token,
        now: 20,
        status: "suspended",
        runnableAt: 20,
      });
      assert.equal(requeued.readyAt, 20, "requeued now, not when it first became runnable");
      const [first] = await store.claim({ owner: "other", leaseMs: LEASE, limit: 1, now: 30 });
      assert.equal(first?.id, other.id, "the flow ready since 12 is claimed before the one requeued at 20");
    });
  });

  it("rejects a commit from a stale revision (DT401) and writes nothing", async () => {
    await withStore(factory, async (store) => {
      const created = await store.createFlow({
        id: id(),
        rootFunctionId: "r#f",
        owner: OWNER,
        leaseMs: LEASE,
        now: 0,
      });
      const base = { flowId: created.id, leaseToken: created.lease.token, keepLeaseMs: LEASE } as const;
      await store.commit({ ...base, revision: 0, now: 1, status: "suspended", snapshot: "A" });
      const before = await store.countRecords();
      await rejectsWith(
        store.commit({
          ...base,
          revision: 0,
          now: 2,
          status: "suspended",
          snapshot: "B",
          addWaits: [
            { kind: "callback", id: "cb-stale" },
            { kind: "timer", id: "t", dueAt: 5 },
          ],
        }),
        "DT401",
        /revision 1.*started from 0/,
      );
      const flow = await store.getFlow(created.id);
      assert.equal(flow?.revision, 1);
      assert.equal(flow?.snapshot, "A");
      assert.deepEqual(await store.countRecords(), before);
      assert.equal(await store.getCallback("cb-stale"), null);
    });
  });

  it("fences a worker whose lease expired and was claimed by another (DT401); the new holder commits", async () => {
    await withStore(factory, async (store) => {
      const { id: flowId } = await suspended(store, { runnableAt: 0 });
      const [a] = await store.claim({ owner: "a", leaseMs: 100, limit: 1, now: 0 });
      assert.ok(a);
      assert.deepEqual(
        await store.claim({ owner: "b", leaseMs: 100, limit: 1, now: 99 }),
        [],
        "still leased by a",
      );
      const [b] = await store.claim({ owner: "b", leaseMs: 100, limit: 1, now: 100 });
      assert.ok(b, "a's lease ran out: b recovers the flow");
      assert.equal(b.id, flowId);
      assert.equal(b.revision, a.revision);
      assert.notEqual(b.lease.token, a.lease.token);
      assert.equal(b.attempt, 2, "the second claim since the last commit");

      await rejectsWith(
        store.commit({
          flowId,
          revision: a.revision,
          leaseToken: a.lease.token,
          now: 101,
          status: "succeeded",
          result: "a",
        }),
        "DT401",
        /held by another claimer/,
      );
      assert.equal((await store.getFlow(flowId))?.status, "suspended");
      const done = await store.commit({
        flowId,
        revision: b.revision,
        leaseToken: b.lease.token,
        now: 102,
        status: "succeeded",
        result: "b",
      });
      assert.equal(done.revision, b.revision + 1);
      assert.equal((await store.getFlow(flowId))?.result, "b");
    });
  });

  it("rejects a commit on an expired lease even if nobody took it over (DT401)", async () => {
    await withStore(factory, async (store) => {
      const created = await store.createFlow({
        id: id(),
        rootFunctionId: "r#f",
        owner: OWNER,
        leaseMs: 50,
        now: 0,
      });
      await rejectsWith(
        store.commit({
          flowId: created.id,
          revision: 0,
          leaseToken: created.lease.token,
          now: 50,
          status: "suspended",
        }),
        "DT401",
        /expired/,
      );
      assert.equal((await store.getFlow(created.id))?.revision, 0);
    });
  });

  it("rejects a commit without a lease, or on a flow that does not exist (DT401)", async () => {
    await withStore(factory, async (store) => {
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
        now: 1,
        status: "suspended",
      });
      await rejectsWith(
        store.commit({
          flowId: created.id,
          revision: 1,
          leaseToken: created.lease.token,
          now: 2,
          status: "suspended",
        }),
        "DT401",
        /not leased/,
      );
      await rejectsWith(
        store.commit({ flowId: "missing", revision: 0, leaseToken: "tok", now: 2, status: "suspended" }),
        "DT401",
        /no such flow/,
      );
    });
  });

  it("finishes a flow: result, final status, no waits, no lease, not claimable, published", async () => {
    await withStore(factory, async (store) => {
      const { id: flowId } = await suspended(store, {
        waits: [
          { kind: "callback", id: "cb-left" },
          { kind: "timer", id: "t-left", dueAt: 50 },
        ],
        runnableAt: 0,
      });
      await store.deliver({ callbackId: "cb-left", kind: "resume", payload: "late", now: 1 });
      const [claimed] = await claimAll(store, 2);
      assert.ok(claimed);
      const finished = nextMessage(store, flowChannel(flowId));
      await finished.subscribed;
      const result = await store.commit({
        flowId,
        revision: claimed.revision,
        leaseToken: claimed.lease.token,
        now: 10,
        status: "succeeded",
        result: new Uint8Array([42]),
        snapshot: null,
      });
      assert.equal(result.readyAt, null);
      assert.equal(result.lease, null);
      assert.equal(await finished, "succeeded");

      const flow = await store.getFlow(flowId);
      assert.equal(flow?.status, "succeeded");
      assert.deepEqual([...(flow!.result as Uint8Array)], [42]);
      assert.equal(flow?.snapshot, null);
      assert.equal(flow?.finishedAt, 10);
      assert.equal(flow?.expiresAt, 10 + 7 * 86_400_000, "the default retention is 7 days");
      assert.equal(flow?.readyAt, null);
      assert.equal(flow?.lease, null);
      assert.deepEqual(await claimAll(store, 1_000_000), []);
      assert.equal(await store.nextWakeAt(), null);
      const counts = await store.countRecords();
      assert.equal(counts.timers, 0);
      assert.equal(counts.events, 0, "the undelivered event went with the flow's end");
      assert.equal(counts.leases, 0);
      assert.equal((await store.getCallback("cb-left"))?.state, "delivered");
      await rejectsWith(
        store.commit({
          flowId,
          revision: result.revision,
          leaseToken: claimed.lease.token,
          now: 11,
          status: "faulted",
        }),
        "DT401",
      );
    });
  });

  it("a faulted or canceled flow keeps its error payload; a commit may set its own retention", async () => {
    await withStore(factory, async (store) => {
      for (const [status, retentionMs, expected] of [
        ["faulted", 500, 1_000],
        ["canceled", Infinity, null],
      ] as const) {
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
          now: 500,
          status,
          error: `{"name":"Error","status":"${status}"}`,
          retentionMs,
        });
        const flow = await store.getFlow(created.id);
        assert.equal(flow?.status, status);
        assert.equal(flow?.error, `{"name":"Error","status":"${status}"}`);
        assert.equal(flow?.result, null);
        assert.equal(flow?.expiresAt, expected);
      }
    });
  });

  it("is all or nothing: a bad id in consumedEvents rolls back the waits of the same commit (DT405)", async () => {
    await withStore(factory, async (store) => {
      const created = await store.createFlow({
        id: id(),
        rootFunctionId: "r#f",
        owner: OWNER,
        leaseMs: LEASE,
        now: 0,
      });
      const before = await store.countRecords();
      await rejectsWith(
        store.commit({
          flowId: created.id,
          revision: 0,
          leaseToken: created.lease.token,
          now: 1,
          status: "suspended",
          snapshot: "never",
          addWaits: [
            { kind: "callback", id: "cb-rolled-back" },
            { kind: "timer", id: "t1", dueAt: 9 },
          ],
          consumedEvents: ["123456"],
        }),
        "DT405",
        /not a pending event/,
      );
      assert.deepEqual(await store.countRecords(), before);
      assert.equal(await store.getCallback("cb-rolled-back"), null);
      const flow = await store.getFlow(created.id);
      assert.equal(flow?.revision, 0);
      assert.equal(flow?.snapshot, null);
      assert.equal(flow?.status, "running");
    });
  });

  it("rejects a callback id used by any flow, or a timer id used in the same flow (DT406), writing nothing", async () => {
    await withStore(factory, async (store) => {
      await suspended(store, {
        waits: [
          { kind: "callback", id: "cb-taken" },
          { kind: "timer", id: "t-shared", dueAt: 100 },
        ],
      });
      const created = await store.createFlow({
        id: id(),
        rootFunctionId: "r#f",
        owner: OWNER,
        leaseMs: LEASE,
        now: 0,
      });
      await rejectsWith(
        store.commit({
          flowId: created.id,
          revision: 0,
          leaseToken: created.lease.token,
          now: 1,
          status: "suspended",
          addWaits: [
            { kind: "callback", id: "cb-fresh" },
            { kind: "callback", id: "cb-taken" },
          ],
        }),
        "DT406",
        /callback with id "cb-taken"/,
      );
      assert.equal(await store.getCallback("cb-fresh"), null);
      // Timer ids are per flow: another flow's "t-shared" is no conflict.
      const ok = await store.commit({
        flowId: created.id,
        revision: 0,
        leaseToken: created.lease.token,
        now: 1,
        status: "suspended",
        addWaits: [{ kind: "timer", id: "t-shared", dueAt: 100 }],
        keepLeaseMs: LEASE,
      });
      await rejectsWith(
        store.commit({
          flowId: created.id,
          revision: ok.revision,
          leaseToken: created.lease.token,
          now: 2,
          status: "suspended",
          addWaits: [{ kind: "timer", id: "t-shared", dueAt: 200 }],
        }),
        "DT406",
        /timer with id "t-shared"/,
      );
    });
  });

  it("checks commit arguments (DT405), naming the argument", async () => {
    await withStore(factory, async (store) => {
      const created = await store.createFlow({
        id: id(),
        rootFunctionId: "r#f",
        owner: OWNER,
        leaseMs: LEASE,
        now: 0,
      });
      const base = { flowId: created.id, revision: 0, leaseToken: created.lease.token, now: 1 };
      const bad: [Record<string, unknown>, RegExp][] = [
        [{ ...base, status: "suspended", consumedEvent: ["1"] }, /'consumedEvent' is not an argument/],
        [{ ...base, status: "paused" }, /'status' must be one of/],
        [{ ...base, status: "succeeded", keepLeaseMs: 10 }, /'keepLeaseMs' cannot be given/],
        [
          { ...base, status: "succeeded", addWaits: [{ kind: "callback", id: "x" }] },
          /'addWaits' must be empty/,
        ],
        [{ ...base, status: "suspended", addWaits: [{ kind: "alarm", id: "x" }] }, /'addWaits\[0\].kind'/],
        [{ ...base, status: "suspended", addWaits: [{ kind: "timer", id: "x" }] }, /'addWaits\[0\].dueAt'/],
        [
          {
            ...base,
            status: "suspended",
            addWaits: [
              { kind: "callback", id: "x" },
              { kind: "callback", id: "x" },
            ],
          },
          /twice/,
        ],
        [{ ...base, status: "suspended", consumedEvents: ["7", "7"] }, /'consumedEvents' names an id twice/],
        [{ ...base, status: "suspended", snapshot: 12 }, /'snapshot' must be a string or a Uint8Array/],
        [{ ...base, status: "suspended", revision: -1 }, /'revision' must be an integer/],
        [{ ...base, status: "suspended", now: Number.NaN }, /'now' must be a time/],
        [{ ...base, status: "suspended", metadata: { big: 1n } }, /'metadata' must be JSON/],
        [{ ...base, status: "suspended", metadata: { s: "x".repeat(70_000) } }, /over 65536 bytes/],
        [{ ...base, status: "suspended", lastError: { message: "no code" } }, /'lastError.code'/],
      ];
      for (const [input, message] of bad) {
        await rejectsWith(store.commit(input as any), "DT405", message);
      }
      assert.equal((await store.getFlow(created.id))?.revision, 0);
    });
  });
}
