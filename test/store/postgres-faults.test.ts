/**
 * Faults the PostgreSQL store must survive, against real servers:
 * - every one of its backends terminated (`pg_terminate_backend`, what a DBA or a failover does);
 * - the server out of reach for a while (a TCP proxy in front of it is cut and brought back), with
 *   announcements made meanwhile by another connection replayed once LISTEN is back;
 * - a commit killed in flight (its backend terminated while it waits on a row lock): nothing written;
 * - a private server (initdb'd here, never the shared one) crashed with `pg_ctl stop -m immediate`
 *   and started again: every acknowledged write is there, every delivery applied exactly once.
 * In each case operations fail with DT402 (retryable) while the server is away, and work again,
 * with LISTEN re-established, once it is back.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { DTaskError } from "../../src/core/errors.js";
import { flowChannel, type Store, WORK_CHANNEL } from "../../src/core/store.js";
import { type PostgresStore, postgresStore } from "../../src/store/postgres/index.js";
import { PrivatePostgres } from "../faults/support/servers.js";
import { claimAll, suspended } from "./conformance/harness.js";
import {
  admin,
  backendsOf,
  dropSchema,
  eventually,
  freshSchema,
  requireServer,
  TEST_URL,
  terminate,
} from "./postgres-helpers.test.js";

before(requireServer);
const schemas: string[] = [];
after(async () => {
  for (const schema of schemas) await dropSchema(schema);
});

function schemaName(tag: string): string {
  const schema = freshSchema(tag);
  schemas.push(schema);
  return schema;
}

function isRetryable(error: unknown): boolean {
  return error instanceof DTaskError && error.code === "DT402" && /transient|retry/.test(error.message);
}

/** Calls `op` until it succeeds, accepting only retryable failures in between. */
async function untilItWorks<T>(op: () => Promise<T>, ms = 15_000): Promise<{ value: T; failures: number }> {
  const deadline = Date.now() + ms;
  for (let failures = 0; ; failures++) {
    try {
      return { value: await op(), failures };
    } catch (error) {
      assert.ok(isRetryable(error), `not a retryable DT402: ${String(error)}`);
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** A TCP proxy to the test server that can be cut (every connection dropped, new ones refused). */
class CuttableProxy {
  readonly #target: URL;
  readonly #sockets = new Set<net.Socket>();
  #server: net.Server | null = null;
  port = 0;

  constructor(target: string) {
    this.#target = new URL(target);
  }

  /** The test URL, through the proxy. */
  get url(): string {
    const url = new URL(this.#target);
    url.hostname = "127.0.0.1";
    url.port = String(this.port);
    return url.toString();
  }

  async start(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(Number(this.#target.port || 5432), this.#target.hostname);
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on("close", () => this.#sockets.delete(socket));
        socket.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.#server = server;
  }

  /** Drops every connection and refuses new ones. */
  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}

/** Messages heard on a channel, for assertions. */
async function record(store: Store, channel: string): Promise<string[]> {
  const heard: string[] = [];
  await store.subscribe(channel, (m) => heard.push(m));
  return heard;
}

describe("postgresStore faults on the shared server", () => {
  it("survives pg_terminate_backend of every one of its connections: retryable errors at most, LISTEN back, nothing lost", async (t) => {
    const schema = schemaName("term");
    const applicationName = `dtasks-term-${randomBytes(4).toString("hex")}`;
    const store = postgresStore({
      connectionString: TEST_URL,
      schema,
      poolSize: 4,
      applicationName,
    }) as PostgresStore;
    const peer = postgresStore({ connectionString: TEST_URL, schema, poolSize: 2 });
    const { id: x } = await suspended(store, { waits: [{ kind: "callback", id: "cb-x" }] });
    const { id: y } = await suspended(store, { waits: [{ kind: "callback", id: "cb-y" }] });
    await store.deliver({ callbackId: "cb-y", kind: "resume", payload: "before", now: 1 });
    const onX = await record(store, flowChannel(x));
    const generic = await record(store, "backplane");
    await Promise.all(Array.from({ length: 8 }, () => store.countRecords())); // open the whole pool
    const listenerBefore = store.listenerPid();
    const pids = await backendsOf(applicationName);
    assert.ok(pids.length >= 2, "pool and LISTEN connections are open");
    assert.ok(pids.includes(listenerBefore!));

    assert.equal(await terminate(pids), pids.length);

    // Reads are retried by the store itself; writes may fail once, with a retryable DT402.
    const read = await untilItWorks(() => store.getFlow(y));
    assert.equal(read.value?.status, "suspended");
    const delivered = await untilItWorks(() =>
      store.deliver({ callbackId: "cb-x", kind: "resume", payload: "after", now: 2 }),
    );
    assert.equal(delivered.value.flowId, x);
    assert.ok(delivered.failures <= 4, `writes work again quickly (failed ${delivered.failures} times)`);
    t.diagnostic(`terminated ${pids.length} backends; the next write failed ${delivered.failures} time(s)`);

    // Nothing lost: the delivery made before, and the one after.
    const runs = await untilItWorks(() => claimAll(store, 3));
    assert.deepEqual(
      runs.value.map((r) => [r.id, r.events.map((e) => e.payload)]).sort(),
      [
        [x, ["after"]],
        [y, ["before"]],
      ].sort(),
    );

    // LISTEN is back, on a new backend: another connection's messages and announcements arrive.
    await eventually(() => store.listenerPid() !== null, 10_000, "a new LISTEN connection");
    assert.notEqual(store.listenerPid(), listenerBefore);
    const runX = runs.value.find((r) => r.id === x)!;
    await eventually(
      async () => {
        await peer.publish("backplane", "ping");
        await new Promise((resolve) => setTimeout(resolve, 50));
        return generic.includes("ping");
      },
      10_000,
      "the backplane message",
    );
    await store.commit({
      flowId: x,
      revision: runX.revision,
      leaseToken: runX.lease.token,
      now: 4,
      status: "succeeded",
      consumedEvents: runX.events.map((e) => e.id),
    });
    await eventually(() => onX.includes("succeeded"), 5_000, "the completion");
    await Promise.all([store.close(), peer.close()]);
  });

  it("fails a commit killed in flight with DT402 and writes nothing; the retried commit applies once", async () => {
    const schema = schemaName("inflight");
    const applicationName = `dtasks-inflight-${randomBytes(4).toString("hex")}`;
    const store = postgresStore({ connectionString: TEST_URL, schema, poolSize: 2, applicationName });
    const { id: flowId } = await suspended(store, { runnableAt: 0 });
    const [runA] = await claimAll(store, 1);
    const commit = () =>
      store.commit({
        flowId,
        revision: runA!.revision,
        leaseToken: runA!.lease.token,
        now: 2,
        status: "suspended",
        snapshot: "s2",
        addWaits: [
          { kind: "callback", id: "cb-inflight" },
          { kind: "timer", id: "t-inflight", dueAt: 50 },
        ],
      });
    // Another session holds the flow's row: the commit waits on the server, in its transaction.
    const blocker = new pg.Client({ connectionString: TEST_URL });
    await blocker.connect();
    await blocker.query("BEGIN");
    await blocker.query(`SELECT 1 FROM "${schema}".flows WHERE id = $1 FOR UPDATE`, [flowId]);
    // Settled into a value at once: it may fail before anyone awaits it.
    const pending = commit().then(
      () => null,
      (error: unknown) => error,
    );
    let waiting: number[] = [];
    await eventually(
      async () => {
        const { rows } = await admin().query<{ pid: number }>(
          "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
          [applicationName],
        );
        waiting = rows.map((r) => r.pid);
        return waiting.length === 1;
      },
      5_000,
      "the commit to wait on the row lock",
    );
    await terminate(waiting);
    const failure = await pending;
    assert.ok(
      isRetryable(failure),
      `the killed commit fails with a retryable DT402 (got ${String(failure)})`,
    );
    await blocker.query("ROLLBACK");
    await blocker.end();

    const flow = await store.getFlow(flowId);
    assert.equal(flow?.revision, runA!.revision, "nothing was written");
    assert.equal(flow?.snapshot, "s1");
    assert.equal(await store.getCallback("cb-inflight"), null);
    assert.equal((await store.countRecords()).timers, 0);
    const retried = await commit();
    assert.equal(retried.revision, runA!.revision + 1);
    assert.equal((await store.getCallback("cb-inflight"))?.state, "waiting");
    await store.close();
  });

  it("survives the server out of reach: DT402 while away, back to work when it returns, missed announcements replayed", async () => {
    const proxy = new CuttableProxy(TEST_URL);
    await proxy.start();
    const schema = schemaName("away");
    const store = postgresStore({ connectionString: proxy.url, schema, poolSize: 2, connectTimeout: 2_000 });
    const direct = postgresStore({ connectionString: TEST_URL, schema, poolSize: 2 });
    const { id: x } = await suspended(store, { runnableAt: 0 });
    const { id: y } = await suspended(store, { waits: [{ kind: "callback", id: "cb-away" }] });
    const [runX] = await claimAll(store, 1);
    const onX = await record(store, flowChannel(x));
    const work = await record(store, WORK_CHANNEL);
    const onY = await record(store, flowChannel(y));

    await proxy.cut();
    const away = () =>
      store.commit({
        flowId: x,
        revision: runX!.revision,
        leaseToken: runX!.lease.token,
        now: 2,
        status: "suspended",
        snapshot: "written once back",
        keepLeaseMs: 60_000,
      });
    for (const op of [
      () => store.getFlow(x),
      away,
      () => store.claim({ owner: "w", leaseMs: 10, limit: 1, now: 3 }),
    ]) {
      await assert.rejects(op(), (error: Error) => {
        assert.ok(isRetryable(error), String(error));
        assert.match(error.message, /could not be reached or the connection was lost/);
        return true;
      });
    }
    await assert.rejects(
      store.subscribe("while-away", () => {}),
      isRetryable,
    );

    // Meanwhile, through another connection: y is canceled, a callback of x... x is leased by the
    // store's run, so the peer finishes y and asks to cancel x.
    await direct.requestCancel({ flowId: y, now: 4 });
    await direct.requestCancel({ flowId: x, now: 4 });
    const [runY] = await claimAll(direct, 5);
    assert.equal(runY?.id, y);
    await direct.commit({
      flowId: y,
      revision: runY!.revision,
      leaseToken: runY!.lease.token,
      now: 6,
      status: "canceled",
      consumedEvents: runY!.events.map((e) => e.id),
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual([onX, onY, work], [[], [], []], "nothing could be heard while away");

    await proxy.start();
    // The commit that failed while away never reached the server: retried, it applies.
    const { value: committed } = await untilItWorks(away);
    assert.equal(committed.revision, runX!.revision + 1);
    assert.deepEqual(
      committed.events.map((e) => e.kind),
      ["cancel"],
      "the cancel made while away is handed to the run",
    );
    // LISTEN came back and replayed what this store's channels missed.
    await eventually(() => onY.includes("canceled"), 15_000, "y's final status");
    await eventually(() => onX.includes("cancel-requested"), 15_000, "x's cancel request");
    await eventually(() => work.length > 0, 15_000, "a work wake-up");
    // And live messages flow again.
    const live = await record(store, "after");
    await direct.publish("after", "live");
    await eventually(() => live.includes("live"), 5_000, "a live message");
    await Promise.all([store.close(), direct.close()]);
    await proxy.cut();
  });
});

describe("postgresStore and a server crash (private server)", () => {
  it("keeps every acknowledged write through a crash and restart; deliveries apply exactly once", {
    timeout: 120_000,
  }, async (t) => {
    const server = new PrivatePostgres();
    try {
      await server.start();
      const store = postgresStore({ connectionString: server.url, poolSize: 4, connectTimeout: 2_000 });
      const peer = postgresStore({ connectionString: server.url, poolSize: 2, connectTimeout: 2_000 });
      const total = 60;
      const flows: string[] = [];
      for (let i = 0; i < total; i++)
        flows.push(
          (await suspended(store, { id: `crash-${i}`, waits: [{ kind: "callback", id: `cb-${i}` }] })).id,
        );
      const onLast = await record(store, flowChannel(flows[total - 1]!));

      // Deliver to every callback while the server crashes part-way through.
      const outcomes: ("ok" | "retry")[] = [];
      let crashed: Promise<void> | undefined;
      for (let i = 0; i < total; i++) {
        if (i === total / 2) crashed = server.crash();
        if (i === total - 10) await crashed; // the last ones certainly meet a dead server
        try {
          await store.deliver({ callbackId: `cb-${i}`, kind: "resume", payload: `v${i}`, now: 10 + i });
          outcomes.push("ok");
        } catch (error) {
          assert.ok(isRetryable(error), String(error));
          outcomes.push("retry");
        }
      }
      await crashed;
      assert.ok(outcomes.includes("retry"), "some deliveries met the dead server");
      await assert.rejects(store.getFlow(flows[0]!), isRetryable);

      await server.start();
      // Retried deliveries: applied now, or already applied before the crash (DT503) — once either way.
      let appliedBefore = 0;
      for (let i = 0; i < total; i++) {
        if (outcomes[i] === "ok") continue;
        const outcome = await untilItWorks(() =>
          store.deliver({ callbackId: `cb-${i}`, kind: "resume", payload: `v${i}`, now: 10 + i }).then(
            () => "applied now",
            (error: DTaskError) => {
              if (error.code === "DT503") return "applied before";
              throw error;
            },
          ),
        );
        if (outcome.value === "applied before") appliedBefore++;
      }
      t.diagnostic(
        `${outcomes.filter((o) => o === "ok").length} deliveries acknowledged before the crash, ` +
          `${outcomes.filter((o) => o === "retry").length} failed with DT402 and were retried ` +
          `(${appliedBefore} of them had been applied: DT503 on retry)`,
      );
      const counts = await store.countRecords();
      assert.equal(counts.flows, total);
      assert.equal(counts.events, total, "one event per callback: none lost, none doubled");
      for (let i = 0; i < total; i++) assert.equal((await store.getCallback(`cb-${i}`))?.state, "delivered");

      // Every flow runs once with its one event, and the finish of the last one is heard: LISTEN is back.
      const runs = await store.claim({ owner: "after-crash", leaseMs: 60_000, limit: 1000, now: 1_000 });
      assert.equal(runs.length, total);
      for (const r of runs) {
        const i = Number(r.id.slice("crash-".length));
        assert.deepEqual(
          r.events.map((e) => e.payload),
          [`v${i}`],
        );
        await peer.commit({
          flowId: r.id,
          revision: r.revision,
          leaseToken: r.lease.token,
          now: 1_001,
          status: "succeeded",
          consumedEvents: r.events.map((e) => e.id),
        });
      }
      await eventually(() => onLast.includes("succeeded"), 15_000, "the last flow's completion");
      await Promise.all([store.close(), peer.close()]);
    } finally {
      await server.destroy();
    }
  });
});
