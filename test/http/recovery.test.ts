// Completion is observed wherever the flow finishes, and survives a restart of the server that
// accepted it: hosts sharing one SQLite file stand for processes (the store's pub/sub between
// them is the file's notification table, as between real processes; see backplane.test.ts).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createHost, type Host } from "dtasks";
import { sqliteStore } from "dtasks/sqlite";
import { callbackOf } from "./flows.js";
import { eventually, type Receiver, receiver } from "./helpers.js";
import { type ServerOptions, startServer } from "./servers.js";

let dir: string;
let hook: Receiver;
const hosts: Host[] = [];

function open(): Host {
  const host = createHost({ store: sqliteStore({ path: join(dir, "state.db"), pollInterval: 10 }) });
  hosts.push(host);
  return host;
}

const options = (extra: ServerOptions = {}): ServerOptions => ({
  webhooks: { allowPrivateNetworks: true, retryDelay: 20 },
  pollInterval: "100ms",
  ...extra,
});

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "dtasks-http-recovery-"));
  hook = await receiver();
});
after(async () => {
  for (const host of hosts) await host.close();
  await hook.close();
  rmSync(dir, { recursive: true, force: true });
});

test("a flow finished by another process's worker is pushed by the server that accepted it", {
  timeout: 120_000,
}, async () => {
  const accepting = await startServer("hono", open(), options({ worker: false }));
  const workerHost = open();
  const worker = workerHost.startWorker({ pollInterval: 20 });
  try {
    const response = await fetch(`${accepting.url}/wait/elsewhere`, {
      method: "POST",
      headers: { "async-callbacktype": "webhook", "async-callbackurl": hook.url },
    });
    const { operationId } = (await response.json()) as { operationId: string };
    assert.equal(accepting.endpoints.stats.watching, 1);
    // Resumed from the other process; only its worker can run the flow.
    await workerHost.resume(await callbackOf("elsewhere"), "done elsewhere");
    const delivery = await hook.inbox.next("the webhook");
    assert.deepEqual(delivery.body, {
      operationId,
      status: "succeeded",
      result: { label: "elsewhere", value: "done elsewhere" },
    });
    await eventually(() => accepting.endpoints.stats.watching === 0, "the watch to end");
  } finally {
    await worker.stop();
    await accepting.close();
  }
});

test("a restarted server takes over the pushes of the operations it accepted; another instance does not", {
  timeout: 120_000,
}, async () => {
  const first = await startServer("fastify", open(), options({ instance: "approvals-1" }));
  const response = await fetch(`${first.url}/wait/restart`, {
    method: "POST",
    headers: { "async-callbacktype": "webhook", "async-callbackurl": hook.url },
  });
  const { operationId } = (await response.json()) as { operationId: string };
  const callbackId = await callbackOf("restart");
  // The server stops (the host with it) while the operation waits.
  await first.close();
  await hosts.at(-1)!.close();

  const other = await startServer("express", open(), options({ instance: "approvals-2", worker: false }));
  await other.endpoints.ready;
  assert.equal(other.endpoints.stats.watching, 0, "not this instance's operation");

  const again = await startServer("fastify", open(), options({ instance: "approvals-1" }));
  await again.endpoints.ready;
  assert.equal(again.endpoints.stats.watching, 1, "the restarted instance watches it again");
  const resumed = await fetch(`${again.url}/async/resume/${callbackId}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"value":"after the restart"}',
  });
  assert.equal(resumed.status, 200);
  const delivery = await hook.inbox.next("the webhook after the restart");
  assert.deepEqual(delivery.body, {
    operationId,
    status: "succeeded",
    result: { label: "restart", value: "after the restart" },
  });
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(hook.received.filter((r) => r.body.operationId === operationId).length, 1, "pushed once");
  await again.close();
  await other.close();
});

test("a lost notification is made up by the safety re-read", { timeout: 120_000 }, async () => {
  // The accepting server's store hears nothing (its subscriptions are swallowed), as when
  // pub/sub drops a message; only the re-read every pollInterval can see the flow finish.
  const real = sqliteStore({ path: join(dir, "state.db"), pollInterval: 10 });
  const deaf = new Proxy(real, {
    get(target, property) {
      if (property === "subscribe") return async () => async () => {};
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const host = createHost({ store: deaf });
  hosts.push(host);
  const server = await startServer("core", host, options({ worker: false, pollInterval: "50ms" }));
  const workerHost = open();
  const worker = workerHost.startWorker({ pollInterval: 20 });
  try {
    const response = await fetch(`${server.url}/wait/lost`, {
      method: "POST",
      headers: { "async-callbacktype": "webhook", "async-callbackurl": hook.url },
    });
    const { operationId } = (await response.json()) as { operationId: string };
    await workerHost.resume(await callbackOf("lost"), 1);
    const delivery = await hook.inbox.next("the webhook found by the re-read");
    assert.equal(delivery.body.operationId, operationId);
  } finally {
    await worker.stop();
    await server.close();
  }
});
