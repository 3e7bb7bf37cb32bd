/**
 * The PostgreSQL store's two hot loops, on the store alone (no runtime), with a virtual clock:
 *
 * - **checkpoint**: one leased flow committing a 1.3 KB snapshot with `keepLeaseMs` (what a
 *   `DTask.yield()` run by a worker commits), N times;
 * - **timer loop** (W2's store traffic): one flow that commits a 1 ms timer and gives its lease
 *   back, then, as a worker does, `nextWakeAt` and a claim when the timer is due (the timer becomes
 *   an event, consumed by the next commit), N times.
 *
 * For each: client µs per operation in blocks (the growth from the first block to the last is what
 * W2's bar is about) and the server's own time per call of `commit_flow` and `claim_flows`
 * (`track_functions`, self time: the PL/pgSQL function and the statements it runs). By default the
 * connections use `synchronous_commit = off`, so that the numbers are the server's work and not
 * the disk's; `--sync` keeps the server's setting.
 *
 *   node --conditions=source --import ./test/setup/register.mjs bench/durable/repro/pg-store-loop.ts \
 *     [--n 10000] [--block 1000] [--sync]
 *
 * @module
 */
import pg from "pg";
import type { Store } from "../../../src/core/store.js";
import { postgresStore } from "../../../src/store/postgres/index.js";
import { checkpointSnapshot } from "../dtasks.js";

const args = process.argv.slice(2);
const opt = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const N = opt("n", 10_000);
const BLOCK = opt("block", 1000);
const sync = args.includes("--sync");
const url = process.env.DTASKS_BENCH_PG ?? "postgres://postgres@127.0.0.1:5432/test";
const snapshot = String(await checkpointSnapshot());
const withCounter = (i: number) => `${snapshot.slice(0, -8)}${String(i).padStart(8, "0")}`;

async function serverTimes(
  pool: pg.Pool,
  schema: string,
): Promise<Map<string, { calls: number; self: number }>> {
  // Stats reach the shared view when a backend goes idle, at most once a second.
  await new Promise((r) => setTimeout(r, 1100));
  const { rows } = await pool.query<{ funcname: string; calls: string; self_time: number }>(
    "SELECT funcname, calls, self_time FROM pg_stat_user_functions WHERE schemaname = $1",
    [schema],
  );
  return new Map(rows.map((r) => [r.funcname, { calls: Number(r.calls), self: r.self_time }]));
}

async function withStore(tag: string, body: (store: Store) => Promise<number[]>) {
  const schema = `dtasks_bench_loop_${tag}_${process.pid}`;
  const pool = new pg.Pool({
    connectionString: url,
    max: 2,
    options: `-c track_functions=pl${sync ? "" : " -c synchronous_commit=off"}`,
  });
  pool.on("error", () => {});
  const store = postgresStore({ pool, schema });
  try {
    await store.countRecords();
    const before = await serverTimes(pool, schema);
    const blocks = await body(store);
    const after = await serverTimes(pool, schema);
    const server = [...after]
      .map(([name, a]) => {
        const b = before.get(name) ?? { calls: 0, self: 0 };
        const calls = a.calls - b.calls;
        return calls > 0 ? `${name} ${(((a.self - b.self) * 1000) / calls).toFixed(0)} µs × ${calls}` : "";
      })
      .filter(Boolean);
    const first = blocks[0]!;
    const last = blocks[blocks.length - 1]!;
    console.log(`${tag}: µs per iteration, blocks of ${BLOCK}: ${blocks.map((b) => b.toFixed(0)).join(" ")}`);
    console.log(
      `  last block / first block ${(last / first).toFixed(2)}×; server self time per call: ${server.join(", ")}`,
    );
  } finally {
    await store.close();
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await pool.end();
  }
}

const t0 = 1_800_000_000_000;
console.log(
  `PostgreSQL store loops, ${N} iterations, snapshot ${snapshot.length} B, synchronous_commit ${sync ? "as the server's" : "off"}`,
);

await withStore("checkpoint", async (store) => {
  const created = await store.createFlow({
    id: "f",
    rootFunctionId: "bench#checkpoint",
    snapshot,
    owner: "repro",
    leaseMs: 30_000,
    now: t0,
  });
  let revision = created.revision;
  const blocks: number[] = [];
  let began = performance.now();
  for (let i = 1; i <= N; i++) {
    const now = t0 + i;
    const r = await store.commit({
      flowId: "f",
      revision,
      leaseToken: created.lease.token,
      now,
      status: "suspended",
      snapshot: withCounter(i),
      runnableAt: now,
      keepLeaseMs: 30_000,
    });
    revision = r.revision;
    if (i % BLOCK === 0) {
      const t = performance.now();
      blocks.push(((t - began) * 1000) / BLOCK);
      began = t;
    }
  }
  return blocks;
});

await withStore("timers", async (store) => {
  const created = await store.createFlow({
    id: "f",
    rootFunctionId: "bench#timers",
    snapshot,
    owner: "repro",
    leaseMs: 30_000,
    now: t0,
  });
  let revision = created.revision;
  let token = created.lease.token;
  let events: string[] = [];
  const blocks: number[] = [];
  let began = performance.now();
  for (let i = 1; i <= N; i++) {
    const now = t0 + 2 * i;
    const r = await store.commit({
      flowId: "f",
      revision,
      leaseToken: token,
      now,
      status: "suspended",
      snapshot: withCounter(i),
      consumedEvents: events,
      addWaits: [{ kind: "timer", id: `d${i}`, dueAt: now + 1 }],
    });
    revision = r.revision;
    // As a worker does: nothing is due yet, so it asks when to wake up, then claims when it is due.
    if ((await store.nextWakeAt()) !== now + 1) throw new Error(`iteration ${i}: wrong wake-up`);
    const [claimed] = await store.claim({ owner: "repro", leaseMs: 30_000, limit: 8, now: now + 1 });
    if (claimed === undefined || claimed.events.length !== 1)
      throw new Error(`iteration ${i}: no timer event`);
    token = claimed.lease.token;
    events = claimed.events.map((e) => e.id);
    if (i % BLOCK === 0) {
      const t = performance.now();
      blocks.push(((t - began) * 1000) / BLOCK);
      began = t;
    }
  }
  return blocks;
});
