// What the HTTP layer asks of the host (small, public additions): the status the start run
// committed, `get` without decoding the snapshot, and the store's pub/sub.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createHost, memoryStore } from "dtasks";
import { flowChannel } from "../../src/core/store.js";
import { echo, failNow, sleepFor, yieldThen } from "./flows.js";
import { eventually } from "./helpers.js";

test("host.start() tells what its own run committed (startStatus), whatever happens next", {
  timeout: 120_000,
}, async () => {
  const host = createHost({ store: memoryStore() });
  try {
    assert.equal((await host.start(echo(1))).startStatus, "succeeded");
    assert.equal((await host.start(failNow("x"))).startStatus, "faulted");
    assert.equal((await host.start(sleepFor(60_000))).startStatus, "suspended");
    // A yield is finished by a worker right away; the start run still suspended.
    const worker = host.startWorker({ pollInterval: 10 });
    const flow = await host.start(yieldThen(2));
    assert.equal(flow.startStatus, "suspended");
    await flow.result();
    assert.equal(flow.startStatus, "suspended");
    assert.equal(await flow.status(), "succeeded");
    await worker.stop();
  } finally {
    await host.close();
  }
});

test("host.get(id, { tasks: false }) reads a suspended flow without describing its frames", {
  timeout: 120_000,
}, async () => {
  const host = createHost({ store: memoryStore() });
  try {
    const flow = await host.start(sleepFor(60_000), { metadata: { tag: "x" } });
    const full = await host.get(flow.id);
    assert.ok(full.tasks && full.tasks.length > 0);
    const light = await host.get(flow.id, { tasks: false });
    assert.equal(light.tasks, undefined);
    assert.equal(light.status, "suspended");
    assert.deepEqual(light.metadata, { tag: "x" });
    await assert.rejects(
      host.get(flow.id, { tasks: "no" } as never),
      (e: Error & { code?: string }) => e.code === "DT505",
    );
    await assert.rejects(host.get(flow.id, { task: false } as never), /did you mean 'tasks'/);
  } finally {
    await host.close();
  }
});

test("host.subscribe/publish: the store's pub/sub, including the final status on a flow's channel", {
  timeout: 120_000,
}, async () => {
  const host = createHost({ store: memoryStore() });
  try {
    const heard: [string, string][] = [];
    const stop = await host.subscribe("test-channel", (message, channel) => heard.push([channel, message]));
    await host.publish("test-channel", "hello");
    await eventually(() => heard.length === 1, "the message");
    assert.deepEqual(heard, [["test-channel", "hello"]]);
    await stop();
    await host.publish("test-channel", "again");
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(heard.length, 1, "not heard after unsubscribing");

    const worker = host.startWorker({ pollInterval: 10 });
    const flow = await host.start(yieldThen(1));
    const finished: string[] = [];
    await host.subscribe(flowChannel(flow.id), (message) => finished.push(message));
    await flow.result();
    await eventually(() => finished.includes("succeeded"), "the final status");
    await worker.stop();
    await assert.rejects(host.publish("", "x"), (e: Error & { code?: string }) => e.code === "DT509");
    await assert.rejects(
      host.subscribe("c", "not a function" as never),
      (e: Error & { code?: string }) => e.code === "DT509",
    );
  } finally {
    await host.close();
  }
  await assert.rejects(host.publish("c", "x"), (e: Error & { code?: string }) => e.code === "DT504");
});
