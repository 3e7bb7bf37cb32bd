/**
 * Shared by the PostgreSQL store tests: the server URL, a fresh schema name per test, an admin
 * pool for dropping schemas and looking at the server from outside the store. Its own test checks
 * that the server is there and recent enough, so that a missing server is one clear failure.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, it } from "node:test";
import pg from "pg";

export const TEST_URL = process.env.DTASKS_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

let adminPool: pg.Pool | undefined;

/** A small pool for the tests' own SQL (not the store's). */
export function admin(): pg.Pool {
  if (adminPool === undefined) {
    adminPool = new pg.Pool({ connectionString: TEST_URL, max: 3, allowExitOnIdle: true });
    adminPool.on("error", () => {});
  }
  return adminPool;
}

after(async () => {
  const pool = adminPool;
  adminPool = undefined;
  await pool?.end();
});

/** Fails with a message that says what to do when no server answers. */
export async function requireServer(): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_URL, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${TEST_URL.replace(/:[^:@/]*@/, ":***@")} (${(error as Error).message}). ` +
        "The PostgreSQL store tests need a real server: start it (.ci/run does) or set DTASKS_TEST_POSTGRES_URL.",
      { cause: error },
    );
  } finally {
    await client.end().catch(() => {});
  }
}

/** A schema name no other test (or run) uses. */
export function freshSchema(tag = "t"): string {
  return `dtasks_${tag}_${randomBytes(6).toString("hex")}`;
}

export async function dropSchema(schema: string): Promise<void> {
  await admin().query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

/** Names of the tables in `schema`. */
export async function tablesOf(schema: string): Promise<string[]> {
  const { rows } = await admin().query<{ name: string }>(
    "SELECT tablename AS name FROM pg_tables WHERE schemaname = $1 ORDER BY tablename",
    [schema],
  );
  return rows.map((r) => r.name);
}

/** Terminates the server processes with these pids (what a DBA or a failover does). */
export async function terminate(pids: readonly number[]): Promise<number> {
  if (pids.length === 0) return 0;
  const { rows } = await admin().query<{ ok: boolean }>(
    "SELECT pg_terminate_backend(pid) AS ok FROM unnest($1::int[]) AS pid",
    [pids],
  );
  return rows.filter((r) => r.ok).length;
}

/** Server pids of the connections with this application_name. */
export async function backendsOf(applicationName: string): Promise<number[]> {
  const { rows } = await admin().query<{ pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()",
    [applicationName],
  );
  return rows.map((r) => r.pid);
}

/** Polls `check` until it returns true (real time; for effects of other connections). */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  ms = 10_000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

it("has a PostgreSQL 15+ server to test against", async () => {
  await requireServer();
  const { rows } = await admin().query<{ v: number }>(
    "SELECT current_setting('server_version_num')::int AS v",
  );
  assert.ok(rows[0]!.v >= 150000, `PostgreSQL 15 or later is needed (server_version_num ${rows[0]!.v})`);
});
