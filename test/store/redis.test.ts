/**
 * The Redis store against the real server on 127.0.0.1:6379 (CI starts it; a missing server fails
 * this file instead of skipping it). Every test runs under its own key prefix inside this run's
 * prefix, and the run's keys are deleted afterwards.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import { after, describe, it } from "node:test";
import { Redis } from "ioredis";
import { flowChannel, WORK_CHANNEL } from "../../src/core/store.js";
import { redisStore } from "../../src/store/redis/index.js";
import { rawRoundTrip } from "../../src/store/redis/raw.js";
import { LUA } from "../../src/store/redis/scripts.js";
import { claimAll, nextMessage, rejectsWith, suspended } from "./conformance/harness.js";
import { storeConformance } from "./conformance.js";
import { claimUntilIdle } from "./helpers/claim-loop.js";

const root = new URL("../..", import.meta.url).pathname;
const URL_ = process.env.DTASKS_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const RUN = `dtasks-test:${process.pid}-${randomBytes(4).toString("hex")}:`;

const admin = new Redis(URL_, { lazyConnect: true, maxRetriesPerRequest: 0 });
let unreachable: Error | undefined;
admin.on("error", (error: Error) => {
  unreachable ??= error;
});
try {
  await admin.connect();
  await admin.ping();
} catch (error) {
  admin.disconnect();
  throw new Error(
    `the Redis tests need a Redis 7 server at ${URL_} (start one with \`redis-server\`; CI always has one): ${String(unreachable ?? error)}`,
  );
}

async function keysUnder(prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await admin.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== "0");
  return found;
}

async function dropPrefix(prefix: string): Promise<void> {
  const keys = await keysUnder(prefix);
  for (let i = 0; i < keys.length; i += 500) await admin.del(...keys.slice(i, i + 500));
}

after(async () => {
  await dropPrefix(RUN);
  admin.disconnect();
});

let counter = 0;
function freshPrefix(): string {
  counter += 1;
  return `${RUN}${counter}:`;
}

storeConformance(
  "redis",
  () => {
    const prefix = freshPrefix();
    return {
      store: redisStore({ url: URL_, prefix }),
      connect: () => redisStore({ url: URL_, prefix }),
      dispose: () => dropPrefix(prefix),
    };
  },
  { connections: true },
);

describe("redisStore", () => {
  it("embeds scripts/*.lua verbatim", () => {
    const folder = new URL("../../src/store/redis/scripts/", import.meta.url);
    const files = readdirSync(folder).filter((f) => f.endsWith(".lua"));
    for (const file of files) {
      const name = file.slice(0, -4) as keyof typeof LUA;
      assert.equal(
        LUA[name],
        readFileSync(new URL(file, folder), "utf8"),
        `scripts.ts is stale: run \`node src/store/redis/scripts/embed.mjs\``,
      );
    }
    assert.deepEqual(Object.keys(LUA).sort(), [
      "cancel",
      "claim",
      "commit",
      "create",
      "deliver",
      "lib",
      "list",
      "release",
      "renew",
      "sweep",
      "wake",
    ]);
    // The scripts hard-code the store's channel names.
    assert.equal(WORK_CHANNEL, "work");
    assert.equal(flowChannel("x"), "flow:x");
  });

  it("keeps its keys under its prefix, in the documented families, and leaves none after a sweep", async () => {
    const prefix = freshPrefix();
    const store = redisStore({ url: URL_, prefix });
    try {
      const { id } = await suspended(store, {
        waits: [
          { kind: "callback", id: "cb-a" },
          { kind: "timer", id: "t", dueAt: 5 },
        ],
      });
      await store.deliver({ callbackId: "cb-a", kind: "resume", payload: "v", now: 1 });
      const names = (await keysUnder(prefix)).map((k) => k.slice(prefix.length)).sort();
      assert.deepEqual(
        names,
        [
          "cb:cb-a",
          `cbs:${id}`,
          "created",
          `events:${id}`,
          `evdata:${id}`,
          `flow:${id}`,
          "ready",
          "seq",
          "status:suspended",
          `timers:${id}`,
        ].sort(),
      );
      const counts = await store.countRecords();
      assert.deepEqual(counts, {
        flows: 1,
        callbacks: 1,
        timers: 1,
        events: 1,
        leases: 0,
        notifications: 0,
        eventFields: 2,
        callbackSets: 1,
        readyIndex: 1,
        leaseIndex: 0,
        expiryIndex: 0,
        createdIndex: 1,
        statusIndex: 1,
        eventSequence: 1,
        other: 0,
      });
      const [run] = await claimAll(store, 10);
      assert.equal((await store.countRecords()).leaseIndex, 1);
      await store.commit({
        flowId: id,
        revision: run!.revision,
        leaseToken: run!.lease.token,
        now: 11,
        status: "succeeded",
        result: "ok",
        retentionMs: 0,
      });
      assert.deepEqual(await store.sweep({ now: 11 }), { flows: 1 });
      assert.deepEqual(await keysUnder(prefix), [], "not one key left");

      // A key the store does not know is reported, not hidden.
      await admin.set(`${prefix}stray`, "1");
      assert.equal((await store.countRecords()).other, 1);
    } finally {
      await store.close();
      await dropPrefix(prefix);
    }
  });

  it("isolates stores with different prefixes on one server", async () => {
    const [p1, p2] = [freshPrefix(), freshPrefix()];
    const one = redisStore({ url: URL_, prefix: p1 });
    const two = redisStore({ url: URL_, prefix: p2 });
    try {
      await suspended(one, { id: "same-id", waits: [{ kind: "callback", id: "cb-same" }], runnableAt: 0 });
      assert.equal(await two.getFlow("same-id"), null);
      assert.equal(await two.getCallback("cb-same"), null);
      await rejectsWith(
        two.deliver({ callbackId: "cb-same", kind: "resume", payload: "x", now: 1 }),
        "DT502",
      );
      assert.deepEqual(await claimAll(two, 100), []);
      assert.equal(await two.nextWakeAt(), null);
      assert.deepEqual((await two.listFlows()).flows, []);
      assert.equal((await two.countRecords()).flows, 0);

      // The same ids live side by side.
      await suspended(two, { id: "same-id", waits: [{ kind: "callback", id: "cb-same" }] });
      await two.deliver({ callbackId: "cb-same", kind: "resume", payload: "two", now: 2 });
      assert.equal((await one.getCallback("cb-same"))?.state, "waiting");

      // Channels are namespaced too.
      const heardByTwo: string[] = [];
      await two.subscribe("ch", (m) => heardByTwo.push(m));
      const heardByOne = nextMessage(one, "ch");
      await heardByOne.subscribed;
      const oneAgain = redisStore({ url: URL_, prefix: p1 });
      await oneAgain.publish("ch", "for one");
      assert.equal(await heardByOne, "for one");
      await oneAgain.close();
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(heardByTwo, []);
    } finally {
      await one.close();
      await two.close();
      await dropPrefix(p1);
      await dropPrefix(p2);
    }
  });

  it("keeps times exact (fractional milliseconds) and payloads in their own form", async () => {
    const prefix = freshPrefix();
    const store = redisStore({ url: URL_, prefix });
    try {
      const now = 1_764_000_000_000.125;
      const bytes = new Uint8Array([0, 0x73, 0x62, 255, 10, 13]);
      const created = await store.createFlow({
        id: "exact",
        rootFunctionId: "r#f",
        snapshot: bytes,
        owner: "w",
        leaseMs: 0.5,
        now,
      });
      assert.equal(created.lease.expiresAt, now + 0.5);
      const flow = await store.getFlow("exact");
      assert.equal(flow?.createdAt, now);
      assert.equal(flow?.readyAt, now);
      assert.deepEqual(flow?.snapshot, bytes);
      await store.commit({
        flowId: "exact",
        revision: 0,
        leaseToken: created.lease.token,
        now: now + 0.25,
        status: "suspended",
        snapshot: "",
        result: "é ☃ \u0000 𝄞",
        addWaits: [{ kind: "timer", id: "t", dueAt: now + 0.375 }],
      });
      const back = await store.getFlow("exact");
      assert.equal(back?.snapshot, "", "an empty string is not null");
      assert.equal(back?.result, "é ☃ \u0000 𝄞");
      assert.equal(back?.readyAt, now + 0.375);
      assert.equal(await store.nextWakeAt(), now + 0.375);
      assert.deepEqual(await claimAll(store, now + 0.374), []);
      const [run] = await claimAll(store, now + 0.375);
      assert.equal(run?.events[0]?.at, now + 0.375);
    } finally {
      await store.close();
      await dropPrefix(prefix);
    }
  });

  it("handles a flow with thousands of waits and pending events in one script", {
    timeout: 60_000,
  }, async () => {
    const prefix = freshPrefix();
    const store = redisStore({ url: URL_, prefix });
    try {
      const n = 2_500;
      const waits = Array.from({ length: n }, (_, i) => ({ kind: "callback" as const, id: `cb-${i}` }));
      const { id } = await suspended(store, { waits });
      await Promise.all(
        waits.map((w, i) =>
          store.deliver({ callbackId: w.id, kind: "resume", payload: `v${i}`, now: n - i }),
        ),
      );
      const [run] = await claimAll(store, n);
      assert.equal(run?.events.length, n);
      assert.deepEqual(
        run!.events.map((e) => e.at),
        Array.from({ length: n }, (_, i) => i + 1),
        "in time order",
      );
      assert.equal(run!.events[0]!.payload, `v${n - 1}`);
      const done = await store.commit({
        flowId: id,
        revision: run!.revision,
        leaseToken: run!.lease.token,
        now: n + 1,
        status: "suspended",
        consumedEvents: run!.events.slice(0, n / 2).map((e) => e.id),
        removeWaits: waits.slice(0, n / 2).map((w) => w.id), // whose events are the later half
      });
      assert.equal(done.readyAt, null, "the rest went with their waits");
      assert.equal((await store.countRecords()).events, 0);
    } finally {
      await store.close();
      await dropPrefix(prefix);
    }
  });

  it("works on a given client (RESP2, with a keyPrefix of its own) and does not close it", async () => {
    const prefix = freshPrefix();
    const client = new Redis(URL_, {
      protocol: 2, // the store's own connections speak ioredis' default, RESP3
      keyPrefix: `${prefix}kp:`,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
    });
    const store = redisStore({ client, prefix: "app:" });
    try {
      const { id } = await suspended(store, { waits: [{ kind: "callback", id: "cb-given" }] });
      const done = nextMessage(store, flowChannel(id));
      await done.subscribed;
      await store.deliver({ callbackId: "cb-given", kind: "resume", payload: "v", now: 1 });
      const [run] = await claimAll(store, 2);
      await store.commit({
        flowId: id,
        revision: run!.revision,
        leaseToken: run!.lease.token,
        now: 3,
        status: "succeeded",
        consumedEvents: run!.events.map((e) => e.id),
      });
      assert.equal(await done, "succeeded");
      assert.ok((await keysUnder(`${prefix}kp:app:flow:`)).length === 1, "keys carry both prefixes");
      assert.equal((await store.countRecords()).flows, 1);
      assert.equal((await store.listFlows()).flows[0]?.id, id);
    } finally {
      await store.close();
    }
    assert.equal(client.status, "ready", "the given client stays open");
    assert.equal(await client.exists(`app:flow:placeholder`), 0);
    client.disconnect();
    await dropPrefix(prefix);
  });

  it("closes the connections it opened", async () => {
    const name = `dtasks-close-${randomBytes(4).toString("hex")}`;
    const store = redisStore({ url: URL_, prefix: freshPrefix(), redisOptions: { connectionName: name } });
    await store.subscribe("c", () => {});
    await store.getFlow("x");
    const open = async () =>
      String(await admin.client("LIST"))
        .split("\n")
        .filter((line) => line.includes(`name=${name}`)).length;
    assert.equal(await open(), 2, "a command connection and a subscriber connection");
    await store.close();
    await store.close();
    for (let i = 0; i < 50 && (await open()) > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(await open(), 0);
  });

  it("fails with DT402 (retryable, driver error as cause) when the server cannot be reached", async () => {
    // A port nobody listens on.
    const store = redisStore({ url: "redis://127.0.0.1:1", prefix: freshPrefix() });
    const started = Date.now();
    await assert.rejects(store.getFlow("x"), (e: { code?: string; message: string; cause?: unknown }) => {
      assert.equal(e.code, "DT402");
      assert.match(
        e.message,
        /redis store: getFlow failed: the connection to Redis was lost or could not be made/,
      );
      assert.match(e.message, /ECONNREFUSED/);
      assert.ok(e.cause);
      return true;
    });
    await rejectsWith(
      store.subscribe("c", () => {}),
      "DT402",
    );
    assert.ok(Date.now() - started < 5_000, "fails fast instead of queueing");
    await store.close();
  });

  it("keeps secrets out of sight and rejects bad options with DT404, naming the option", async () => {
    const { resolveRedisStoreOptions } = await import("../../src/store/redis/index.js");
    const resolved = resolveRedisStoreOptions({
      url: "redis://user:s3cret@127.0.0.1:6379",
      redisOptions: { password: "s3cret" },
    });
    assert.equal(resolved.url, "redis://user:s3cret@127.0.0.1:6379");
    assert.ok(!JSON.stringify(resolved).includes("s3cret"));
    assert.ok(!Object.keys(resolved).includes("url"));
    const store = redisStore({ url: "redis://user:s3cret@127.0.0.1:1", prefix: freshPrefix() });
    assert.ok(!JSON.stringify(store).includes("s3cret"));
    await store.close();

    const client = new Redis(URL_, { lazyConnect: true });
    const cases: [unknown, RegExp][] = [
      [{ urll: "redis://x" }, /unknown option 'urll'\. Did you mean 'url'\?/],
      [{ url: "http://user:pw@x" }, /option 'url' must be a redis:\/\/ or rediss:\/\/ URL$/],
      [{ url: 6379 }, /option 'url' must be a redis/],
      [{ prefix: "" }, /option 'prefix' must be a non-empty string/],
      [{ prefix: "x".repeat(101) }, /option 'prefix' must be at most 100 characters/],
      [{ client, url: URL_ }, /option 'client' cannot be given together with 'url'/],
      [{ client, redisOptions: {} }, /option 'redisOptions' cannot be given together with 'client'/],
      [{ client: {} }, /option 'client' must be an ioredis client/],
      [{ retention: "soon" }, /option 'retention' must be a duration/],
      [{ commandTimeout: 0 }, /option 'commandTimeout' must be at least 1 ms/],
      [{ redisOptions: [] }, /option 'redisOptions' must be an object/],
    ];
    for (const [options, message] of cases) {
      assert.throws(
        () => redisStore(options as any),
        (e: { code?: string; message: string }) => {
          assert.equal(e.code, "DT404", e.message);
          assert.match(e.message, message);
          assert.ok(!e.message.includes("pw@"), "never echoes a URL");
          return true;
        },
      );
    }
    client.disconnect();
  });

  it("measures a raw SET + GET round trip of the same bytes", async () => {
    const client = new Redis(URL_);
    const key = `${RUN}raw`;
    const bytes = new Uint8Array(1024).map((_, i) => i % 251);
    const ms = await rawRoundTrip(client, bytes, { key });
    assert.ok(ms > 0 && ms < 1_000);
    assert.deepEqual(new Uint8Array((await client.getBuffer(key))!), bytes);
    client.disconnect();
  });
});

describe("redisStore across processes", () => {
  /** A claiming worker in its own process: claims one flow at a time and finishes it, until idle. */
  const CLAIMER = `
    import { once } from "node:events";
    import { redisStore } from ${JSON.stringify(new URL("../../src/store/redis/index.ts", import.meta.url).pathname)};
    const [url, prefix, owner, nowText] = process.argv.slice(1);
    const now = Number(nowText);
    const store = redisStore({ url, prefix });
    await store.nextWakeAt(); // connected
    process.stdout.write("ready\\n");
    await once(process.stdin, "data");
    const claimed = [];
    for (let idle = 0; idle < 3; ) {
      const batch = await store.claim({ owner, leaseMs: 600_000, limit: 1, now });
      if (batch.length === 0) {
        idle += 1;
        await new Promise((resolve) => setTimeout(resolve, 5));
        continue;
      }
      idle = 0;
      for (const flow of batch) {
        claimed.push(flow.id);
        await store.commit({ flowId: flow.id, revision: flow.revision, leaseToken: flow.lease.token, now,
          status: "succeeded", result: owner });
      }
    }
    process.stdout.write(JSON.stringify(claimed) + "\\n");
    await store.close();
  `;

  function startClaimer(prefix: string, owner: string) {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", CLAIMER, URL_, prefix, owner, "1000"],
      { cwd: root, stdio: ["pipe", "pipe", "inherit"] },
    );
    let out = "";
    child.stdout.setEncoding("utf8");
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (chunk: string) => {
        out += chunk;
        if (out.startsWith("ready\n")) resolve();
      });
      child.once("exit", (code) => reject(new Error(`claimer exited early (${code})`)));
    });
    const result = ready.then(async () => {
      const [code] = (await once(child, "exit")) as [number | null];
      assert.equal(code, 0, `claimer exited with ${code}`);
      return JSON.parse(out.trim().split("\n").at(-1)!) as string[];
    });
    return { child, ready, result };
  }

  it("never grants one flow to two processes; completions reach the other process's listeners", {
    timeout: 60_000,
  }, async () => {
    const prefix = freshPrefix();
    const store = redisStore({ url: URL_, prefix });
    try {
      const total = 300;
      const ids: string[] = [];
      for (let i = 0; i < total; i++) ids.push((await suspended(store, { runnableAt: i % 10 })).id);
      const heard = new Map<string, string>();
      for (const flowId of ids) await store.subscribe(flowChannel(flowId), (m) => heard.set(flowId, m));

      const children = [startClaimer(prefix, "child-1"), startClaimer(prefix, "child-2")];
      await Promise.all(children.map((c) => c.ready));
      for (const c of children) c.child.stdin.end("go\n");

      const mine = await claimUntilIdle(store, "parent", 1_000);
      const theirs = await Promise.all(children.map((c) => c.result));
      const all = [...mine, ...theirs.flat()];
      assert.equal(all.length, total, `claimed ${all.length} times for ${total} flows`);
      assert.equal(new Set(all).size, total, "no flow claimed twice");
      assert.ok(
        theirs.every((list) => list.length > 0),
        "every process took part",
      );
      const owners = new Map<string, string>();
      for (const [n, list] of [mine, ...theirs].entries())
        for (const flowId of list) owners.set(flowId, ["parent", "child-1", "child-2"][n]!);
      for (const flowId of ids) {
        const flow = await store.getFlow(flowId);
        assert.equal(flow?.status, "succeeded");
        assert.equal(flow?.revision, 2, "finished by exactly one commit");
        assert.equal(flow?.result, owners.get(flowId), "finished by the one process that claimed it");
      }
      const deadline = Date.now() + 5_000;
      while (heard.size < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.equal(heard.size, total, "every completion was heard here, through Redis pub/sub");
      assert.ok([...heard.values()].every((m) => m === "succeeded"));
    } finally {
      await store.close();
      await dropPrefix(prefix);
    }
  });
});
