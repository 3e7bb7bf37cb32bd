/**
 * What workers guarantee, on every store (SQLite file, Redis, PostgreSQL), with hosts in this
 * process standing for separate workers (each with its own store connection):
 * - backpressure: a worker never runs more than `concurrency` flows at once;
 * - fair claiming: flows that keep yielding do not starve a flow that becomes due;
 * - timers fire within a bounded delay of their due time, with polling off (notifications only);
 * - the store going away (Redis and PostgreSQL connections killed again and again) is survived:
 *   workers back off, carry on, and every flow finishes;
 * - retention: finished flows are deleted after the configured time with everything they own,
 *   counted with `countRecords()`; unfinished flows are kept.
 * The numbers measured are printed as test diagnostics.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { createHost, DTaskError, type Host, type Store } from "dtasks";
import { Redis } from "ioredis";
import pg from "pg";
import {
  type EngineName,
  type Namespace,
  namespace,
  POSTGRES_URL,
  percentile,
  REDIS_URL,
  requireServers,
  sleep,
  until,
} from "../faults/support/engines.js";
import * as flows from "../faults/support/flows.js";

before(requireServers);

/** Callback ids the flows announced, by flow key. */
const announced = new Map<string, string>();
flows.setEffects((effect) => {
  if (effect.e.startsWith("callback ")) announced.set(effect.k, effect.e.slice("callback ".length));
});

function code(error: unknown): string | undefined {
  return error instanceof DTaskError ? error.code : undefined;
}

for (const engine of ["sqlite", "redis", "postgres"] as EngineName[]) {
  describe(`workers on ${engine}`, { timeout: 120_000 }, () => {
    const opened: { hosts: Host[]; ns: Namespace[] } = { hosts: [], ns: [] };
    after(async () => {
      for (const host of opened.hosts) await host.close().catch(() => {});
      for (const ns of opened.ns) await ns.dispose();
    });
    /** A fresh namespace and `n` hosts on it, each with its own store connection. */
    const hosts = (n: number, options: { retention?: number; name?: string } = {}) => {
      const ns = namespace(engine);
      opened.ns.push(ns);
      const list: Host[] = [];
      const stores: Store[] = [];
      for (let i = 0; i < n; i++) {
        const store = ns.open(options);
        stores.push(store);
        const host = createHost({
          store,
          ...(options.retention === undefined ? {} : { retention: options.retention }),
          onError: () => {},
        });
        opened.hosts.push(host);
        list.push(host);
      }
      return { ns, hosts: list, stores };
    };

    test("backpressure: each worker runs at most `concurrency` flows at once", async (t) => {
      const [a, b] = hosts(2).hosts as [Host, Host];
      flows.resetConcurrency();
      const workers = [
        a.startWorker({ concurrency: 2, pollInterval: 100 }),
        b.startWorker({ concurrency: 2, pollInterval: 100 }),
      ];
      const seen = [0, 0];
      const sampler = setInterval(() => {
        for (const [i, w] of workers.entries()) seen[i] = Math.max(seen[i]!, w.active);
      }, 2);
      try {
        const started = [];
        for (let i = 0; i < 16; i++) started.push(await a.start(flows.busy(`busy${i}`, 150)));
        assert.deepEqual(
          await Promise.all(started.map((f) => f.result())),
          started.map(() => 150),
        );
      } finally {
        clearInterval(sampler);
        await Promise.all(workers.map((w) => w.stop()));
      }
      const { max } = flows.concurrencySeen();
      t.diagnostic(
        `${engine}: at most ${seen.join(" and ")} runs per worker, ${max} in this process at once`,
      );
      assert.ok(
        seen.every((n) => n <= 2),
        `never more than 2 per worker (${seen})`,
      );
      assert.ok(max <= 4, `never more than 2 × 2 in flight (${max})`);
      assert.equal(max, 4, "and both workers were full at some point");
    });

    test("fair claiming: flows that keep yielding do not starve flows that become due", async (t) => {
      const [host] = hosts(1).hosts as [Host];
      const worker = host.startWorker({ concurrency: 2, pollInterval: 100 });
      try {
        const hogs = [];
        for (let i = 0; i < 4; i++) hogs.push(await host.start(flows.hog(`hog${i}`, 1_000_000)));
        await sleep(300); // the hogs are running: every slot is busy with a flow that always has work
        const since = Date.now();
        const victims = [];
        for (let i = 0; i < 6; i++) victims.push(await host.start(flows.victim(`victim${i}`)));
        const waits = await Promise.all(victims.map((f) => f.result().then(() => Date.now() - since)));
        for (const hog of hogs) assert.equal(await hog.status(), "suspended", "the hogs were still going");
        t.diagnostic(
          `${engine}: 6 delayed flows among 4 endless yielders on 2 slots finished ${Math.min(...waits)}–${Math.max(...waits)} ms after they were started`,
        );
        assert.ok(Math.max(...waits) < 10_000, `every one got its turn within 10 s (${waits})`);
        for (const hog of hogs) await host.cancel(hog.id);
        for (const hog of hogs) await assert.rejects(hog.result(), { code: "DT210" });
      } finally {
        await worker.stop();
      }
    });

    test("fair claiming: a flow that keeps yielding beside a free slot runs on, and flows that become due take the free slot", async (t) => {
      const [host] = hosts(1).hosts as [Host];
      const worker = host.startWorker({ concurrency: 2, pollInterval: 100 });
      try {
        const hog = await host.start(flows.hog("lone-hog", 1_000_000));
        await sleep(300); // the hog runs on in its slot; the other slot is free
        const since = Date.now();
        const victims = [];
        for (let i = 0; i < 6; i++) victims.push(await host.start(flows.victim(`free-victim${i}`)));
        const waits = await Promise.all(victims.map((f) => f.result().then(() => Date.now() - since)));
        assert.equal(await hog.status(), "suspended", "the hog was still going");
        t.diagnostic(
          `${engine}: 6 delayed flows beside 1 endless yielder on 2 slots finished ${Math.min(...waits)}–${Math.max(...waits)} ms after they were started`,
        );
        assert.ok(Math.max(...waits) < 10_000, `every one got its turn within 10 s (${waits})`);
        await host.cancel(hog.id);
        await assert.rejects(hog.result(), { code: "DT210" });
      } finally {
        await worker.stop();
      }
    });

    test("timers fire within a bounded delay of their due time, woken by notifications (polling off)", async (t) => {
      const [starter, a, b] = hosts(3).hosts as [Host, Host, Host];
      const workers = [a, b].map((h) => h.startWorker({ concurrency: 8, pollInterval: "1h" }));
      try {
        const started = [];
        for (let i = 0; i < 40; i++)
          started.push(await starter.start(flows.timed(`timer${i}`, 150 + ((i * 37) % 1_400))));
        const lateness = (await Promise.all(started.map((f) => f.result()))) as number[];
        const p50 = percentile(lateness, 50);
        const p95 = percentile(lateness, 95);
        const max = Math.max(...lateness);
        t.diagnostic(
          `${engine}: 40 timers (150–1550 ms) fired late by p50 ${p50} ms, p95 ${p95} ms, max ${max} ms`,
        );
        assert.ok(
          lateness.every((ms) => ms >= 0),
          "never early",
        );
        assert.ok(max < 2_000, `every timer fired within 2 s of its due time (max ${max} ms)`);
      } finally {
        await Promise.all(workers.map((w) => w.stop()));
      }
    });

    if (engine !== "sqlite") {
      test("the store going away: connections killed again and again under load; workers back off and every flow finishes", async (t) => {
        const name = `dtasks-mw-drop-${randomBytes(4).toString("hex")}`;
        const errors: string[] = [];
        const ns = namespace(engine);
        opened.ns.push(ns);
        const store = ns.open({ name });
        const [starter, a, b] = [0, 1, 2].map((i) => {
          const host = createHost({
            store: i === 0 ? store : ns.open({ name }),
            leaseDuration: 2_000,
            onError: (error) => errors.push(code(error) ?? error.message),
          });
          opened.hosts.push(host);
          return host;
        }) as [Host, Host, Host];
        const workers = [a, b].map((h) =>
          h.startWorker({ concurrency: 8, pollInterval: 200, retryDelay: 20, maxRetryDelay: 300 }),
        );
        const drop = await connectionKiller(engine, name);
        try {
          const total = 40;
          const started = [];
          for (let i = 0; i < total; i++) {
            const mode = i % 2 === 0 ? "race" : "timeout";
            started.push(await starter.start(flows.job(`drop${i}`, i, mode), { id: `drop${i}` }));
          }
          let kills = 0;
          const until_ = Date.now() + 3_000;
          while (Date.now() < until_) {
            kills += await drop();
            await sleep(150);
          }
          for (const [i, flow] of started.entries()) {
            const mode = i % 2 === 0 ? "race" : "timeout";
            assert.equal(await settled(() => flow.result()), flows.expectedJob(i, mode), flow.id);
          }
          const counts = await settled(() => store.countRecords());
          assert.equal(counts.leases, 0, "no lease left");
          assert.equal(counts.events, 0, "no event left");
          t.diagnostic(
            `${engine}: ${kills} connections killed; ${errors.filter((e) => e === "DT402").length} store errors reported and retried`,
          );
          assert.ok(kills >= 10, `connections were killed (${kills})`);
        } finally {
          await Promise.all(workers.map((w) => w.stop()));
          await drop.close();
        }
      });
    }

    test("retention: finished flows go after the retention time with all they own; unfinished ones stay", async (t) => {
      const retention = 800;
      const opened1 = hosts(1, { retention });
      const { ns } = opened1;
      const host = opened1.hosts[0]!;
      const store = opened1.stores[0]!;
      const worker = host.startWorker({ concurrency: 8, pollInterval: 100, sweepInterval: 100 });
      try {
        const key = (k: string) => `${ns.engine}-${k}`;
        const approved = await host.start(flows.approve(key("approved")));
        const answered = await host.start(flows.leftovers(key("answered"), false));
        const failed = await host.start(flows.leftovers(key("failed"), true));
        const canceled = await host.start(flows.approve(key("canceled")));
        const kept = await host.start(flows.approve(key("kept")));
        await until(
          () => ["approved", "answered", "failed", "kept"].every((k) => announced.has(key(k))),
          "the callbacks",
        );
        await host.resume(announced.get(key("approved"))!, "ada");
        await assert.rejects(host.resume(announced.get(key("approved"))!, "again"), { code: "DT503" });
        await host.resume(announced.get(key("answered"))!, "yes");
        await host.resume(announced.get(key("failed"))!, "no");
        await host.cancel(canceled.id);
        assert.equal(await approved.result(), "approved by ada");
        assert.equal(await answered.result(), "yes");
        await assert.rejects(failed.result(), /failed on purpose/);
        await assert.rejects(canceled.result(), { code: "DT210" });
        const finishedAt = Date.now();
        const during = await store.countRecords();
        assert.ok(during.flows >= 2, "finished flows are kept during their retention");

        // After the retention, a sweep deletes the four finished flows with all they own.
        await until(async () => (await store.countRecords()).flows === 1, "the sweep", 20_000);
        const gone = Date.now() - finishedAt;
        const left = await store.countRecords();
        assert.deepEqual(
          {
            flows: left.flows,
            callbacks: left.callbacks,
            timers: left.timers,
            events: left.events,
            leases: left.leases,
          },
          { flows: 1, callbacks: 1, timers: 0, events: 0, leases: 0 },
          "only the unfinished flow and its callback are left",
        );
        assert.equal((await host.get(kept.id)).status, "suspended");
        await assert.rejects(host.get(approved.id), { code: "DT501" });
        await assert.rejects(host.resume(announced.get(key("approved"))!, "late"), { code: "DT502" });

        // Once the last one finishes and its retention passes, nothing at all is left.
        await host.resume(announced.get(key("kept"))!, "grace");
        assert.equal(await kept.result(), "approved by grace");
        await until(
          async () => Object.values(await store.countRecords()).every((n) => n === 0),
          "every record to go",
          20_000,
        );
        t.diagnostic(
          `${engine}: finished flows gone ${gone} ms after they finished (retention ${retention} ms, sweeps every 100 ms); then every count 0: ${JSON.stringify(await store.countRecords())}`,
        );
      } finally {
        await worker.stop();
      }
    });
  });
}

/** Retries a call while the store is away (DT402). */
async function settled<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (code(error) !== "DT402" || attempt > 200) throw error;
      await sleep(50);
    }
  }
}

/**
 * Kills the server connections of the stores tagged `name` (and only those: other tests share the
 * server): Redis `CLIENT KILL`, PostgreSQL `pg_terminate_backend`. Returns how many it killed.
 */
async function connectionKiller(
  engine: EngineName,
  name: string,
): Promise<(() => Promise<number>) & { close(): Promise<void> }> {
  if (engine === "redis") {
    const admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 0 });
    const kill = async () => {
      const list = String(await admin.client("LIST"));
      const ids = list
        .split("\n")
        .filter((line) => line.includes(` name=${name} `))
        .map((line) => /(?:^|\s)id=(\d+)/.exec(line)![1]!);
      for (const id of ids) await admin.client("KILL", "ID", id).catch(() => {});
      return ids.length;
    };
    return Object.assign(kill, { close: async () => admin.disconnect() });
  }
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  const kill = async () => {
    const { rows } = await admin.query<{ ok: boolean }>(
      "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()",
      [name],
    );
    return rows.filter((r) => r.ok).length;
  };
  return Object.assign(kill, { close: () => admin.end() });
}
