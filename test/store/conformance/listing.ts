/** Listing flows: order, status filters, cursor pagination that never repeats or skips. */
import assert from "node:assert/strict";
import { it } from "node:test";
import type { FlowSummary, ListFlowsQuery, Store } from "../../../src/core/store.js";
import { LEASE, OWNER, rejectsWith, type StoreFactory, withStore } from "./harness.js";

async function everyPage(store: Store, query: ListFlowsQuery): Promise<FlowSummary[][]> {
  const pages: FlowSummary[][] = [];
  let after: string | null = null;
  do {
    const page = await store.listFlows({ ...query, after });
    pages.push(page.flows);
    after = page.next;
  } while (after !== null);
  return pages;
}

export function listingTests(factory: StoreFactory): void {
  it("lists flows newest first by default, in pages, each flow exactly once", async () => {
    await withStore(factory, async (store) => {
      const ids: string[] = [];
      // Some share a creation time: the id breaks the tie, so the order is total.
      for (let i = 0; i < 23; i++) {
        const flowId = `flow-${String(i).padStart(2, "0")}`;
        await store.createFlow({
          id: flowId,
          rootFunctionId: "r#f",
          owner: OWNER,
          leaseMs: LEASE,
          now: Math.floor(i / 3),
        });
        ids.push(flowId);
      }
      const desc = await everyPage(store, { limit: 5 });
      assert.deepEqual(
        desc.map((p) => p.length),
        [5, 5, 5, 5, 3],
      );
      assert.deepEqual(
        desc.flat().map((f) => f.id),
        [...ids].reverse(),
      );
      const asc = await everyPage(store, { limit: 10, order: "asc" });
      assert.deepEqual(
        asc.flat().map((f) => f.id),
        ids,
      );
      const exact = await store.listFlows({ limit: 23 });
      assert.equal(exact.next, null, "no empty last page");
      const summary = exact.flows[0]!;
      assert.equal("snapshot" in summary, false, "summaries carry no payloads");
      assert.deepEqual(Object.keys(summary).sort(), [
        "createdAt",
        "expiresAt",
        "finishedAt",
        "id",
        "lastError",
        "lease",
        "metadata",
        "readyAt",
        "revision",
        "rootFunctionId",
        "status",
        "updatedAt",
      ]);
    });
  });

  it("filters by one status or several", async () => {
    await withStore(factory, async (store) => {
      const statuses = ["suspended", "succeeded", "faulted", "suspended", "canceled", "running"] as const;
      for (const [i, status] of statuses.entries()) {
        const created = await store.createFlow({
          id: `f${i}`,
          rootFunctionId: "r#f",
          owner: OWNER,
          leaseMs: LEASE,
          now: i,
        });
        if (status !== "running") {
          await store.commit({
            flowId: created.id,
            revision: 0,
            leaseToken: created.lease.token,
            now: i,
            status,
          });
        }
      }
      const suspended = await everyPage(store, { status: "suspended", limit: 1, order: "asc" });
      assert.deepEqual(
        suspended.flat().map((f) => f.id),
        ["f0", "f3"],
      );
      const finished = await store.listFlows({ status: ["succeeded", "faulted", "canceled"], order: "asc" });
      assert.deepEqual(
        finished.flows.map((f) => [f.id, f.status]),
        [
          ["f1", "succeeded"],
          ["f2", "faulted"],
          ["f4", "canceled"],
        ],
      );
      assert.deepEqual(
        (await store.listFlows({ status: "running" })).flows.map((f) => f.id),
        ["f5"],
      );
      assert.deepEqual((await store.listFlows()).flows.length, 6);
    });
  });

  it("does not repeat or skip flows when flows are added between pages", async () => {
    await withStore(factory, async (store) => {
      for (let i = 0; i < 6; i++)
        await store.createFlow({ id: `a${i}`, rootFunctionId: "r#f", owner: OWNER, leaseMs: LEASE, now: i });
      const first = await store.listFlows({ limit: 3, order: "asc" });
      await store.createFlow({ id: "late", rootFunctionId: "r#f", owner: OWNER, leaseMs: LEASE, now: 100 });
      const second = await store.listFlows({ limit: 10, order: "asc", after: first.next });
      assert.deepEqual(
        [...first.flows, ...second.flows].map((f) => f.id),
        ["a0", "a1", "a2", "a3", "a4", "a5", "late"],
      );
    });
  });

  it("rejects a bad query (DT405)", async () => {
    await withStore(factory, async (store) => {
      await rejectsWith(store.listFlows({ after: "not-a-cursor" }), "DT405", /'after' is not a cursor/);
      await rejectsWith(store.listFlows({ limit: 0 }), "DT405", /'limit'/);
      await rejectsWith(store.listFlows({ limit: 1001 }), "DT405", /'limit'/);
      await rejectsWith(store.listFlows({ status: "sleeping" as any }), "DT405", /'status'/);
      await rejectsWith(store.listFlows({ order: "up" as any }), "DT405", /'order'/);
      await rejectsWith(
        store.listFlows({ statuses: ["running"] } as any),
        "DT405",
        /'statuses' is not an argument/,
      );
    });
  });
}
