/**
 * The PostgreSQL store's LISTEN connection (src/store/postgres/listener.ts), on a real server: the
 * LISTEN/UNLISTEN statements that pile up while one is running go to the server together, in
 * order, so many concurrent subscriptions (a thousand `flow.result()` calls) cost a few round trips
 * on that one connection; what the session listens to afterwards is exactly what was asked.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { NotificationListener } from "../../src/store/postgres/listener.js";
import { LocalBus } from "../../src/store/shared/bus.js";
import { POSTGRES_URL, requireServers } from "../faults/support/engines.js";

before(requireServers);

describe("postgres LISTEN connection", () => {
  const clients: pg.Client[] = [];
  const sent: string[] = [];
  let session: pg.Client | undefined;
  const bus = new LocalBus();
  const tag = `lt${Date.now().toString(36)}`;
  const listener = new NotificationListener({
    connect: async () => {
      const client = new pg.Client(POSTGRES_URL);
      await client.connect();
      // Every statement the listener sends, as sent.
      const query = client.query.bind(client) as (text: string) => Promise<unknown>;
      (client as unknown as { query: (text: string) => Promise<unknown> }).query = (text: string) => {
        sent.push(text);
        return query(text);
      };
      session = client;
      clients.push(client);
      return client;
    },
    pgChannel: (channel) => `${tag}_${channel}`,
    origin: "me",
    bus,
    onReconnect: async () => {},
    warn: () => {},
  });
  const listening = async (): Promise<string[]> => {
    const { rows } = await (
      session as unknown as { query: (t: string) => Promise<{ rows: { c: string }[] }> }
    ).query("SELECT pg_listening_channels() AS c");
    sent.pop(); // not one of the listener's own
    return rows.map((r) => r.c).sort();
  };

  // The listener unrefs its socket when idle (a process that only listens may exit); this test is
  // a process with other work to do.
  const keepAlive = setInterval(() => {}, 1_000);
  after(async () => {
    clearInterval(keepAlive);
    await listener.close();
    for (const client of clients) await client.end().catch(() => {});
  });

  it("sends concurrent LISTENs together, then concurrent UNLISTENs together, and listens to exactly what is asked", async () => {
    const channels = Array.from({ length: 300 }, (_, i) => `c${i}`);
    await Promise.all(channels.map((c) => listener.listen(c)));
    const listens = sent.flatMap((q) => q.split("; ")).filter((s) => s.startsWith("LISTEN "));
    assert.equal(listens.length, 300, "every channel was LISTENed, once");
    assert.ok(sent.length <= 3, `300 LISTENs in ${sent.length} round trips`);
    assert.deepEqual(await listening(), channels.map((c) => `${tag}_${c}`).sort());

    sent.length = 0;
    for (const c of channels.slice(0, 200)) listener.unlisten(c);
    await listener.listen("late"); // queued behind the UNLISTENs: it settles after them
    assert.ok(sent.length <= 3, `200 UNLISTENs and a LISTEN in ${sent.length} round trips`);
    assert.deepEqual(await listening(), [...channels.slice(200), "late"].map((c) => `${tag}_${c}`).sort());
  });

  it("keeps the order of a channel's LISTEN and UNLISTEN within one batch", async () => {
    sent.length = 0;
    const first = listener.listen("flip");
    listener.unlisten("flip"); // before the LISTEN was even sent
    await first;
    await listener.listen("anchor");
    assert.ok(!(await listening()).includes(`${tag}_flip`), "LISTEN then UNLISTEN: not listening");
    const other = new pg.Client(POSTGRES_URL);
    await other.connect();
    clients.push(other);
    const heard = new Promise<string>((resolve) => bus.add("anchor", resolve));
    await other.query("SELECT pg_notify($1, $2)", [`${tag}_anchor`, "them:hello"]);
    assert.equal(await heard, "hello", "notifications still arrive");
  });
});
