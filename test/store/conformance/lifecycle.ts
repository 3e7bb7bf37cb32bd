/** The store's own lifecycle and argument checks: close, use after close (DT403), bad arguments (DT405). */
import assert from "node:assert/strict";
import { it } from "node:test";
import type { Store } from "../../../src/core/store.js";
import { LEASE, OWNER, rejectsWith, type StoreFactory, withStore } from "./harness.js";

/** One call of every method, with arguments that would be fine on an open store. */
const EVERY_CALL: Record<keyof Omit<Store, "engine" | "close">, (store: Store) => Promise<unknown>> = {
  createFlow: (s) => s.createFlow({ id: "x", rootFunctionId: "r#f", owner: OWNER, leaseMs: LEASE, now: 0 }),
  commit: (s) => s.commit({ flowId: "x", revision: 0, leaseToken: "t", now: 0, status: "suspended" }),
  claim: (s) => s.claim({ owner: OWNER, leaseMs: LEASE, limit: 1, now: 0 }),
  renewLease: (s) => s.renewLease({ flowId: "x", token: "t", leaseMs: LEASE, now: 0 }),
  releaseLease: (s) => s.releaseLease({ flowId: "x", token: "t", now: 0 }),
  nextWakeAt: (s) => s.nextWakeAt(),
  deliver: (s) => s.deliver({ callbackId: "cb", kind: "resume", payload: "v", now: 0 }),
  requestCancel: (s) => s.requestCancel({ flowId: "x", now: 0 }),
  getFlow: (s) => s.getFlow("x"),
  listFlows: (s) => s.listFlows(),
  getCallback: (s) => s.getCallback("cb"),
  subscribe: (s) => s.subscribe("c", () => {}),
  publish: (s) => s.publish("c", "m"),
  sweep: (s) => s.sweep({ now: 0 }),
  countRecords: (s) => s.countRecords(),
};

export function lifecycleTests(factory: StoreFactory): void {
  it("rejects every call after close() with DT403; close() is idempotent", async () => {
    await withStore(factory, async (store) => {
      assert.equal(typeof store.engine, "string");
      await store.createFlow({
        id: "before-close",
        rootFunctionId: "r#f",
        owner: OWNER,
        leaseMs: LEASE,
        now: 0,
      });
      await store.close();
      await store.close();
      for (const [name, call] of Object.entries(EVERY_CALL)) {
        await rejectsWith(call(store), "DT403", new RegExp(`${name}\\(\\) was called after close\\(\\)`));
      }
    });
  });

  it("rejects malformed arguments of every method (DT405), naming the argument", async () => {
    await withStore(factory, async (store) => {
      const s = store as any;
      const cases: [Promise<unknown>, RegExp][] = [
        [s.createFlow({ id: "", rootFunctionId: "r#f", owner: OWNER, leaseMs: LEASE, now: 0 }), /'id'/],
        [s.createFlow({ id: "a", rootFunctionId: "r#f", owner: OWNER, leaseMs: 0, now: 0 }), /'leaseMs'/],
        [s.createFlow({ id: "a", rootFunctionId: "r#f", owner: OWNER, leaseMs: 1, now: -1 }), /'now'/],
        [
          s.createFlow({ id: "a", rootFunctionId: "r#f", owner: OWNER, leaseMs: 1, now: 0, metadata: [1] }),
          /'metadata'/,
        ],
        [s.createFlow(null), /'input' must be an object/],
        [s.claim({ owner: OWNER, leaseMs: LEASE, limit: 0, now: 0 }), /'limit'/],
        [s.claim({ owner: OWNER, leaseMs: LEASE, limit: 1.5, now: 0 }), /'limit'/],
        [s.claim({ owner: OWNER, leaseMs: LEASE, limit: 1, now: 0, extra: 1 }), /'extra' is not an argument/],
        [s.renewLease({ flowId: "x", token: "t", now: 0 }), /'leaseMs'/],
        [s.releaseLease({ flowId: "x", now: 0 }), /'token'/],
        [s.deliver({ callbackId: "cb", kind: "resolve", payload: "v", now: 0 }), /'kind'/],
        [s.deliver({ callbackId: "cb", kind: "resume", now: 0 }), /'payload' is required/],
        [
          s.deliver({ callbackId: "cb", kind: "resume", payload: { v: 1 }, now: 0 }),
          /'payload' must be a string or a Uint8Array/,
        ],
        [s.requestCancel({ now: 0 }), /'flowId'/],
        [s.getFlow(42), /'flowId'/],
        [s.getCallback(undefined), /'callbackId'/],
        [s.sweep({ now: 0, limit: -1 }), /'limit'/],
        [s.sweep({}), /'now'/],
        [s.publish("c", 5), /'message' must be a string/],
      ];
      for (const [promise, message] of cases) await rejectsWith(promise, "DT405", message);
      const counts = await store.countRecords();
      assert.equal(counts.flows, 0);
    });
  });
}
