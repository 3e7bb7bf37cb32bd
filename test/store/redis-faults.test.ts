/**
 * Faults, against a private redis-server started by this file (the shared server on 6379 is left
 * alone: these tests pause, kill and restart theirs). The server runs with appendonly and
 * appendfsync always, so that a write it acknowledged survives a crash of the server.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { createHost } from "dtasks";
import { Redis } from "ioredis";
import type { DTaskError } from "../../src/core/errors.js";
import { flowChannel, type Store, WORK_CHANNEL } from "../../src/core/store.js";
import { redisStore } from "../../src/store/redis/index.js";
import { PrivateRedis } from "../faults/support/servers.js";
import * as flows from "../host/flows.js";
import { claimAll, rejectsWith, suspended } from "./conformance/harness.js";

const server = new PrivateRedis();
let admin: Redis;
let url = "";

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

before(async () => {
  await server.start();
  url = server.url;
  admin = new Redis(url, { maxRetriesPerRequest: 0 });
  admin.on("error", () => {});
});

after(async () => {
  admin?.disconnect();
  await server.destroy();
});

let counter = 0;
function prefix(): string {
  counter += 1;
  return `faults:${counter}:`;
}

/** The ids of the server's clients named `name`. */
async function clientIds(name: string): Promise<string[]> {
  const list = String(await admin.client("LIST"));
  return list
    .split("\n")
    .filter((line) => line.includes(` name=${name} `))
    .map((line) => /(?:^|\s)id=(\d+)/.exec(line)![1]!);
}

function isRetryable(error: unknown): boolean {
  return (error as DTaskError)?.code === "DT402";
}

/** Calls until the call does not fail retryably (DT402). */
async function settled<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isRetryable(error) || attempt > 200) throw error;
      await sleep(10);
    }
  }
}

describe("redisStore faults", () => {
  it("fails an operation in flight when its connection is killed, at once (DT402), having written nothing; the next call works", async () => {
    const name = `inflight-${randomBytes(4).toString("hex")}`;
    const store = redisStore({ url, prefix: prefix(), redisOptions: { connectionName: name } });
    try {
      const { id } = await suspended(store, { runnableAt: 0 });
      const [run] = await claimAll(store, 1);
      const [connection] = await clientIds(name);
      assert.ok(connection, "the store's command connection");

      // The server holds every script while paused: the commit is sent, and stays in flight.
      await admin.client("PAUSE", 10_000, "WRITE");
      const started = Date.now();
      const commit = store.commit({
        flowId: id,
        revision: run!.revision,
        leaseToken: run!.lease.token,
        now: 2,
        status: "succeeded",
        result: "first try",
      });
      const failed = rejectsWith(
        commit,
        "DT402",
        /connection to Redis was lost.*may or may not have taken effect/s,
      );
      await sleep(100);
      await admin.client("KILL", "ID", connection);
      await failed;
      assert.ok(Date.now() - started < 2_000, "failed at once, not when the pause ended");
      await admin.client("UNPAUSE");

      const flow = await store.getFlow(id);
      assert.equal(flow?.revision, run!.revision, "the killed commit was never run");
      assert.equal(flow?.status, "suspended");
      const retried = await store.commit({
        flowId: id,
        revision: run!.revision,
        leaseToken: run!.lease.token,
        now: 3,
        status: "succeeded",
        result: "retry",
      });
      assert.equal(retried.revision, run!.revision + 1);
      assert.equal((await store.getFlow(id))?.result, "retry");
    } finally {
      await admin.client("UNPAUSE").catch(() => {});
      await store.close();
    }
  });

  it("refuses a write when the server is out of memory, before the script's first write (DT402); reads still work", async () => {
    const store = redisStore({ url, prefix: prefix() });
    try {
      const { id } = await suspended(store, { runnableAt: 0 });
      const [run] = await claimAll(store, 1);
      await admin.config("SET", "maxmemory", "1");
      try {
        await rejectsWith(
          store.commit({
            flowId: id,
            revision: run!.revision,
            leaseToken: run!.lease.token,
            now: 2,
            status: "suspended",
            addWaits: [{ kind: "callback", id: "cb-oom" }],
          }),
          "DT402",
          /OOM/,
        );
        const flow = await store.getFlow(id);
        assert.equal(flow?.revision, run!.revision, "nothing written");
        assert.equal(await store.getCallback("cb-oom"), null);
        assert.equal(await store.nextWakeAt(), run!.lease.expiresAt, "a read-only script still runs");
      } finally {
        await admin.config("SET", "maxmemory", "0");
      }
      await store.commit({
        flowId: id,
        revision: run!.revision,
        leaseToken: run!.lease.token,
        now: 2,
        status: "suspended",
        addWaits: [{ kind: "callback", id: "cb-oom" }],
      });
    } finally {
      await store.close();
    }
  });

  it("survives connections killed again and again under load: every run's commit applied once, every delivery applied once", {
    timeout: 120_000,
  }, async () => {
    const p = prefix();
    const stores = [0, 1, 2].map(() =>
      redisStore({ url, prefix: p, redisOptions: { retryStrategy: () => 5 + Math.random() * 20 } }),
    );
    const [first] = stores as [Store, ...Store[]];
    const total = 300;
    const ids: string[] = [];
    for (let i = 0; i < total; i++) {
      ids.push((await suspended(first, { waits: [{ kind: "callback", id: `cb-${i}` }] })).id);
    }
    let kills = 0;
    let stop = false;
    // Every 10–30 ms: on a quiet machine the whole workload takes well under a second, and it must
    // still meet at least 20 kills.
    const killer = (async () => {
      while (!stop) {
        await sleep(10 + Math.random() * 20);
        await admin.call("CLIENT", "KILL", "TYPE", "normal"); // SKIPME yes: not this admin connection
        kills += 1;
      }
    })();

    // Deliver every callback through the storm, retrying what failed retryably. DT503 on a retry
    // means the first attempt had been applied: exactly one delivery per callback either way.
    let ambiguous = 0;
    await Promise.all(
      ids.map(async (_, i) => {
        const store = stores[i % stores.length]!;
        for (let attempt = 0; ; attempt++) {
          try {
            await store.deliver({ callbackId: `cb-${i}`, kind: "resume", payload: `v${i}`, now: 10 });
            return;
          } catch (error) {
            if (attempt > 0 && (error as DTaskError).code === "DT503") {
              ambiguous += 1;
              return;
            }
            if (!isRetryable(error)) throw error;
            await sleep(5);
          }
        }
      }),
    );

    // Workers on a shared virtual clock, which moves on when nobody finds work, so that leases taken
    // by claims whose reply was lost run out and their flows are claimed again.
    let now = 20;
    const finishedBy = new Map<string, string>();
    const problems: string[] = [];
    const worker = async (store: Store, name: string) => {
      for (let idle = 0; finishedBy.size < total && idle < 2_000; ) {
        let batch: Awaited<ReturnType<Store["claim"]>>;
        try {
          batch = await store.claim({ owner: name, leaseMs: 500, limit: 3, now });
        } catch (error) {
          if (!isRetryable(error)) throw error;
          await sleep(5);
          continue;
        }
        if (batch.length === 0) {
          idle += 1;
          now += 100;
          await sleep(2);
          continue;
        }
        idle = 0;
        for (const run of batch) {
          // Two runs per flow: the first applies the delivery and sleeps on a timer, the second
          // finishes. Each must see exactly its one event.
          const kinds = run.events.map((e) => e.kind).join(",");
          const first = kinds === "resume";
          if (first ? run.events[0]!.payload !== `v${ids.indexOf(run.id)}` : kinds !== "timer") {
            problems.push(`${run.id}: ${JSON.stringify(run.events)}`);
          }
          for (let attempt = 0; ; attempt++) {
            try {
              await store.commit({
                flowId: run.id,
                revision: run.revision,
                leaseToken: run.lease.token,
                now,
                consumedEvents: run.events.map((e) => e.id),
                ...(first
                  ? { status: "suspended", addWaits: [{ kind: "timer", id: "t", dueAt: now + 1 }] }
                  : { status: "succeeded", result: name }),
              });
              if (!first) finishedBy.set(run.id, name);
              break;
            } catch (error) {
              if ((error as DTaskError).code === "DT401") {
                // Applied before its reply was lost, or the lease ran out and another run has it.
                const flow = await settled(() => store.getFlow(run.id));
                if (!first && attempt > 0 && flow?.status === "succeeded" && flow.result === name) {
                  finishedBy.set(run.id, name);
                }
                break;
              }
              if (!isRetryable(error)) throw error;
              await sleep(5);
            }
          }
        }
      }
    };
    await Promise.all(stores.map((store, n) => worker(store, `w${n}`)));
    stop = true;
    await killer;
    // The last kill may still be on its way to the clients: read back with retries.

    try {
      assert.deepEqual(problems, [], "every run saw its one delivery, once");
      assert.ok(kills >= 20, `the connections were killed ${kills} times`);
      for (const flowId of ids) {
        const flow = await settled(() => first.getFlow(flowId));
        assert.equal(flow?.status, "succeeded", `${flowId} finished`);
        assert.equal(flow?.revision, 3, "after exactly two commits: no run's outcome applied twice");
        assert.equal(flow?.result, finishedBy.get(flowId), "and the worker that believes it finished it did");
      }
      const counts = await settled(() => first.countRecords());
      assert.equal(counts.events, 0, "no event left");
      assert.equal(counts.leases, 0, "no lease left");
      for (let i = 0; i < total; i++) {
        await rejectsWith(
          settled(() => first.deliver({ callbackId: `cb-${i}`, kind: "resume", payload: "again", now: 1e6 })),
          "DT503",
        );
      }
      console.log(`# ${kills} kills; ${ambiguous} deliveries applied before their reply was lost`);
    } finally {
      for (const store of stores) await store.close();
    }
  });

  it("survives a crash and restart of the server: fails fast while it is down, loses nothing acknowledged, resubscribes", {
    timeout: 60_000,
  }, async () => {
    const p = prefix();
    const store = redisStore({ url, prefix: p });
    const other = redisStore({ url, prefix: p });
    try {
      const a = await suspended(store, {
        waits: [
          { kind: "callback", id: "cb-acked" },
          { kind: "callback", id: "cb-later" },
          { kind: "timer", id: "t", dueAt: 500 },
        ],
      });
      await store.deliver({
        callbackId: "cb-acked",
        kind: "resume",
        payload: new Uint8Array([1, 2, 3]),
        now: 5,
      });
      const work: string[] = [];
      await store.subscribe(WORK_CHANNEL, (m) => work.push(m));
      const finished: string[] = [];
      await store.subscribe(flowChannel(a.id), (m) => finished.push(m));

      await server.crash();
      const started = Date.now();
      await rejectsWith(store.getFlow(a.id), "DT402");
      await rejectsWith(store.claim({ owner: "w", leaseMs: 100, limit: 5, now: 6 }), "DT402");
      await rejectsWith(store.publish("x", "y"), "DT402");
      assert.ok(Date.now() - started < 10_000, `failed fast while down (${Date.now() - started} ms)`);

      await server.start();
      // ioredis reconnects with back-off: calls fail retryably until it has.
      let flow = null;
      for (let i = 0; flow === null; i++) {
        try {
          flow = await store.getFlow(a.id);
        } catch (error) {
          assert.ok(isRetryable(error), String(error));
          assert.ok(i < 400, "the store came back");
          await sleep(25);
        }
      }
      assert.equal(flow?.status, "suspended");
      assert.equal(
        (await store.getCallback("cb-acked"))?.state,
        "delivered",
        "the acknowledged delivery survived",
      );
      await rejectsWith(
        store.deliver({ callbackId: "cb-acked", kind: "resume", payload: "dup", now: 7 }),
        "DT503",
      );

      // The subscriber connection came back too: a wake-up for idle workers, then live messages.
      for (let i = 0; !work.includes("0") && i < 400; i++) await sleep(10);
      assert.ok(work.includes("0"), "idle workers are told to look for work after the reconnection");
      await other.deliver({ callbackId: "cb-later", kind: "resume", payload: "x", now: 8 });
      const [run] = await claimAll(store, 9);
      assert.deepEqual(
        run?.events.map((e) => [e.waitId, e.payload]),
        [
          ["cb-acked", new Uint8Array([1, 2, 3])],
          ["cb-later", "x"],
        ],
      );
      for (let i = 0; !work.includes("5") && i < 200; i++) await sleep(10);
      assert.ok(work.includes("5"), `heard the other connection's work message (${work.join(",")})`);
      await other.commit({
        flowId: a.id,
        revision: run!.revision,
        leaseToken: run!.lease.token,
        now: 10,
        status: "succeeded",
        consumedEvents: run!.events.map((e) => e.id),
      });
      for (let i = 0; finished.length === 0 && i < 200; i++) await sleep(10);
      assert.deepEqual(finished, ["succeeded"]);
    } finally {
      await store.close();
      await other.close();
    }
  });
  it("two hosts' workers carry on through a server crash and restart: every flow finishes with its result", {
    timeout: 60_000,
  }, async () => {
    flows.reset();
    const p = prefix();
    const errors: string[] = [];
    const stores = [0, 1].map(() => redisStore({ url, prefix: p }));
    const hosts = stores.map((store) =>
      createHost({
        store,
        onError: (error) => errors.push((error as DTaskError).code ?? error.message),
      }),
    );
    const workers = hosts.map((host) =>
      host.startWorker({ concurrency: 8, pollInterval: 200, retryDelay: 20, maxRetryDelay: 300 }),
    );
    const [starter] = hosts as [(typeof hosts)[number], ...typeof hosts];
    try {
      const delayed = [];
      const waiting = [];
      for (let i = 0; i < 40; i++) delayed.push(await starter.start(flows.delays(`d${i}`, "300ms")));
      for (let i = 0; i < 40; i++) waiting.push(await starter.start(flows.waitsForCallback(`c${i}`)));
      await sleep(100);
      await server.crash();
      await sleep(700); // the delays come due while the server is down
      await server.start();

      for (let i = 0; i < 40; i++) {
        for (let n = 0; (flows.callbacks.get(`c${i}`) ?? []).length === 0; n++) {
          assert.ok(n < 500, `flow c${i} announced its callback`);
          await sleep(10);
        }
        const [callbackId] = flows.callbacks.get(`c${i}`)!;
        await settled(() => starter.resume(callbackId!, `value ${i}`));
      }
      for (const [i, flow] of delayed.entries())
        assert.equal(await settled(() => flow.result()), 42, `d${i}`);
      for (const [i, flow] of waiting.entries()) {
        assert.equal(await settled(() => flow.result()), `value ${i}`, `c${i}`);
      }
      const page = await settled(() => stores[0]!.listFlows({ limit: 1000 }));
      assert.equal(page.flows.length, 80);
      assert.ok(page.flows.every((f) => f.status === "succeeded"));
      assert.ok(errors.includes("DT402"), "the workers did see the outage");
    } finally {
      for (const worker of workers) await worker.stop();
      for (const host of hosts) await host.close();
    }
  });
});
