// Across processes: two server processes (different adapters) and a worker share one SQLite
// file. A client connected to one server is told of an operation accepted by the other and
// finished by a worker, through the store's pub/sub (the backplane); the webhook of an operation
// finished by another process's worker is still pushed by the server that accepted it.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { eventually, JSON_HEADERS, type Receiver, receiver, sseConnect, wsConnect } from "./helpers.js";
import { type ServerProcess, spawnServer } from "./processes.js";

let dir: string;
let a: ServerProcess;
let b: ServerProcess;
let hook: Receiver;

before(
  async () => {
    dir = mkdtempSync(join(tmpdir(), "dtasks-backplane-"));
    const db = join(dir, "state.db");
    hook = await receiver();
    // A accepts and has no worker; B has the worker. Started one after the other (schema creation).
    a = await spawnServer(db, "fastify", false, "server-a");
    b = await spawnServer(db, "express", true, "server-b");
  },
  { timeout: 180_000 },
);
after(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await hook?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function callbackIn(server: ServerProcess, label: string): Promise<string> {
  return eventually(async () => {
    const { callbackId } = (await (await fetch(`${server.url}/test/callbacks/${label}`)).json()) as {
      callbackId: string | null;
    };
    return callbackId ?? undefined;
  }, `the callback of ${label}`);
}

test("a WebSocket client of server B is told of an operation accepted by server A and finished by B's worker", {
  timeout: 120_000,
}, async () => {
  assert.notEqual(a.pid, b.pid);
  const client = await wsConnect(b.url);
  try {
    const accepted = await fetch(`${a.url}/wait/ws-cross`, {
      method: "POST",
      headers: {
        "async-callbacktype": "websockets, webhook",
        "async-connectionid": client.connectionId,
        "async-callbackurl": hook.url,
      },
    });
    assert.equal(accepted.status, 202);
    const { operationId } = (await accepted.json()) as { operationId: string };
    assert.ok(accepted.headers.get("location")!.startsWith(a.url));
    // The approver's click lands on B; B's worker runs the rest of the flow.
    const callbackId = await callbackIn(a, "ws-cross");
    const resumed = await fetch(`${b.url}/async/resume/${callbackId}`, {
      method: "POST",
      headers: JSON_HEADERS,
      body: '{"value":"from B"}',
    });
    assert.equal(resumed.status, 200);
    const expected = { operationId, status: "succeeded", result: { label: "ws-cross", value: "from B" } };
    assert.deepEqual(await client.messages.next("the completion on B's connection"), expected);
    const delivery = await hook.inbox.next("A's webhook");
    assert.deepEqual(delivery.body, expected);
    // Both servers report the same status from the shared store.
    for (const server of [a, b]) {
      assert.deepEqual(await (await fetch(`${server.url}/async/${operationId}/status`)).json(), expected);
    }
  } finally {
    client.close();
  }
});

test("an SSE connection on server A is told of an operation accepted by server B", {
  timeout: 120_000,
}, async () => {
  const client = await sseConnect(`${a.url}/async/events`);
  try {
    const { connectionId } = JSON.parse((await client.events.next("connected")).data) as {
      connectionId: string;
    };
    const accepted = await fetch(`${b.url}/wait/sse-cross`, {
      method: "POST",
      headers: { "async-callbacktype": "sse", "async-connectionid": connectionId },
    });
    const { operationId } = (await accepted.json()) as { operationId: string };
    // And a per-operation stream on A follows B's operation too.
    const follow = await sseConnect(`${a.url}/async/${operationId}/events`);
    const callbackId = await callbackIn(b, "sse-cross");
    await fetch(`${a.url}/async/resume/${callbackId}`, {
      method: "POST",
      headers: JSON_HEADERS,
      body: '{"value":2}',
    });
    const message = JSON.parse((await client.events.next("the completion")).data);
    assert.deepEqual(message, { operationId, status: "succeeded", result: { label: "sse-cross", value: 2 } });
    assert.deepEqual(JSON.parse((await follow.events.next("the operation's event")).data), message);
    await follow.ended;
  } finally {
    client.close();
  }
});
