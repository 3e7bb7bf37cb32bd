/**
 * Notifications: in-process listeners, the store's own announcements (flow finished, work
 * available), and, for engines with several connections, messages across connections.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { flowChannel, MAX_MESSAGE_BYTES, WORK_CHANNEL } from "../../../src/core/store.js";
import {
  claimAll,
  id,
  nextMessage,
  OWNER,
  rejectsWith,
  type StoreFactory,
  type StoreFeatures,
  suspended,
  tick,
  withStore,
} from "./harness.js";

export function pubsubTests(factory: StoreFactory, features: StoreFeatures): void {
  it("delivers published messages to this process's listeners of that channel until they unsubscribe", async () => {
    await withStore(factory, async (store) => {
      const heard: [string, string][] = [];
      const off = await store.subscribe("ws:conn-1", (message, channel) => heard.push([channel, message]));
      const twice = await store.subscribe("ws:conn-1", (message) => heard.push(["again", message]));
      await store.subscribe("ws:conn-2", (message) => heard.push(["ws:conn-2", message]));
      await store.publish("ws:conn-1", "hello");
      await tick();
      assert.deepEqual(heard, [
        ["ws:conn-1", "hello"],
        ["again", "hello"],
      ]);
      await off();
      await off();
      await twice();
      await store.publish("ws:conn-1", "unheard");
      await tick();
      assert.equal(heard.length, 2);
    });
  });

  it("keeps publishing when a listener throws", async () => {
    await withStore(factory, async (store) => {
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(w.message);
      process.on("warning", onWarning);
      try {
        await store.subscribe("boom", () => {
          throw new Error("listener bug");
        });
        const heard = nextMessage(store, "boom");
        await heard.subscribed;
        await store.publish("boom", "m");
        assert.equal(await heard, "m", "the other listener still hears it");
        await tick();
        assert.ok(warnings.some((w) => w.includes("listener bug")));
      } finally {
        process.off("warning", onWarning);
      }
    });
  });

  it("checks channels and messages (DT405): messages are small wake-ups", async () => {
    await withStore(factory, async (store) => {
      await rejectsWith(store.publish("", "x"), "DT405", /'channel'/);
      await rejectsWith(store.publish("c", "x".repeat(MAX_MESSAGE_BYTES + 1)), "DT405", /'message' is over/);
      await store.publish("c", "é".repeat(MAX_MESSAGE_BYTES / 2));
      await rejectsWith(store.subscribe("c", "not a function" as any), "DT405", /'listener'/);
    });
  });

  it("announces finished flows on the flow's channel and runnable work on the work channel", async () => {
    await withStore(factory, async (store) => {
      const work: string[] = [];
      const off = await store.subscribe(WORK_CHANNEL, (m) => work.push(m));
      const { id: flowId } = await suspended(store, {
        now: 3,
        waits: [
          { kind: "callback", id: "cb-w" },
          { kind: "timer", id: "t", dueAt: 900 },
        ],
      });
      await tick();
      assert.deepEqual(work, ["900"], "a released flow with a timer: wake at 900");
      await store.deliver({ callbackId: "cb-w", kind: "resume", payload: "v", now: 10 });
      await tick();
      assert.deepEqual(work, ["900", "10"], "a delivery to a free flow: work now");
      const [run] = await claimAll(store, 11);
      const done = nextMessage(store, flowChannel(flowId));
      await done.subscribed;
      await store.commit({
        flowId,
        revision: run!.revision,
        leaseToken: run!.lease.token,
        now: 12,
        status: "faulted",
        error: "e",
      });
      assert.equal(await done, "faulted");
      await off();
    });
  });

  if (!features.connections) return;

  it("carries messages and flow completions across connections", async () => {
    await withStore(factory, async (store, harness) => {
      const other = await harness.connect!();
      const generic = nextMessage(other, "backplane");
      await generic.subscribed;
      await store.publish("backplane", "from the first connection");
      assert.equal(await generic, "from the first connection");

      // Only once, even for the publishing connection's own listener.
      const own: string[] = [];
      await store.subscribe("backplane", (m) => own.push(m));
      await store.publish("backplane", "echo?");
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(own, ["echo?"]);

      const created = await other.createFlow({
        id: id(),
        rootFunctionId: "r#f",
        owner: OWNER,
        leaseMs: 1_000,
        now: 0,
      });
      const result = nextMessage(store, flowChannel(created.id));
      await result.subscribed;
      await other.commit({
        flowId: created.id,
        revision: 0,
        leaseToken: created.lease.token,
        now: 1,
        status: "succeeded",
        result: "42",
      });
      assert.equal(await result, "succeeded");
      assert.equal((await store.getFlow(created.id))?.result, "42");
    });
  });
}
