/**
 * The PostgreSQL store's schema: versioned migrations (once, idempotent, safe when many stores
 * start at once, refused when newer), isolation between schemas, options, secrets, and a pool
 * given by the application. Against the real server; every test uses schemas of its own.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { inspect } from "node:util";
import pg from "pg";
import { flowChannel, WORK_CHANNEL } from "../../src/core/store.js";
import {
  type PostgresStore,
  postgresStore,
  resolvePostgresStoreOptions,
} from "../../src/store/postgres/index.js";
import { MIGRATIONS, SCHEMA_VERSION } from "../../src/store/postgres/migrations/index.js";
import { postgresRawProbe } from "../../src/store/postgres/raw.js";
import { claimAll, rejectsWith, suspended } from "./conformance/harness.js";
import {
  admin,
  backendsOf,
  dropSchema,
  eventually,
  freshSchema,
  requireServer,
  TEST_URL,
  tablesOf,
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

function open(schema: string, extra: Record<string, unknown> = {}): PostgresStore {
  return postgresStore({ connectionString: TEST_URL, schema, poolSize: 2, ...extra }) as PostgresStore;
}

async function migrationRows(schema: string) {
  const { rows } = await admin().query<{ version: number; name: string; checksum: string; applied_at: Date }>(
    `SELECT version, name, checksum, applied_at FROM "${schema}".schema_migrations ORDER BY version`,
  );
  return rows;
}

/** OIDs of the schema's tables and functions: they change if anything is created again. */
async function catalog(schema: string): Promise<string[]> {
  const { rows } = await admin().query<{ entry: string }>(
    `SELECT c.relname || ':' || c.oid AS entry FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1
     UNION ALL
     SELECT p.proname || ':' || p.oid FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname = $1
     ORDER BY 1`,
    [schema],
  );
  return rows.map((r) => r.entry);
}

describe("postgresStore migrations", () => {
  it("pins the shipped migrations: edit one and this fails (add a new migration instead)", () => {
    assert.deepEqual(
      MIGRATIONS.map((m) => [m.version, m.name, m.checksum]),
      [
        [1, "initial", "64387f5e2e0c05284cc6b3e4a39c96e56b07b8b0f73b76c0ff68edffe50700fb"],
        [2, "queue", "fc95316b368f689f8aa7c6add47c315085fc1007f3f17ede48f51df0e29e7ee3"],
      ],
    );
    assert.equal(SCHEMA_VERSION, MIGRATIONS.length);
  });

  it("creates the schema on first use and records each migration once", async () => {
    const schema = schemaName("mig");
    const store = open(schema);
    assert.deepEqual(await tablesOf(schema), [], "nothing happens before the first use");
    await store.ready();
    assert.deepEqual(await tablesOf(schema), [
      "callbacks",
      "events",
      "flows",
      "queue",
      "schema_migrations",
      "timers",
    ]);
    const rows = await migrationRows(schema);
    assert.deepEqual(
      rows.map((r) => [r.version, r.name, r.checksum]),
      MIGRATIONS.map((m) => [m.version, m.name, m.checksum]),
    );
    await store.close();
  });

  it("is idempotent: a second store, or a second run, creates nothing again", async () => {
    const schema = schemaName("idem");
    const first = open(schema);
    await suspended(first, { waits: [{ kind: "callback", id: "cb-idem" }] });
    const before = { rows: await migrationRows(schema), catalog: await catalog(schema) };
    await first.ready();
    const second = open(schema);
    await second.ready();
    assert.deepEqual(await migrationRows(schema), before.rows);
    assert.deepEqual(await catalog(schema), before.catalog, "no table or function was created again");
    assert.equal((await second.getCallback("cb-idem"))?.state, "waiting", "the data is untouched");
    await first.close();
    await second.close();
  });

  it("is safe when many stores start at once on a new schema (one migration, under the advisory lock)", async () => {
    const schema = schemaName("race");
    // Separate pools: separate sessions racing on the server, as separate processes would.
    const stores = Array.from({ length: 8 }, () => open(schema, { poolSize: 1 }));
    const outcomes = await Promise.allSettled(stores.map((s) => s.ready()));
    assert.deepEqual(
      outcomes.map((o) => (o.status === "rejected" ? String(o.reason) : "ok")),
      stores.map(() => "ok"),
    );
    assert.equal((await migrationRows(schema)).length, SCHEMA_VERSION);
    // All of them work on the one schema.
    await Promise.all(stores.map((s, i) => suspended(s, { id: `race-${i}`, runnableAt: 0 })));
    assert.equal((await stores[0]!.countRecords()).flows, 8);
    await Promise.all(stores.map((s) => s.close()));
  });

  it("refuses a schema written by a newer dtasks (DT407) and leaves it alone", async () => {
    const schema = schemaName("newer");
    const store = open(schema);
    await suspended(store, { id: "kept" });
    await store.close();
    await admin().query(
      `INSERT INTO "${schema}".schema_migrations (version, name, checksum) VALUES (99, 'future', 'x')`,
    );
    const newer = open(schema);
    await rejectsWith(newer.getFlow("kept"), "DT407", /schema version 99.*upgrade dtasks/);
    await rejectsWith(newer.ready(), "DT407");
    await newer.close();
    const { rows } = await admin().query(`SELECT id FROM "${schema}".flows`);
    assert.deepEqual(rows, [{ id: "kept" }]);
  });

  it("with migrate: false, only checks: a missing schema is DT402 and is not created", async () => {
    const schema = schemaName("nomig");
    const readOnly = open(schema, { migrate: false });
    await rejectsWith(readOnly.ready(), "DT402", /migrate: false/);
    await rejectsWith(
      readOnly.createFlow({ id: "x", rootFunctionId: "r#f", owner: "w", leaseMs: 10, now: 0 }),
      "DT402",
    );
    assert.deepEqual(await tablesOf(schema), []);
    const migrator = open(schema);
    await migrator.ready();
    await migrator.close();
    await readOnly.ready();
    await readOnly.createFlow({ id: "x", rootFunctionId: "r#f", owner: "w", leaseMs: 10, now: 0 });
    await readOnly.close();
  });

  it("counts every table of flow state: a table without a family in countRecords fails here", async () => {
    const schema = schemaName("count");
    const store = open(schema);
    const counts = await store.countRecords();
    const families = new Set(Object.keys(counts));
    for (const table of await tablesOf(schema)) {
      if (table === "schema_migrations") continue; // what the schema is, not flow state
      assert.ok(families.has(table), `countRecords() does not count table ${table}`);
    }
    assert.deepEqual(counts, {
      flows: 0,
      callbacks: 0,
      timers: 0,
      events: 0,
      queue: 0,
      leases: 0,
      notifications: 0,
    });
    await store.close();
  });

  it("sweeps with cascades: no child row can outlive its flow", async () => {
    const schema = schemaName("fk");
    const store = open(schema);
    const { id: flowId } = await suspended(store, {
      waits: [
        { kind: "callback", id: "cb-fk" },
        { kind: "timer", id: "t-fk", dueAt: 5 },
      ],
    });
    // Even a row written behind the store's back cannot point at a flow that does not exist.
    await assert.rejects(
      admin().query(`INSERT INTO "${schema}".timers (flow_id, id, due_at) VALUES ('nope', 't', 1)`),
      /foreign key/,
    );
    const [run] = await claimAll(store, 10);
    await store.commit({
      flowId,
      revision: run!.revision,
      leaseToken: run!.lease.token,
      now: 11,
      status: "succeeded",
      retentionMs: 0,
    });
    assert.deepEqual(await store.sweep({ now: 11 }), { flows: 1 });
    for (const table of ["flows", "callbacks", "timers", "events", "queue"]) {
      const { rows } = await admin().query(`SELECT count(*)::int AS n FROM "${schema}".${table}`);
      assert.equal(rows[0].n, 0, table);
    }
    await store.close();
  });
});

/**
 * A schema at version 1, written with version 1's own functions (as a store of that version would
 * have): the tables and functions of migration 1, recorded as applied.
 */
async function versionOneSchema(schema: string) {
  const q = `"${schema}"`;
  const client = await admin().connect();
  try {
    await client.query("BEGIN");
    await client.query(`CREATE SCHEMA ${q}`);
    await client.query(`SET LOCAL search_path TO ${q}, pg_temp`);
    await client.query(`CREATE TABLE ${q}.schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    await client.query(MIGRATIONS[0]!.sql);
    await client.query(`INSERT INTO ${q}.schema_migrations (version, name, checksum) VALUES (1, $1, $2)`, [
      MIGRATIONS[0]!.name,
      MIGRATIONS[0]!.checksum,
    ]);
    await client.query("COMMIT");
  } finally {
    client.release();
  }
  const create = (id: string, now: number, leaseMs: number, token: string) =>
    admin().query(
      `INSERT INTO ${q}.flows (id, status, revision, root_function_id, snapshot, snapshot_text, metadata,
        created_at, updated_at, ready_at, lease_token, lease_owner, lease_expires_at, attempts)
      VALUES ($1, 'running', 0, 'r#f', $2, true, $3::json, $4, $4, $4, $5, 'v1-worker', $6, 1)`,
      [id, Buffer.from(`${id} at start`), JSON.stringify({ id }), now, token, now + leaseMs],
    );
  const commit = async (c: {
    id: string;
    revision: number;
    token: string;
    now: number;
    status?: string;
    snapshot?: string;
    result?: string;
    consumed?: string[];
    callbacks?: string[];
    timers?: [string, number][];
    keepLeaseMs?: number;
    expiresAt?: number;
  }) => {
    const status = c.status ?? "suspended";
    const finished = ["succeeded", "faulted", "canceled"].includes(status);
    const { rows } = await admin().query(
      `SELECT * FROM ${q}.commit_flow($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
        $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30)`,
      [
        c.id,
        c.revision,
        c.token,
        c.now,
        status,
        finished,
        c.snapshot !== undefined,
        c.snapshot === undefined ? null : Buffer.from(c.snapshot),
        true,
        c.result !== undefined,
        c.result === undefined ? null : Buffer.from(c.result),
        true,
        false,
        null,
        false,
        null,
        false,
        null,
        c.consumed ?? [],
        [],
        c.callbacks ?? [],
        (c.timers ?? []).map((t) => t[0]),
        (c.timers ?? []).map((t) => t[1]),
        null,
        null,
        c.keepLeaseMs ?? null,
        c.expiresAt ?? null,
        "v1",
        "dt_v1_flow",
        "dt_v1_work",
      ],
    );
    return rows[0];
  };
  const deliver = (callbackId: string, payload: string, now: number) =>
    admin().query(`SELECT * FROM ${q}.deliver_event($1, 'resume', $2, true, $3, 'v1', 'dt_v1_work')`, [
      callbackId,
      Buffer.from(payload),
      now,
    ]);
  const cancel = (id: string, now: number) =>
    admin().query(
      `SELECT * FROM ${q}.request_cancel($1, NULL, false, $2, 'v1', 'dt_v1_work', 'dt_v1_flow')`,
      [id, now],
    );
  const claim = async (now: number, limit: number) =>
    (await admin().query(`SELECT * FROM ${q}.claim_flows('v1-worker', 10000, $1, $2)`, [limit, now])).rows;
  return { create, commit, deliver, cancel, claim };
}

describe("postgresStore upgrades", () => {
  it("migrates a schema written by version 1 without losing anything, and its flows go on", async () => {
    const schema = schemaName("upgrade");
    const v1 = await versionOneSchema(schema);
    // Every state a flow can be in between two runs, written by version 1's functions.
    await v1.create("timer", 0, 10_000, "tok-timer");
    await v1.commit({
      id: "timer",
      revision: 0,
      token: "tok-timer",
      now: 1,
      snapshot: "t1",
      timers: [["ta", 50]],
    });
    await v1.create("callback", 0, 10_000, "tok-cb");
    await v1.commit({
      id: "callback",
      revision: 0,
      token: "tok-cb",
      now: 1,
      snapshot: "b1",
      callbacks: ["cb-b"],
    });
    await v1.create("running", 0, 10_000, "tok-run");
    await v1.commit({
      id: "running",
      revision: 0,
      token: "tok-run",
      now: 1,
      snapshot: "r1",
      callbacks: ["cb-r"],
      timers: [["tr", 20_000]],
      keepLeaseMs: 10_000,
    });
    await v1.deliver("cb-r", "arrived during the run", 2); // pending while the run holds the lease
    await v1.create("done", 0, 10_000, "tok-done");
    await v1.commit({ id: "done", revision: 0, token: "tok-done", now: 1, callbacks: ["cb-d"] });
    await v1.deliver("cb-d", "yes", 2);
    const [claimedDone] = await v1.claim(3, 1);
    assert.equal(claimedDone.o_id, "done");
    await v1.commit({
      id: "done",
      revision: 1,
      token: claimedDone.o_token,
      now: 4,
      status: "succeeded",
      result: "the result",
      consumed: claimedDone.ev_seq,
      expiresAt: 1_000_000,
    });
    await v1.create("crashed", 0, 5, "tok-crashed"); // its creator died: the lease runs out at 5
    await v1.create("cancel", 0, 10_000, "tok-cancel");
    await v1.commit({ id: "cancel", revision: 0, token: "tok-cancel", now: 1, callbacks: ["cb-c"] });
    const cancelEvent = (await v1.cancel("cancel", 6)).rows[0].o_event_id;
    const before = (
      await admin().query(
        `SELECT id, ready_at, lease_owner, lease_expires_at, revision, status FROM "${schema}".flows`,
      )
    ).rows;

    const store = open(schema);
    await store.ready();
    assert.equal((await migrationRows(schema)).length, SCHEMA_VERSION);
    for (const row of before) {
      const flow = await store.getFlow(row.id);
      assert.equal(flow?.readyAt, row.ready_at, `${row.id}: readyAt`);
      assert.equal(flow?.status, row.status, `${row.id}: status`);
      assert.equal(flow?.revision, Number(row.revision), `${row.id}: revision`);
      assert.deepEqual(
        flow?.lease,
        row.lease_owner === null ? null : { owner: row.lease_owner, expiresAt: row.lease_expires_at },
        `${row.id}: lease`,
      );
      assert.deepEqual(flow?.metadata, { id: row.id }, `${row.id}: metadata`);
    }
    assert.deepEqual(
      { ...(await store.countRecords()) },
      { flows: 6, callbacks: 4, timers: 2, events: 2, queue: 5, leases: 2, notifications: 0 },
    );
    assert.equal((await store.getFlow("done"))?.result, "the result");
    assert.equal((await store.getCallback("cb-d"))?.state, "delivered");
    await rejectsWith(
      store.deliver({ callbackId: "cb-d", kind: "resume", payload: "again", now: 7 }),
      "DT503",
    );
    assert.deepEqual(await store.requestCancel({ flowId: "cancel", now: 7 }), {
      outcome: "pending",
      eventId: cancelEvent,
    });
    assert.equal((await store.requestCancel({ flowId: "done", now: 7 })).outcome, "finished");

    // The run that held a lease across the upgrade commits with its token: a checkpoint hands back
    // the event delivered meanwhile, and the next commit consumes it.
    const checkpoint = await store.commit({
      flowId: "running",
      revision: 1,
      leaseToken: "tok-run",
      now: 10,
      status: "suspended",
      snapshot: "r2",
      keepLeaseMs: 10_000,
    });
    assert.deepEqual(
      checkpoint.events.map((e) => [e.kind, e.waitId, e.payload]),
      [["resume", "cb-r", "arrived during the run"]],
    );
    await store.commit({
      flowId: "running",
      revision: 2,
      leaseToken: "tok-run",
      now: 11,
      status: "suspended",
      consumedEvents: checkpoint.events.map((e) => e.id),
    });
    assert.equal((await store.getFlow("running"))?.readyAt, 20_000, "its timer still counts");

    // Claimable at 50, oldest ready first: the crashed creator's flow (ready at 0, lease out at 5),
    // the cancel (6), the timer (50). Not the flow waiting on a callback, nor the one with a later timer.
    const claimed = await claimAll(store, 50);
    assert.deepEqual(
      claimed.map((f) => [f.id, f.attempt, f.snapshot, f.events.map((e) => [e.kind, e.waitId, e.at])]),
      [
        ["crashed", 2, "crashed at start", []],
        ["cancel", 1, "cancel at start", [["cancel", null, 6]]],
        ["timer", 1, "t1", [["timer", "ta", 50]]],
      ],
    );
    for (const flow of claimed) {
      await store.commit({
        flowId: flow.id,
        revision: flow.revision,
        leaseToken: flow.lease.token,
        now: 51,
        status: flow.id === "cancel" ? "canceled" : "succeeded",
        consumedEvents: flow.events.map((e) => e.id),
        retentionMs: 0,
      });
    }
    await store.deliver({ callbackId: "cb-b", kind: "resume", payload: "late", now: 60 });
    const [woken] = await claimAll(store, 60);
    assert.deepEqual(
      [woken?.id, woken?.snapshot, woken?.events.map((e) => e.payload)],
      ["callback", "b1", ["late"]],
    );
    await store.commit({
      flowId: "callback",
      revision: woken!.revision,
      leaseToken: woken!.lease.token,
      now: 61,
      status: "succeeded",
      consumedEvents: woken!.events.map((e) => e.id),
      retentionMs: 0,
    });
    const [timed] = await claimAll(store, 20_000);
    assert.deepEqual([timed?.id, timed?.events.map((e) => e.waitId)], ["running", ["tr"]]);
    await store.commit({
      flowId: "running",
      revision: timed!.revision,
      leaseToken: timed!.lease.token,
      now: 20_001,
      status: "succeeded",
      consumedEvents: timed!.events.map((e) => e.id),
      retentionMs: 0,
    });
    assert.deepEqual(await store.sweep({ now: 2_000_000 }), { flows: 6 });
    assert.ok(Object.values(await store.countRecords()).every((n) => n === 0));
    await store.close();
  });
});

describe("postgresStore schemas", () => {
  it("keeps stores in different schemas of one database apart: rows, ids, claims and notifications", async () => {
    const a = open(schemaName("iso_a"));
    const b = open(schemaName("iso_b"));
    // The same ids in both: no conflict.
    await suspended(a, { id: "same", waits: [{ kind: "callback", id: "cb-same" }] });
    await suspended(b, { id: "same", waits: [{ kind: "callback", id: "cb-same" }], runnableAt: 0 });
    await a.deliver({ callbackId: "cb-same", kind: "resume", payload: "for a", now: 1 });
    assert.equal((await b.getCallback("cb-same"))?.state, "waiting");

    const heardInB: string[] = [];
    await b.subscribe("shared-name", (m) => heardInB.push(`shared:${m}`));
    await b.subscribe(WORK_CHANNEL, (m) => heardInB.push(`work:${m}`));
    await b.subscribe(flowChannel("same"), (m) => heardInB.push(`flow:${m}`));
    const heardInA: string[] = [];
    await a.subscribe("shared-name", (m) => heardInA.push(m));
    // b listens on every channel name a uses; a second connection to a's schema does hear a.
    const a2 = open(a.schema);
    const heardInA2: string[] = [];
    await a2.subscribe("shared-name", (m) => heardInA2.push(m));
    await a2.subscribe(flowChannel("same"), (m) => heardInA2.push(m));

    await a.publish("shared-name", "only a");
    const [runA] = await claimAll(a, 2);
    assert.equal(runA?.id, "same");
    assert.equal(runA?.events[0]?.payload, "for a");
    await a.commit({
      flowId: "same",
      revision: runA!.revision,
      leaseToken: runA!.lease.token,
      now: 3,
      status: "succeeded",
    });
    await eventually(() => heardInA2.length === 2, 5_000, "a's second connection to hear a");
    assert.deepEqual(heardInA2, ["only a", "succeeded"]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(heardInB, [], "b heard nothing of a");
    assert.deepEqual(heardInA, ["only a"]);
    assert.equal((await b.getFlow("same"))?.status, "suspended");
    assert.equal((await b.countRecords()).events, 0);
    await Promise.all([a.close(), a2.close(), b.close()]);
  });
});

describe("postgresStore options and connections", () => {
  it("rejects bad options with DT404, naming the option", () => {
    const pool = new pg.Pool({ connectionString: TEST_URL, max: 1 });
    const cases: [unknown, RegExp][] = [
      [{}, /option 'connectionString' is required/],
      [{ conectionString: TEST_URL }, /unknown option 'conectionString'\. Did you mean 'connectionString'\?/],
      [{ connectionString: "" }, /option 'connectionString' must be a non-empty string/],
      [
        { connectionString: TEST_URL, pool },
        /option 'pool' cannot be given together with 'connectionString'/,
      ],
      [{ pool: {} }, /option 'pool' must be a node-postgres Pool/],
      [{ pool, poolSize: 3 }, /option 'poolSize' configures the connections the store opens/],
      [
        { connectionString: TEST_URL, schema: "Robert'); DROP TABLE" },
        /option 'schema' must be a plain identifier/,
      ],
      [{ connectionString: TEST_URL, schema: "x".repeat(64) }, /option 'schema' must be a plain identifier/],
      [{ connectionString: TEST_URL, poolSize: 0 }, /option 'poolSize' must be an integer from 1 to 1000/],
      [{ connectionString: TEST_URL, migrate: "yes" }, /option 'migrate' must be true or false/],
      [{ connectionString: TEST_URL, connectTimeout: "soon" }, /option 'connectTimeout' must be a duration/],
      [
        { connectionString: TEST_URL, synchronousCommit: "always" },
        /option 'synchronousCommit' must be one of/,
      ],
      [{ connectionString: TEST_URL, retention: -1 }, /option 'retention' must be a duration/],
    ];
    for (const [options, message] of cases) {
      assert.throws(
        () => postgresStore(options as any),
        (e: { code?: string; message: string }) => {
          assert.equal(e.code, "DT404", e.message);
          assert.match(e.message, message);
          return true;
        },
      );
    }
    return pool.end();
  });

  it("never shows the password: not in the options, the store, or an error", async () => {
    const secret = "s3cret-Pa55word";
    const withPassword = TEST_URL.replace("postgres://postgres@", `postgres://postgres:${secret}@`);
    assert.notEqual(withPassword, TEST_URL, "the test URL has the expected shape");
    const resolved = resolvePostgresStoreOptions({ connectionString: withPassword });
    assert.equal(resolved.connectionString, withPassword, "still readable by the store");
    assert.ok(!JSON.stringify(resolved).includes(secret));
    assert.ok(!Object.keys(resolved).includes("connectionString"));
    assert.ok(!inspect(resolved, { depth: 10 }).includes(secret));

    const store = open(schemaName("secret"), { connectionString: withPassword });
    await suspended(store, { runnableAt: 0 }); // trust auth: the password is accepted and unused
    assert.ok(!inspect(store, { depth: 10, showHidden: true }).includes(secret));
    assert.ok(!JSON.stringify(store).includes(secret));
    await store.close();

    // Nothing listens on port 1: the error names the problem, not the password.
    const down = postgresStore({
      connectionString: withPassword.replace(/:\d+\//, ":1/"),
      schema: "dtasks_never",
      connectTimeout: 2_000,
    });
    await assert.rejects(down.getFlow("x"), (e: { code?: string; message: string; cause?: unknown }) => {
      assert.equal(e.code, "DT402");
      assert.match(e.message, /could not be reached.*retry/);
      assert.ok(!e.message.includes(secret));
      assert.ok(!inspect(e, { depth: 10 }).includes(secret));
      assert.ok(e.cause);
      return true;
    });
    await down.close();
  });

  it("sets application_name and the pool size on the connections it opens; synchronous_commit off works", async () => {
    const applicationName = `dtasks-opts-${process.pid}`;
    const store = open(schemaName("opts"), { applicationName, synchronousCommit: "off", poolSize: 3 });
    await store.subscribe("c", () => {});
    // Hold the pool's connections busy at once to see how many it opens.
    await Promise.all(Array.from({ length: 6 }, () => store.countRecords()));
    const { rows } = await admin().query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1",
      [applicationName],
    );
    assert.ok(rows[0]!.n >= 2 && rows[0]!.n <= 4, `pool (≤ 3) + LISTEN connection, got ${rows[0]!.n}`);
    // synchronous_commit off: commits still work (and are as atomic; only the flush is deferred).
    await suspended(store, { id: "async-commit" });
    assert.equal((await store.getFlow("async-commit"))?.revision, 1);
    await store.close();
    await eventually(
      async () => (await backendsOf(applicationName)).length === 0,
      5_000,
      "connections closed",
    );
  });

  it("runs on a pool it is given, and leaves that pool open on close()", async () => {
    const applicationName = `dtasks-given-${process.pid}`;
    const pool = new pg.Pool({ connectionString: TEST_URL, max: 2, application_name: applicationName });
    pool.on("error", () => {});
    const schema = schemaName("given");
    const store = postgresStore({ pool, schema }) as PostgresStore;
    const other = open(schema);
    const heard: string[] = [];
    await store.subscribe("from-other", (m) => heard.push(m));
    await other.publish("from-other", "hi");
    await eventually(() => heard.length === 1, 5_000, "the message over the given pool's LISTEN client");
    await suspended(store, { id: "on-given" });
    assert.equal((await other.getFlow("on-given"))?.status, "suspended");
    const listenerPid = store.listenerPid();
    assert.ok(listenerPid !== null);
    await store.close();
    await other.close();
    assert.equal(pool.ended, false);
    assert.equal((await pool.query("SELECT 1 AS one")).rows[0].one, 1, "the pool still works");
    await eventually(
      async () => !(await backendsOf(applicationName)).includes(listenerPid!),
      5_000,
      "the store's own LISTEN client to be closed",
    );
    await pool.end();
  });

  it("checks the NOTIFY limits: a full-size message on a 200-character channel crosses; NUL is refused", async () => {
    const schema = schemaName("limits");
    const a = open(schema);
    const b = open(schema);
    const channel = "𝄞".repeat(100); // 200 UTF-16 characters, 400 bytes
    const message = "é".repeat(3584); // 7168 bytes: MAX_MESSAGE_BYTES
    const heard: string[] = [];
    await b.subscribe(channel, (m) => heard.push(m));
    await a.publish(channel, message);
    await eventually(() => heard.length === 1, 5_000, "the full-size message");
    assert.equal(heard[0], message);
    await rejectsWith(a.publish("c", "a\0b"), "DT405", /NUL/);
    await Promise.all([a.close(), b.close()]);
  });
});

describe("postgresStore LISTEN connection", () => {
  it("runs one LISTEN/UNLISTEN at a time on its client: many subscriptions at once raise no pg warning, and all hear", async () => {
    const schema = schemaName("listen");
    const a = open(schema);
    const b = open(schema);
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on("warning", onWarning);
    try {
      const heard = new Set<string>();
      const channels = Array.from({ length: 40 }, (_, i) => `c${i}`);
      const unsubscribes = await Promise.all(channels.map((c) => b.subscribe(c, () => heard.add(c))));
      // Half of them go while the other half subscribe again: UNLISTEN and LISTEN interleave.
      const again = Promise.all(channels.slice(0, 20).map((c) => b.subscribe(c, () => heard.add(c))));
      for (const unsubscribe of unsubscribes.slice(0, 20)) unsubscribe();
      await again;
      await Promise.all(channels.map((c) => a.publish(c, "x")));
      await eventually(() => heard.size === channels.length, 5_000, "every channel heard");
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(
        warnings.filter((w) => /already executing a query/.test(w)),
        [],
      );
    } finally {
      process.off("warning", onWarning);
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe("postgresRawProbe", () => {
  it("writes and reads the same bytes back, in every shape, and drops its table", async () => {
    const schema = schemaName("raw");
    for (const shape of ["statement", "statements", "transaction"] as const) {
      const probe = await postgresRawProbe({
        connectionString: TEST_URL,
        schema,
        shape,
        synchronousCommit: "on",
      });
      for (const size of [0, 1, 1024, 100_000]) {
        const bytes = new Uint8Array(size).map((_, i) => (i * 31 + size) & 255);
        const back = await probe.roundTrip(bytes);
        assert.ok(back instanceof Uint8Array);
        assert.deepEqual([...back], [...bytes]);
      }
      await probe.close();
    }
    assert.deepEqual(await tablesOf(schema), []);
  });

  it("refuses an unknown shape (DT404) before connecting", async () => {
    await assert.rejects(
      postgresRawProbe({ connectionString: TEST_URL, shape: "pipelined" as never }),
      (error: Error & { code?: string }) =>
        error.code === "DT404" &&
        /'shape' must be one of "statement", "statements", "transaction"/.test(error.message),
    );
  });
});
