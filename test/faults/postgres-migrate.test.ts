/**
 * A PostgreSQL server restart (or a DBA's pg_terminate_backend) while a store migrates its schema,
 * which every new worker process does on its first call: the store must report DT402 and carry on,
 * not crash the process. Found by the fault suite (a worker started while the server restarted
 * died of "Unhandled 'error' event … Connection terminated unexpectedly": the migration's pool
 * client has no 'error' listener while it is checked out).
 *
 * Deterministic: the test holds the migration's advisory lock, so the migrating connection waits
 * inside its transaction, and terminates that connection while it waits.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { test } from "node:test";
import pg from "pg";
import { spawnTs } from "../host/children/spawn.js";

const TEST_URL = process.env.DTASKS_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const CHILD = join(import.meta.dirname, "support/migrate-child.ts");

test("postgres store: its connection terminated during the schema migration is DT402, not a crashed process", {
  timeout: 60_000,
}, async (t) => {
  const schema = `dtasks_migrate_${randomBytes(5).toString("hex")}`;
  const applicationName = `dtasks-migrate-${randomBytes(4).toString("hex")}`;
  // One connection holds the lock (in a transaction); the other looks (pg_stat_activity is a
  // snapshot fixed for the length of a transaction).
  const admin = new pg.Client({ connectionString: TEST_URL });
  const observer = new pg.Client({ connectionString: TEST_URL });
  await admin.connect();
  await observer.connect();
  t.after(async () => {
    await admin.query("ROLLBACK").catch(() => {});
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await admin.end();
    await observer.end();
  });
  await admin.query("BEGIN");
  await admin.query("SELECT pg_advisory_xact_lock(hashtext('dtasks.migrate'), hashtext($1))", [schema]);

  const child = spawnTs(CHILD, [TEST_URL, schema, applicationName]);
  t.after(() => {
    child.process.kill("SIGKILL");
  });
  // The migrating connection, waiting for the lock inside its transaction.
  let pid: number | undefined;
  for (let i = 0; pid === undefined; i++) {
    assert.ok(i < 1_000, "the store started migrating");
    const { rows } = await observer.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
      [applicationName],
    );
    pid = rows[0]?.pid;
    if (pid === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await observer.query("SELECT pg_terminate_backend($1)", [pid]);
  await admin.query("COMMIT");

  const first = await within(
    15_000,
    child.waitFor((line) => line.call === "first"),
  ).catch((error: Error) => ({ crashed: error.message }));
  assert.deepEqual(
    first,
    { call: "first", outcome: "DT402" },
    "the first call fails retryably; the process lives",
  );
  child.process.stdin.write("go\n");
  assert.deepEqual(
    await within(
      15_000,
      child.waitFor((line) => line.call === "second"),
    ),
    {
      call: "second",
      outcome: "ok",
    },
  );
  assert.equal((await within(15_000, child.exited)).code, 0);
});

function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`nothing within ${ms} ms`)), ms);
    }),
  ]);
}
