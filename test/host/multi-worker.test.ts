/**
 * Several worker PROCESSES on one store (SQLite file, Redis, PostgreSQL):
 * - each flow is run by one worker at a time (the runs of a flow never overlap in time, across
 *   processes), and the work is spread over the processes;
 * - a lease is renewed while a segment runs longer than the lease; a worker that lost its lease
 *   (SIGSTOPped past it, then SIGCONTed) finishes its segment in memory but is fenced: its commit
 *   is refused and the state written by the worker that took the flow over stands;
 * - SIGTERM stops a worker gracefully: a run that ends within the drain timeout commits, a longer
 *   one's lease is released at once (the flow is claimable immediately, not after the lease).
 *
 * The workers are `test/faults/support/worker.ts`; what they run logs to files this test reads.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createHost, type Host, type Store } from "dtasks";
import {
  type EngineName,
  type Namespace,
  namespace,
  requireServers,
  until,
} from "../faults/support/engines.js";
import * as flows from "../faults/support/flows.js";
import { type Logged, LogTail } from "../faults/support/logs.js";
import type { WorkerConfig } from "../faults/support/worker.js";
import { type Child, spawnTs } from "./children/spawn.js";

const WORKER = join(import.meta.dirname, "../faults/support/worker.ts");
const LEASE_MS = 1_000;

before(requireServers);

for (const engine of ["sqlite", "redis", "postgres"] as EngineName[]) {
  describe(`worker processes on ${engine}`, { timeout: 120_000 }, () => {
    let ns: Namespace;
    let store: Store;
    let host: Host;
    let logDir: string;
    let tail: LogTail;
    const workers: Child[] = [];

    before(async () => {
      ns = namespace(engine);
      logDir = mkdtempSync(join(tmpdir(), "dtasks-mw-log-"));
      tail = new LogTail(logDir);
      flows.setEffects(() => {}); // this process only starts flows
      const config: WorkerConfig = {
        store: ns.spec,
        log: logDir,
        lease: LEASE_MS,
        poll: 200,
        concurrency: 4,
        drain: 1_500,
      };
      for (let i = 0; i < 2; i++) workers.push(spawnTs(WORKER, [JSON.stringify(config)]));
      store = ns.open();
      host = createHost({ store, leaseDuration: LEASE_MS });
      await Promise.all(workers.map((w) => w.waitFor((line) => line.ready !== undefined)));
    });

    after(async () => {
      for (const worker of workers) {
        worker.process.kill("SIGCONT");
        worker.process.kill("SIGKILL");
      }
      await Promise.all(workers.map((w) => w.exited));
      await host?.close();
      await ns?.dispose();
      rmSync(logDir, { recursive: true, force: true });
    });

    /** Every line the workers logged so far. */
    const logged = (): Logged[] => {
      tail.poll();
      return tail.lines;
    };
    const effects = (key: string, what?: string): Logged[] =>
      logged().filter((l) => l.k === key && (what === undefined || l.e === what));

    test("each flow is run by one worker at a time; the work is spread over the processes", async (t) => {
      const steps = 3;
      const started = [];
      for (let i = 0; i < 30; i++) started.push(await host.start(flows.segments(`seg${i}`, steps, 10)));
      const results = await Promise.all(started.map((f) => f.result()));
      assert.deepEqual(
        results,
        started.map(() => steps),
      );
      tail.poll();
      const byPid = new Map<number, number>();
      let handoffs = 0;
      for (let i = 0; i < started.length; i++) {
        const key = `seg${i}`;
        // [enter, exit] of every run of every segment, in order of entry.
        const runs = effects(key)
          .filter((l) => l.e!.startsWith("enter") || l.e!.startsWith("exit"))
          .reduce<{ pid: number; from: number; to: number }[]>((list, l) => {
            if (l.e!.startsWith("enter")) list.push({ pid: l.pid, from: l.n!, to: Number.POSITIVE_INFINITY });
            else list.findLast((r) => r.pid === l.pid && r.to === Number.POSITIVE_INFINITY)!.to = l.n!;
            return list;
          }, [])
          .sort((a, b) => a.from - b.from);
        assert.equal(runs.length, steps, `${key}: each segment ran once (no crash here)`);
        for (let r = 1; r < runs.length; r++) {
          assert.ok(
            runs[r]!.from >= runs[r - 1]!.to,
            `${key}: segment ${r} started (${runs[r]!.from}) before the previous one ended (${runs[r - 1]!.to})`,
          );
          if (runs[r]!.pid !== runs[r - 1]!.pid) handoffs++;
        }
        for (const run of runs) byPid.set(run.pid, (byPid.get(run.pid) ?? 0) + 1);
      }
      const pids = workers.map((w) => w.process.pid!);
      for (const pid of pids) assert.ok((byPid.get(pid) ?? 0) > 0, `worker ${pid} ran segments`);
      t.diagnostic(
        `${engine}: segments per worker process ${JSON.stringify(Object.fromEntries(byPid))}, ${handoffs} hand-offs between processes`,
      );
    });

    test("a lease is renewed through a segment longer than the lease: nobody else takes the flow", async () => {
      const flow = await host.start(flows.slowStep("renewed", 3 * LEASE_MS));
      const pid = await flow.result();
      const starts = effects("renewed", "slow start");
      assert.equal(starts.length, 1, "the segment ran once: the lease was kept for three lease lengths");
      assert.equal(starts[0]!.pid, pid);
      assert.deepEqual(
        logged().filter((l) => l.lost === flow.id),
        [],
        "no renewal or commit of it was refused",
      );
    });

    if (engine !== "sqlite") {
      // (SQLite: a stopped process could hold the file's write lock; the SQLite crash tests are in process.test.ts.)
      test("a worker that lost its lease (stopped past it) is fenced: its commit is refused, the new owner's result stands", async () => {
        const flow = await host.start(flows.slowStep("fenced", 2 * LEASE_MS));
        await until(() => effects("fenced", "slow start").length === 1, "a worker to start the segment");
        const stale = workers.find((w) => w.process.pid === effects("fenced", "slow start")[0]!.pid)!;
        stale.process.kill("SIGSTOP");
        try {
          // The other worker takes the flow once the stopped one's lease has expired, and finishes it.
          const winner = await flow.result();
          assert.notEqual(winner, stale.process.pid);
          const record = await store.getFlow(flow.id);
          assert.equal(record!.status, "succeeded");
          assert.equal(record!.lease, null);
          stale.process.kill("SIGCONT");
          // The stale run wakes up, ends its segment in memory, and is refused.
          // It runs its segment to the end in memory, then its renewal or its commit is refused.
          await until(
            () => logged().some((l) => l.pid === stale.process.pid && l.lost === flow.id),
            "the stale worker to be refused",
          );
          await until(
            () => effects("fenced", "slow end").some((l) => l.pid === stale.process.pid),
            "the stale segment to end",
          );
          const after = await store.getFlow(flow.id);
          assert.equal(after!.revision, record!.revision, "nothing written after the new owner's commit");
          assert.equal(await host.flow(flow.id).result(), winner, "the new owner's result stands");
          assert.ok(
            !logged().some((l) => l.pid === stale.process.pid && l.fin === flow.id),
            "the stale worker was never told it finished the flow",
          );
        } finally {
          stale.process.kill("SIGCONT");
        }
      });
    }

    test("SIGTERM: a run that ends within the drain timeout commits; a longer one's lease is released at once", async () => {
      // One worker left, so that it holds both runs.
      const [first, second] = workers as [Child, Child];
      first.process.kill("SIGTERM");
      assert.deepEqual(await first.waitFor((l) => l.stopped !== undefined), { stopped: "stopped" });
      assert.equal((await first.exited).code, 0);

      const short = await host.start(flows.slowStep("short", 300));
      const long = await host.start(flows.slowStep("long", 60_000));
      await until(
        () => effects("short", "slow start").length > 0 && effects("long", "slow start").length > 0,
        "both segments to start",
      );
      second.process.kill("SIGTERM");
      assert.deepEqual(await second.waitFor((l) => l.stopped !== undefined), { stopped: "stopped" });
      assert.equal((await second.exited).code, 0);

      assert.equal(await short.result(), second.process.pid, "the short run committed before the exit");
      const record = await store.getFlow(long.id);
      assert.equal(record!.status, "suspended", "the long run wrote nothing");
      assert.equal(record!.lease, null, "its lease was released, not left to expire");
      const [claimed] = await store.claim({ owner: "test", leaseMs: 10_000, limit: 10, now: Date.now() });
      assert.equal(claimed?.id, long.id, "another worker can take it at once");
      await store.releaseLease({ flowId: long.id, token: claimed!.lease.token, now: Date.now() });
    });
  });
}
