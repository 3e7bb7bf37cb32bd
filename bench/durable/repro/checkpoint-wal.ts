/**
 * What a checkpoint commit writes to the write-ahead log, against the raw write of the same bytes:
 * a measure that does not depend on how busy the machine is (the timings of the bench do).
 *
 * - **SQLite**: the flows table of the store (its schema file), one row with a 1.3 KB snapshot.
 *   WAL bytes per statement, with automatic checkpoints off, for: the raw baseline's
 *   `UPDATE t SET snapshot` on a one-index table; the same `UPDATE` of the snapshot on `flows`;
 *   and the store's commit UPDATE as a yield runs it (`CommitStatements`: only the changed
 *   columns, so no index is rewritten), next to the all-columns UPDATE the store used to run
 *   (`ready_at`, `lease_expires_at`, `status`, `expires_at`… are indexed: every index rewritten).
 * - **PostgreSQL**: `EXPLAIN (ANALYZE, WAL)` of an `UPDATE` of a two-column table (what the raw
 *   probe's upsert does to an existing row), of the two row updates a checkpoint makes on the
 *   store's own tables (its migrations): the `flows` row (snapshot, revision, status, times; no
 *   indexed column changes, so a HOT update) and the narrow `queue` row (`ready_at` and
 *   `lease_expires_at` move: not HOT, an entry in its primary key and lease index), and of the
 *   store's own `commit_flow(…)` call as a yield makes it.
 *
 *   node --conditions=source --import ./test/setup/register.mjs bench/durable/repro/checkpoint-wal.ts
 *
 * @module
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { createHost } from "dtasks";
import pg from "pg";
import { postgresStore } from "../../../src/store/postgres/index.js";
import { MIGRATIONS } from "../../../src/store/postgres/migrations/index.js";
import { CommitStatements } from "../../../src/store/sqlite/statements.js";
import { checkpointSnapshot } from "../dtasks.js";
import { checkpointFlow, checkpointPayload } from "../workloads.js";

const snapshot = String(await checkpointSnapshot());
// As the bench's raw baseline: the counter near the start and at the end, like two real checkpoints.
const head = Math.floor(snapshot.length / 6);
const value = (i: number) => {
  const c = String(i).padStart(8, "0");
  return `${snapshot.slice(0, head)}${c}${snapshot.slice(head + 8, -8)}${c}`;
};
const N = 500;

// ---- SQLite
{
  const dir = mkdtempSync(join(tmpdir(), "dtasks-repro-wal-"));
  const schema = readFileSync(new URL("../../../src/store/sqlite/schema.sql", import.meta.url), "utf8");
  const walBytesPer = (setup: (db: Database.Database) => (i: number) => void): number => {
    const path = join(dir, `${Math.random().toString(36).slice(2)}.db`);
    const db = new Database(path);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("wal_autocheckpoint = 0");
    const step = setup(db);
    step(0);
    db.pragma("wal_checkpoint(TRUNCATE)");
    for (let i = 1; i <= N; i++) step(i);
    const bytes = statSync(`${path}-wal`).size;
    db.close();
    return bytes / N;
  };
  const flowsRow = (db: Database.Database) => {
    db.exec(schema);
    db.prepare(
      `INSERT INTO flows (id, status, revision, root_function_id, snapshot, created_at, updated_at, ready_at,
        lease_token, lease_owner, lease_expires_at) VALUES ('f', 'running', 0, 'x#y', ?, 1, 1, 1, 't', 'o', 1)`,
    ).run(snapshot);
  };
  const raw = walBytesPer((db) => {
    db.exec("CREATE TABLE t (id TEXT PRIMARY KEY, snapshot BLOB, revision INTEGER)");
    db.prepare("INSERT INTO t VALUES ('f', ?, 0)").run(snapshot);
    const u = db.prepare("UPDATE t SET snapshot = ?, revision = revision + 1 WHERE id = 'f'");
    return (i) => u.run(value(i));
  });
  const snapshotOnly = walBytesPer((db) => {
    flowsRow(db);
    const u = db.prepare("UPDATE flows SET snapshot = ?, revision = revision + 1 WHERE id = 'f'");
    return (i) => u.run(value(i));
  });
  const commit = walBytesPer((db) => {
    flowsRow(db);
    // The store's own commit statement, with a yield's changes.
    const commits = new CommitStatements(db);
    return (i) => commits.run("f", 1_800_000_000_000 + i, null, { snapshot: value(i) });
  });
  const allColumns = walBytesPer((db) => {
    flowsRow(db);
    const commits = new CommitStatements(db);
    return (i) => {
      const now = 1_800_000_000_000 + i;
      commits.run("f", now, null, {
        status: "suspended",
        snapshot: value(i),
        ready_at: now,
        defer_until: null,
        finished_at: null,
        expires_at: null,
        lease_token: "t",
        lease_owner: "o",
        lease_expires_at: now + 30_000,
      });
    };
  });
  console.log(`SQLite (4 KB pages), WAL bytes per write of a ${snapshot.length} B snapshot:`);
  console.log(
    `  raw UPDATE of a one-index table        ${raw.toFixed(0).padStart(6)} B (${(raw / 4120).toFixed(1)} frames)`,
  );
  console.log(
    `  UPDATE of the snapshot on flows        ${snapshotOnly.toFixed(0).padStart(6)} B (${(snapshotOnly / 4120).toFixed(1)} frames)`,
  );
  console.log(
    `  the store's commit, as at a yield      ${commit.toFixed(0).padStart(6)} B (${(commit / 4120).toFixed(1)} frames)`,
  );
  console.log(
    `  an UPDATE of every column a commit may ${allColumns.toFixed(0).padStart(6)} B (${(allColumns / 4120).toFixed(1)} frames)`,
  );
  rmSync(dir, { recursive: true, force: true });
}

// ---- PostgreSQL
{
  const url = process.env.DTASKS_BENCH_PG ?? "postgres://postgres@127.0.0.1:5432/test";
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
  } catch (error) {
    console.log(`PostgreSQL: ${(error as Error).message}`);
    process.exit(0);
  }
  const schema = `dtasks_bench_wal_${process.pid}`;
  try {
    await client.query(`CREATE SCHEMA ${schema}`);
    await client.query(`SET search_path TO ${schema}`);
    // The store's own tables (its migrations; the functions come along, unused here).
    for (const migration of MIGRATIONS) await client.query(migration.sql);
    await client.query("CREATE TABLE raw (id text PRIMARY KEY, data bytea NOT NULL)");
    await client.query("INSERT INTO raw VALUES ('probe', $1)", [Buffer.from(snapshot)]);
    await client.query(
      `INSERT INTO flows (id, status, revision, root_function_id, snapshot, created_at, updated_at)
        VALUES ('f', 'suspended', 0, 'x#y', $1, 1, 1)`,
      [Buffer.from(snapshot)],
    );
    await client.query(
      `INSERT INTO queue (id, ready_at, lease_token, lease_owner, lease_expires_at) VALUES ('f', 1, 't', 'o', 1)`,
    );
    const wal = async (text: string, values: (i: number) => unknown[]) => {
      let records = 0;
      let bytes = 0;
      let fpi = 0;
      let ms = 0;
      for (let i = 1; i <= N; i++) {
        const { rows } = await client.query(`EXPLAIN (ANALYZE, WAL, FORMAT JSON) ${text}`, values(i));
        const plan = rows[0]["QUERY PLAN"][0];
        records += plan.Plan["WAL Records"] ?? 0;
        bytes += plan.Plan["WAL Bytes"] ?? 0;
        fpi += plan.Plan["WAL FPI"] ?? 0;
        ms += plan["Execution Time"];
      }
      return `${(bytes / N).toFixed(0).padStart(6)} B in ${(records / N).toFixed(1)} records (${(fpi / N).toFixed(2)} full-page images), executed in ${((ms * 1000) / N).toFixed(0)} µs`;
    };
    console.log(`PostgreSQL, WAL per write of a ${snapshot.length} B snapshot (EXPLAIN ANALYZE, WAL):`);
    console.log(
      `  raw write (UPDATE of a two-column table)       ${await wal(
        "UPDATE raw SET data = $1 WHERE id = 'probe'",
        (i) => [Buffer.from(value(i))],
      )}`,
    );
    console.log(
      `  UPDATE flows as commit_flow at a yield (HOT)   ${await wal(
        `UPDATE flows SET snapshot = $1, revision = revision + 1, status = 'suspended',
          updated_at = $2::double precision, last_error = NULL WHERE id = 'f'`,
        (i) => [Buffer.from(value(i)), 1_800_000_000_000 + i],
      )}`,
    );
    console.log(
      `  UPDATE queue as commit_flow at a yield         ${await wal(
        `UPDATE queue SET ready_at = $1::double precision, lease_expires_at = $1::double precision + 30000,
          defer_until = NULL, attempts = 0 WHERE id = 'f'`,
        (i) => [1_800_000_000_000 + i],
      )}`,
    );
    console.log(`  the store's commit_flow(…) call, as at a yield ${await storeCommitWal(url, wal)}`);
  } finally {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await client.end();
  }
}

/**
 * The store's own commit statement: a yield loop runs on a postgresStore whose pool records the
 * `commit_flow` call of a checkpoint; the call is then replayed under EXPLAIN with the flow's
 * current revision and a later `now` (its parameters $2 and $4), so every replay is a valid commit.
 */
async function storeCommitWal(
  url: string,
  wal: (text: string, values: (i: number) => unknown[]) => Promise<string>,
): Promise<string> {
  const schema = `dtasks_bench_walstore_${process.pid}`;
  let captured: { text: string; values: unknown[] } | undefined;
  class RecordingPool extends pg.Pool {
    override query(config: any, ...rest: any[]): any {
      if (
        typeof config === "object" &&
        String(config.text).includes("commit_flow") &&
        config.values[25] !== null
      )
        captured ??= { text: config.text, values: [...config.values] };
      return (super.query as (...args: unknown[]) => unknown)(config, ...rest);
    }
  }
  const pool = new RecordingPool({ connectionString: url, max: 2 });
  pool.on("error", () => {});
  const store = postgresStore({ pool, schema });
  const host = createHost({ store });
  const worker = host.startWorker({ concurrency: 1 });
  try {
    await (await host.start(checkpointFlow(5, checkpointPayload()))).result();
    await worker.stop();
    if (captured === undefined) return "(no checkpoint commit seen)";
    // A suspended flow to commit to: started, its first yield committed; the worker is stopped.
    const flow = await host.start(checkpointFlow(1_000_000, checkpointPayload()));
    const { rows } = await pool.query(
      `SELECT f.revision, q.lease_token FROM ${schema}.flows f JOIN ${schema}.queue q ON q.id = f.id WHERE f.id = $1`,
      [flow.id],
    );
    let revision = Number(rows[0].revision);
    const started = Date.now();
    const values = [...captured.values];
    values[0] = flow.id;
    values[2] = rows[0].lease_token;
    // Take the lease back for the replays (the start's commit released it).
    await pool.query(
      `UPDATE ${schema}.queue SET lease_token = 'repro', lease_owner = 'repro', lease_expires_at = $1 WHERE id = $2`,
      [started + 3_600_000, flow.id],
    );
    values[2] = "repro";
    const text = captured.text;
    return await wal(`${text}`, (i) => {
      values[1] = revision++;
      values[3] = started + i;
      return values;
    });
  } finally {
    await host.close().catch(() => {});
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await pool.end();
  }
}
