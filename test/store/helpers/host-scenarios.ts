/**
 * The host scenarios every shared store engine runs (Redis, PostgreSQL): flows with delays,
 * callbacks and combinators on a virtual clock, swept to nothing afterwards; and two hosts on one
 * namespace in real time, where `flow.result()` and an idle worker are woken by the engine's
 * notifications rather than by polling.
 */
import assert from "node:assert/strict";
import { createHost } from "dtasks";
import { createTestHost } from "dtasks/testing";
import type { Store } from "../../../src/core/store.js";
import * as flows from "../../host/flows.js";

/** Runs the virtual-clock scenario on `store` (retention 1 h) and closes it. */
export async function virtualClockScenario(store: Store): Promise<void> {
  const host = createTestHost({ store });
  try {
    const delayed = await host.start(flows.delays("d", "7d"));
    const approval = await host.start(flows.approval("a", { id: "o-1", total: 10 }));
    const any = await host.start(flows.anyOf("any"));
    const all = await host.start(flows.allOfYields("all"));
    await host.runUntilIdle();
    assert.deepEqual(await all.result(), { results: [1, 3, 2], same: true });
    await host.advance("10m");
    assert.equal(await any.result(), "timed out");
    await host.resume(flows.callbacks.get("a")![0]!, true);
    await host.advance("1d");
    assert.deepEqual(await approval.result(), { order: "o-1", status: "shipped" });
    assert.equal(await delayed.status(), "suspended");
    await host.advance(6 * 86_400_000 - 600_000); // exactly 7 days after the start
    assert.equal(await delayed.result(), 42);
    await host.advance("2h"); // past retention: the worker's sweep deletes the finished flows
    await host.runUntilIdle();
    const left = await store.sweep({ now: host.now() });
    const counts = await store.countRecords();
    assert.deepEqual(
      Object.entries(counts).filter(([, n]) => n !== 0),
      [],
      `nothing left behind (last sweep took ${left.flows})`,
    );
  } finally {
    await host.close();
  }
}

/** Two hosts, each on its own store from `open()` (one namespace), in real time. */
export async function twoHostsScenario(open: () => Store): Promise<void> {
  const starter = createHost({ store: open() });
  const runner = createHost({ store: open() });
  // Polling effectively off: only notifications (or the safety poll, far away) can wake them.
  const worker = runner.startWorker({ pollInterval: "1h" });
  try {
    const flow = await starter.start(flows.twoCallbacks("two"));
    const delayed = await starter.start(flows.delays("short", "200ms"));
    for (let i = 0; (flows.callbacks.get("two:second") ?? []).length === 0 && i < 500; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const [first] = flows.callbacks.get("two:first")!;
    const [second] = flows.callbacks.get("two:second")!;
    const started = Date.now();
    await starter.resume(first!, "a");
    await starter.resume(second!, "b");
    assert.equal(await flow.result(), "a+b");
    assert.equal(await delayed.result(), 42);
    // flow.result() polls every 2 s as a safety net, and the worker was told to poll hourly.
    assert.ok(
      Date.now() - started < 1_500,
      `woken by notifications, not by a poll (${Date.now() - started} ms)`,
    );
  } finally {
    await worker.stop();
    await starter.close();
    await runner.close();
  }
}
