/**
 * PostgreSQL serializes the commits of transactions that NOTIFY: at commit, a NOTIFYing
 * transaction takes a database-wide lock on the notification queue and holds it until its commit
 * record is flushed, so concurrent NOTIFYing writers wait for each other's fsync (no group commit).
 * `pg_stat_activity` shows them waiting on `Lock: object`. The PostgreSQL store NOTIFYs inside
 * the commit of a flow's start (work channel) and of its end (flow channel), which caps W3.
 *
 * Ten connections write 1 KB rows as fast as they can, three ways: no NOTIFY; NOTIFY in the same
 * transaction (`WITH u AS (UPDATE …) SELECT pg_notify(…)`, what the store does); NOTIFY as a
 * separate statement after the write committed.
 *
 *   node --conditions=source --import ./test/setup/register.mjs bench/durable/repro/pg-notify.ts [--writes 2000]
 *
 * @module
 */
import pg from "pg";

const url = process.env.DTASKS_BENCH_PG ?? "postgres://postgres@127.0.0.1:5432/test";
const i = process.argv.indexOf("--writes");
const writes = i >= 0 ? Number(process.argv[i + 1]) : 2000;
const schema = `dtasks_bench_notify_${process.pid}`;
const pool = new pg.Pool({ connectionString: url, max: 10 });
await pool.query(`CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.t (id int PRIMARY KEY, data text)`);
await pool.query(`INSERT INTO ${schema}.t SELECT g, 'x' FROM generate_series(1, 1000) g`);
const update = `UPDATE ${schema}.t SET data = $2 WHERE id = $1`;

type Mode = "none" | "in-transaction" | "after-commit";
async function writesPerSecond(mode: Mode): Promise<number> {
  let next = 0;
  const began = performance.now();
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      const client = await pool.connect();
      try {
        while (next < writes) {
          const k = next++;
          const values = [1 + (k % 1000), `${"y".repeat(1000)}${k}`];
          if (mode === "in-transaction")
            await client.query(
              `WITH u AS (${update} RETURNING id) SELECT pg_notify('dtasks_bench_notify', 'm') FROM u`,
              values,
            );
          else {
            await client.query(update, values);
            if (mode === "after-commit") await client.query("SELECT pg_notify('dtasks_bench_notify', 'm')");
          }
        }
      } finally {
        client.release();
      }
    }),
  );
  return (writes * 1000) / (performance.now() - began);
}

try {
  for (let round = 1; round <= 3; round++) {
    const none = await writesPerSecond("none");
    const inTx = await writesPerSecond("in-transaction");
    const after = await writesPerSecond("after-commit");
    console.log(
      `round ${round}: no NOTIFY ${none.toFixed(0)} writes/s | NOTIFY in the write's transaction ${inTx.toFixed(0)} writes/s | NOTIFY after the commit ${after.toFixed(0)} writes/s`,
    );
  }
} finally {
  await pool.query(`DROP SCHEMA ${schema} CASCADE`);
  await pool.end();
}
