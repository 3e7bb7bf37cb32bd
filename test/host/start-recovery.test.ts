import assert from "node:assert/strict";
import { test } from "node:test";
import { DTask, dasync } from "dtasks";
import { createTestHost } from "dtasks/testing";
import { startSnapshot } from "../../src/runtime/flow.js";
import { memoryStore } from "../../src/store/memory/index.js";

const runs: string[] = [];

const greet = dasync(async function greet(name: string, at: Date) {
  runs.push(name);
  await DTask.delay("1h");
  return `hello ${name} (${at.toISOString()})`;
});

test("a flow whose starting process died before its first commit is started by a worker", async () => {
  const store = memoryStore();
  const now = Date.UTC(2026, 10, 26);
  // What host.start stores first: the flow with its root call, leased by the (then dead) starter.
  await store.createFlow({
    id: "orphan",
    rootFunctionId: "test/host/start-recovery.test#greet",
    snapshot: startSnapshot(greet("ada", new Date(0))),
    owner: "dead-process",
    leaseMs: 30_000,
    now,
  });
  const host = createTestHost({ store, now });
  try {
    await host.advance("31s"); // the dead starter's lease expires; the worker claims the flow
    assert.deepEqual(runs, ["ada"]);
    await host.advance("1h");
    assert.equal(await host.flow("orphan").result(), "hello ada (1970-01-01T00:00:00.000Z)");
  } finally {
    await host.close();
  }
});

test("arguments that cannot be stored fail host.start at once with DT301, and no flow is created", async () => {
  const host = createTestHost();
  try {
    await assert.rejects(host.start(greet("bob", (() => new Date()) as never)), { code: "DT301" });
    assert.equal((await host.list()).flows.length, 0);
  } finally {
    await host.close();
  }
});
