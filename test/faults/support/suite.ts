/**
 * The fault suite's driver, the same for every store: worker PROCESSES on a private server run
 * `total` flows (delays, child d-async calls, a yield, whenAll, whenAny with callbacks, timeouts and
 * races) while the driver SIGKILLs random workers again and again and crashes and restarts the
 * server once. Then it checks, from the store and from the logs the processes append to:
 *
 * - every flow finished with the result it must have, and no process was ever told that a commit
 *   finishing it succeeded twice (at most one acknowledged finishing commit per flow);
 * - every flow's last segment ran (its `done` side effect is logged, with the right result), at
 *   least once: segments cut short by a kill ran again, and are counted;
 * - every callback resumed by the driver was applied exactly once: a duplicate resume is DT503, a
 *   retried one after a lost reply too; a late resume of a callback that timed out is DT502;
 * - once retention has passed, `countRecords()` is zero in every family: nothing is left behind.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { createHost, DTaskError, type Host, type Store } from "dtasks";
import { openStore, parseStore } from "../../../src/cli/host/store.js";
import { type Child, spawnTs } from "../../host/children/spawn.js";
import { expectedJob, job, jobMode, resumeValue } from "./flows.js";
import { LogTail } from "./logs.js";
import type { PrivateServer } from "./servers.js";
import type { WorkerConfig } from "./worker.js";

const WORKER = join(import.meta.dirname, "worker.ts");

export interface FaultSuiteOptions {
  server: PrivateServer;
  /** The Redis prefix or PostgreSQL schema of this run. */
  namespace: string;
  /** Flows to run (≥ 1,000 for the suite). */
  total: number;
  /** Worker processes at once. */
  workers: number;
  /** Worker processes loaded and waiting to replace a killed one. */
  spares: number;
  /** SIGKILLs to deliver (≥ 20). */
  kills: number;
  /** Lease of the workers' runs, ms: how soon a killed worker's flows are taken over. */
  leaseMs: number;
  /** Retention of finished flows, ms. */
  retentionMs: number;
}

export interface FaultSuiteCounts {
  flows: number;
  kills: number;
  restarts: number;
  /** Second resumes of a callback, refused with DT503. */
  duplicatesRejected: number;
  /** Resumes retried after an error whose first attempt had been applied (DT503 on the retry). */
  appliedBeforeRetry: number;
  /** Late resumes of callbacks that had timed out, refused with DT502. */
  lateRejected: number;
  /** Final segments that ran more than once (cut short by a kill or an outage before their commit). */
  rerunFinalSegments: number;
  /** Commits and renewals refused because the lease or revision had been lost (fencing). */
  fenced: number;
  /** Store errors the workers reported (DT402: the server was down). */
  storeErrors: number;
  /**
   * Callback ids read from the stored snapshot because no process had announced them 10 s after the
   * flow started (the one that committed the wait died before its callback ran, or is very slow).
   */
  callbacksFromStore: number;
  seconds: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function code(error: unknown): string | undefined {
  return error instanceof DTaskError ? error.code : undefined;
}

export async function runFaultSuite(t: TestContext, options: FaultSuiteOptions): Promise<FaultSuiteCounts> {
  const { server, total } = options;
  const began = Date.now();
  const logDir = mkdtempSync(join(tmpdir(), `dtasks-faults-${server.name}-log-`));
  const children = new Set<Child>();
  let spec = "";
  let host: Host | undefined;
  let store: Store | undefined;
  let stopping = false;
  t.after(async () => {
    stopping = true;
    for (const child of children) child.process.kill("SIGKILL");
    await Promise.all([...children].map((child) => child.exited));
    await host?.close().catch(() => {});
    await server.destroy();
    rmSync(logDir, { recursive: true, force: true });
  });

  const problems: string[] = [];
  const problem = (text: string) => {
    if (problems.length < 50) problems.push(text);
  };
  /** Stop everything at the first problem: the assertions report it. */
  const aborted = () => problems.length > 0;

  // ---- what the logs say ----
  const finishes = new Map<string, number>();
  /** When the verifier first read a flow's finishing commit from the logs (its real time). */
  const finishSeenAt = new Map<string, number>();
  /** Flows the logs say have finished (a finishing commit, or the last segment's side effect). */
  const finishedHints = new Set<string>();
  const done = new Map<string, number[]>();
  const announced = new Map<string, string>();
  let fenced = 0;
  let storeErrors = 0;
  const resumeQueue: string[] = [];
  const tail = new LogTail(logDir, (line) => {
    if (line.fin !== undefined) {
      if (!finishSeenAt.has(line.fin)) finishSeenAt.set(line.fin, Date.now());
      finishes.set(line.fin, (finishes.get(line.fin) ?? 0) + 1);
      finishedHints.add(line.fin);
    } else if (line.lost !== undefined) {
      fenced++;
      if (process.env.DTASKS_FAULTS_DEBUG) console.error(`# ${JSON.stringify(line)}`);
    } else if (line.err !== undefined) {
      if (process.env.DTASKS_FAULTS_DEBUG) console.error(`# ${JSON.stringify(line)}`);
      if (line.err === "DT402") storeErrors++;
      else problem(`a worker reported ${line.err} during ${line.op}`);
    } else if (line.k !== undefined && line.e !== undefined) {
      if (line.e.startsWith("done ")) {
        const list = done.get(line.k) ?? [];
        list.push(Number(line.e.slice(5)));
        done.set(line.k, list);
        finishedHints.add(line.k);
      } else if (line.e.startsWith("callback ")) {
        const id = line.e.slice(9);
        const known = announced.get(line.k);
        if (known !== undefined && known !== id)
          problem(`${line.k} announced two callbacks: ${known}, ${id}`);
        if (known === undefined) {
          announced.set(line.k, id);
          if (jobMode(indexOf(line.k)) === "resume") resumeQueue.push(line.k);
        }
      }
    }
  });
  const indexOf = (key: string) => Number(key.slice(1));

  // ---- the server, the driver's host, the workers ----
  await server.start();
  spec = server.storeSpec(options.namespace);
  store = await openStore(parseStore(spec, process.cwd(), [])!, process.cwd(), { mustExist: false });
  const driverErrors: string[] = [];
  host = createHost({
    store,
    leaseDuration: options.leaseMs,
    onError: (error) => {
      if (process.env.DTASKS_FAULTS_DEBUG) console.error(`# driver: ${error.message}`);
      driverErrors.push(code(error) ?? error.message);
    },
  });

  const config: WorkerConfig = {
    store: spec,
    log: logDir,
    concurrency: 16,
    lease: options.leaseMs,
    poll: 300,
    sweep: 500,
    retention: options.retentionMs,
    retry: 50,
    maxRetry: 800,
  };
  /**
   * A worker process. `spare`s load everything and wait: when a worker is killed, a spare takes
   * its place at once (loading the code under the development loader takes seconds), and a new
   * spare starts loading.
   */
  interface Slot {
    child: Child;
    bootedAt: number | null;
    activeAt: number | null;
    killed: boolean;
  }
  const active: Slot[] = [];
  const spares: Slot[] = [];
  const spawnWorker = (spare: boolean): Slot => {
    const child = spawnTs(WORKER, [JSON.stringify({ ...config, spare })]);
    children.add(child);
    const slot: Slot = { child, bootedAt: null, activeAt: null, killed: false };
    child
      .waitFor((line) => line.booted !== undefined || line.ready !== undefined)
      .then(
        () => {
          slot.bootedAt = Date.now();
        },
        () => {},
      );
    child
      .waitFor((line) => line.ready !== undefined)
      .then(
        () => {
          slot.activeAt = Date.now();
        },
        () => {},
      );
    void child.exited.then(({ code: exit, signal }) => {
      if (!slot.killed && !stopping)
        problem(
          `worker ${child.process.pid} exited by itself (${exit ?? signal}): ${child.stderr().slice(-2000)}`,
        );
    });
    return slot;
  };
  for (let i = 0; i < options.workers; i++) active.push(spawnWorker(false));
  for (let i = 0; i < options.spares; i++) spares.push(spawnWorker(true));

  // ---- starting flows, paced by the kills so that kills always meet flows in flight ----
  let startTarget = Math.ceil(total / (options.kills + 1));
  let started = 0;
  const startedAt = new Map<string, number>();
  const starter = (async () => {
    const next = async (): Promise<void> => {
      while (started < total && !aborted()) {
        if (started >= startTarget) {
          await sleep(20);
          continue;
        }
        const i = started++;
        const key = `f${i}`;
        for (let attempt = 0; ; attempt++) {
          try {
            await host!.start(job(key, i, jobMode(i)), { id: key });
            break;
          } catch (error) {
            // Created by an attempt whose reply was lost: a worker runs it.
            if (attempt > 0 && code(error) === "DT406") break;
            if (code(error) !== "DT402" || attempt > 400) throw error;
            await sleep(50);
          }
        }
        startedAt.set(key, Date.now());
      }
    };
    await Promise.all([next(), next(), next(), next()]);
  })().catch((error) => problem(`starting flows failed: ${String(error)}`));

  // ---- the killer: SIGKILL a random ready worker, start a new one; crash the server once ----
  let kills = 0;
  let restarts = 0;
  const killer = (async () => {
    while (kills < options.kills && !aborted()) {
      await sleep(300 + Math.random() * 500);
      // A worker that has been running a little while (it holds leases), and a spare to replace it.
      const victims = active.filter((s) => s.activeAt !== null && Date.now() - s.activeAt > 500);
      const spare = spares.find((s) => s.bootedAt !== null);
      if (victims.length === 0 || spare === undefined) continue;
      const victim = victims[Math.floor(Math.random() * victims.length)]!;
      victim.killed = true;
      victim.child.process.kill("SIGKILL");
      await victim.child.exited;
      kills++;
      spares.splice(spares.indexOf(spare), 1);
      spare.child.process.stdin.write("go\n");
      active.splice(active.indexOf(victim), 1, spare);
      spares.push(spawnWorker(true));
      startTarget = Math.ceil((total * (kills + 1)) / (options.kills + 1));
      if (kills === Math.floor(options.kills / 2)) {
        // Not while the new worker's store opens (and migrates): a PostgreSQL connection lost
        // during the migration crashes the process (test/faults/postgres-migrate.test.ts).
        await spare.child.waitFor((line) => line.ready !== undefined);
        await sleep(1_000);
        await server.crash();
        await sleep(700); // timers come due, resumes and starts fail meanwhile
        await server.start();
        restarts++;
      }
    }
    startTarget = total;
  })().catch((error) => problem(`the killer failed: ${String(error)}`));

  // ---- the resumer: resume each announced callback once, then again (DT503 expected) ----
  let duplicatesRejected = 0;
  let appliedBeforeRetry = 0;
  const resumed = new Map<string, number>();
  const resumeOne = async (key: string): Promise<void> => {
    const callbackId = announced.get(key)!;
    const value = resumeValue(indexOf(key));
    for (let attempt = 0; ; attempt++) {
      try {
        await host!.resume(callbackId, value);
        break;
      } catch (error) {
        if (attempt > 0 && code(error) === "DT503") {
          appliedBeforeRetry++;
          break;
        }
        if (code(error) !== "DT402" || attempt > 400) throw error;
        await sleep(50);
      }
    }
    resumed.set(key, (resumed.get(key) ?? 0) + 1);
    for (let attempt = 0; ; attempt++) {
      try {
        await host!.resume(callbackId, value + 1);
        problem(`${key}: a second resume of ${callbackId} was accepted`);
        return;
      } catch (error) {
        if (code(error) === "DT503") {
          duplicatesRejected++;
          return;
        }
        if (code(error) !== "DT402" || attempt > 400) {
          problem(`${key}: a second resume failed with ${String(error)}`);
          return;
        }
        await sleep(50);
      }
    }
  };

  // ---- the verifier: read every finished flow from the store before its retention ends ----
  const verified = new Map<string, unknown>();
  let lateRejected = 0;
  let callbacksFromStore = 0;
  let lastListing = 0;
  const verifyRound = async (): Promise<void> => {
    const fresh = [...finishedHints].filter((id) => !verified.has(id));
    finishedHints.clear();
    try {
      await verify(fresh);
    } catch (error) {
      // The server is away: look at these again next round.
      for (const id of fresh) if (!verified.has(id)) finishedHints.add(id);
      lastListing = 0;
      throw error;
    }
  };
  const verify = async (fresh: string[]): Promise<void> => {
    // The logs miss a finish whose process died right after the commit: list them all, now and then.
    if (Date.now() - lastListing > 3_000) {
      lastListing = Date.now();
      let after: string | null = null;
      do {
        const page = await store!.listFlows({
          status: ["succeeded", "faulted", "canceled"],
          limit: 1000,
          after,
        });
        for (const flow of page.flows) if (!verified.has(flow.id)) fresh.push(flow.id);
        after = page.next;
      } while (after !== null);
    }
    const checking = new Set(fresh);
    for (const id of checking) {
      let info: Awaited<ReturnType<Host["get"]>>;
      try {
        info = await host!.get(id, { tasks: false });
      } catch (error) {
        if (code(error) !== "DT501") throw error;
        // Gone: deleted after its retention before this verifier read it, or lost. Say which.
        const seen = finishSeenAt.get(id);
        const lines = tail.lines.filter((l) => l.k === id || l.fin === id).map((l) => JSON.stringify(l));
        problem(
          `${id} is not in the store: ${seen === undefined ? "no finish logged" : `its finish was read from the logs ${Date.now() - seen} ms ago`}; logged: ${lines.join(" ")}`,
        );
        continue;
      }
      if (info.status === "suspended" || info.status === "running") continue; // a done effect before the commit
      const i = indexOf(id);
      if (info.status !== "succeeded") problem(`${id} ${info.status}: ${String(info.error)}`);
      else if (info.result !== expectedJob(i))
        problem(`${id} (${jobMode(i)}) returned ${String(info.result)}, expected ${expectedJob(i)}`);
      verified.set(id, info.result);
      const callbackId = announced.get(id);
      if (jobMode(i) === "timeout" && callbackId !== undefined) {
        try {
          await host!.resume(callbackId, 0);
          problem(`${id}: a resume after the timeout was accepted`);
        } catch (error) {
          if (code(error) === "DT502") lateRejected++;
          else if (code(error) !== "DT402") problem(`${id}: a late resume failed with ${String(error)}`);
        }
      }
    }
  };
  /** A callback whose announcing process died right after the commit: read it from the snapshot. */
  const findLostCallbacks = async (): Promise<void> => {
    const now = Date.now();
    for (const [key, at] of startedAt) {
      if (now - at < 10_000 || announced.has(key) || verified.has(key) || jobMode(indexOf(key)) !== "resume")
        continue;
      const record = await store!.getFlow(key);
      const snapshot = record?.snapshot;
      const text = typeof snapshot === "string" ? snapshot : snapshot ? Buffer.from(snapshot).toString() : "";
      const found = /"(cb_[A-Za-z0-9_-]+)"/.exec(text)?.[1];
      tail.poll(); // announced while the snapshot was read?
      if (found !== undefined && !announced.has(key)) {
        callbacksFromStore++;
        announced.set(key, found);
        resumeQueue.push(key);
      }
    }
  };

  /** The unfinished flows, as the store has them: why are they not done? */
  const describeStuck = async (): Promise<string> => {
    const lines: string[] = [];
    for (let i = 0; i < total && lines.length < 10; i++) {
      const id = `f${i}`;
      if (verified.has(id)) continue;
      const info = await host!.get(id).catch((error) => ({ error: String(error) }));
      const { tasks, ...rest } = info as { tasks?: { id: string; waitingOn: string | null }[] };
      lines.push(
        `${id} (${jobMode(i)}, callback ${announced.get(id) ?? "-"}, resumed ${resumed.get(id) ?? 0}): ` +
          `${JSON.stringify(rest)} waiting on ${JSON.stringify(tasks?.map((task) => `${task.id}: ${task.waitingOn}`))}`,
      );
    }
    return lines.join("\n");
  };

  const deadline = began + 420_000;
  let lastLostScan = 0;
  let lastDebug = 0;
  const resuming = new Set<Promise<void>>();
  let progressAt = Date.now();
  let progressCount = 0;
  while (verified.size < total) {
    if (verified.size !== progressCount) {
      progressCount = verified.size;
      progressAt = Date.now();
    }
    if (Date.now() - progressAt > 60_000 && startTarget === total && started === total) {
      problem(`no flow finished for a minute; stuck: ${await describeStuck()}`);
    }
    assert.ok(Date.now() < deadline, `flows still unfinished after 7 minutes: ${total - verified.size}`);
    if (aborted()) break;
    tail.poll();
    if (process.env.DTASKS_FAULTS_DEBUG && Date.now() - lastDebug > 2_000) {
      lastDebug = Date.now();
      const ready = active.filter((s) => s.activeAt !== null).length;
      console.error(
        `# ${Math.round((Date.now() - began) / 1000)}s started ${started}/${startTarget} verified ${verified.size} ` +
          `announced ${announced.size} resumed ${resumed.size} kills ${kills} restarts ${restarts} ready ${ready} ` +
          `fenced ${fenced} storeErrors ${storeErrors} driver ${driverErrors.length}`,
      );
    }
    while (resumeQueue.length > 0 && resuming.size < 8) {
      const key = resumeQueue.shift()!;
      const p = resumeOne(key)
        .catch((error) => problem(`${key}: resume failed: ${String(error)}`))
        .finally(() => resuming.delete(p));
      resuming.add(p);
    }
    try {
      await verifyRound();
      if (Date.now() - lastLostScan > 2_000) {
        lastLostScan = Date.now();
        await findLostCallbacks();
      }
    } catch (error) {
      if (code(error) !== "DT402") throw error;
    }
    await sleep(300);
  }
  await Promise.all([starter, killer, ...resuming]);
  assert.deepEqual(problems, [], "no problem seen");
  const finishedAt = Date.now();

  // ---- retention: every record of the run goes ----
  let counts: Record<string, number> = {};
  for (;;) {
    counts = { ...(await store.countRecords()) };
    if (Object.values(counts).every((n) => n === 0)) break;
    assert.ok(
      Date.now() - finishedAt < options.retentionMs + 30_000,
      `records left after retention: ${JSON.stringify(counts)}`,
    );
    await sleep(250);
  }

  // ---- the workers stop gracefully; the last lines are read ----
  stopping = true;
  for (const slot of [...active, ...spares]) slot.child.process.kill("SIGTERM");
  await Promise.all([...active, ...spares].map((slot) => slot.child.exited));
  tail.poll();

  assert.deepEqual(problems, [], "no problem seen");
  assert.equal(verified.size, total, "every flow finished");
  for (let i = 0; i < total; i++) {
    const key = `f${i}`;
    const results = done.get(key) ?? [];
    assert.ok(results.length >= 1, `${key}'s last segment ran`);
    assert.ok(
      results.every((r) => r === expectedJob(i)),
      `${key}: every run of the last segment computed ${expectedJob(i)} (${results.join(", ")})`,
    );
    assert.ok(
      (finishes.get(key) ?? 0) <= 1,
      `${key}: finished by one acknowledged commit, not ${finishes.get(key)}`,
    );
    if (jobMode(i) === "resume") assert.equal(resumed.get(key), 1, `${key}: its callback was resumed once`);
  }
  const resumeFlows = [...Array(total).keys()].filter((i) => jobMode(i) === "resume").length;
  assert.equal(duplicatesRejected, resumeFlows, "every duplicate resume was rejected with DT503");
  assert.ok(kills >= options.kills, `${kills} kills`);
  assert.equal(restarts, 1, "the server was restarted once");
  assert.ok(storeErrors > 0 || driverErrors.includes("DT402"), "the workers did see the outage");

  const rerunFinalSegments = [...done.values()].reduce((n, list) => n + list.length - 1, 0);
  return {
    flows: total,
    kills,
    restarts,
    duplicatesRejected,
    appliedBeforeRetry,
    lateRejected,
    rerunFinalSegments,
    fenced,
    storeErrors,
    callbacksFromStore,
    seconds: Math.round((Date.now() - began) / 100) / 10,
  };
}
