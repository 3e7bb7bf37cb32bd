import assert from "node:assert/strict";
import { type ChildProcessByStdio, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { flowChannel } from "../../src/core/store.js";
import { sqliteStore } from "../../src/store/sqlite/index.js";
import { SCHEMA_V1 } from "../../src/store/sqlite/schema.js";
import { rejectsWith, suspended } from "./conformance/harness.js";
import { storeConformance } from "./conformance.js";
import { claimUntilIdle } from "./helpers/claim-loop.js";

const root = new URL("../..", import.meta.url).pathname;
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "dtasks-sqlite-"));
  dirs.push(dir);
  return dir;
}

storeConformance(
  "sqlite",
  () => {
    const dir = tempDir();
    const path = join(dir, "state.db");
    return {
      store: sqliteStore({ path, pollInterval: 5 }),
      connect: () => sqliteStore({ path, pollInterval: 5 }),
      dispose: () => rmSync(dir, { recursive: true, force: true }),
    };
  },
  { connections: true },
);

describe("sqliteStore", () => {
  it("embeds schema.sql verbatim", () => {
    const file = readFileSync(new URL("../../src/store/sqlite/schema.sql", import.meta.url), "utf8");
    assert.equal(SCHEMA_V1, file, "copy src/store/sqlite/schema.sql into schema.ts");
  });

  it("creates the directory, WAL, synchronous FULL, busy_timeout and schema version 1", async () => {
    const path = join(tempDir(), "nested", "deeper", "state.db");
    const store = sqliteStore({ path });
    await store.close();
    const db = new Database(path, { readonly: true });
    try {
      assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
      assert.equal(db.pragma("user_version", { simple: true }), 1);
      const tables = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .pluck()
        .all();
      assert.deepEqual(tables, [
        "callbacks",
        "events",
        "flows",
        "notifications",
        "sqlite_sequence",
        "timers",
      ]);
    } finally {
      db.close();
    }
    const given = new Database(join(tempDir(), "x.db"));
    const onGiven = sqliteStore({ database: given, synchronous: "normal", busyTimeout: "2s" });
    assert.equal(given.pragma("synchronous", { simple: true }), 1, "NORMAL");
    assert.equal(given.pragma("busy_timeout", { simple: true }), 2_000);
    await onGiven.close();
    const byDefault = sqliteStore({ database: given });
    assert.equal(given.pragma("synchronous", { simple: true }), 2, "FULL by default");
    assert.equal(given.pragma("busy_timeout", { simple: true }), 5_000);
    await byDefault.close();
    given.close();
  });

  it("keeps everything across close and reopen", async () => {
    const path = join(tempDir(), "state.db");
    const first = sqliteStore({ path });
    const { id } = await suspended(first, { waits: [{ kind: "callback", id: "cb-durable" }] });
    await first.deliver({
      callbackId: "cb-durable",
      kind: "resume",
      payload: new Uint8Array([1, 2]),
      now: 5,
    });
    await first.close();

    const second = sqliteStore({ path });
    const [claimed] = await second.claim({ owner: "w2", leaseMs: 100, limit: 5, now: 6 });
    assert.equal(claimed?.id, id);
    assert.deepEqual([...(claimed!.events[0]!.payload as Uint8Array)], [1, 2]);
    await rejectsWith(
      second.deliver({ callbackId: "cb-durable", kind: "resume", payload: "x", now: 7 }),
      "DT503",
    );
    await second.close();
  });

  it("works on a private in-memory database", async () => {
    const store = sqliteStore({ path: ":memory:" });
    await suspended(store, { runnableAt: 0 });
    assert.equal((await store.claim({ owner: "w", leaseMs: 10, limit: 5, now: 0 })).length, 1);
    await store.close();
  });

  it("refuses a database written by a newer dtasks (DT407) and leaves it alone", () => {
    const path = join(tempDir(), "future.db");
    const db = new Database(path);
    db.pragma("user_version = 99");
    db.exec("CREATE TABLE future (x)");
    db.close();
    assert.throws(
      () => sqliteStore({ path }),
      (e: { code?: string; message: string }) => {
        assert.equal(e.code, "DT407");
        assert.match(e.message, /schema version 99/);
        return true;
      },
    );
    const check = new Database(path, { readonly: true });
    assert.equal(check.pragma("user_version", { simple: true }), 99);
    assert.equal(check.prepare("SELECT COUNT(*) FROM sqlite_master WHERE name = 'flows'").pluck().get(), 0);
    check.close();
  });

  it("does not close a connection it was given", async () => {
    const db = new Database(join(tempDir(), "given.db"));
    const store = sqliteStore({ database: db });
    await suspended(store);
    await store.close();
    assert.equal(db.open, true);
    assert.equal(db.prepare("SELECT COUNT(*) FROM flows").pluck().get(), 1);
    db.close();
  });

  it("wraps driver errors in DT402 with the driver's error as cause", async () => {
    const db = new Database(join(tempDir(), "closed.db"));
    const store = sqliteStore({ database: db });
    db.close();
    await assert.rejects(store.getFlow("x"), (e: { code?: string; cause?: unknown; message: string }) => {
      assert.equal(e.code, "DT402");
      assert.match(e.message, /sqlite store: getFlow failed/);
      assert.ok(e.cause instanceof Error);
      return true;
    });
    await store.close();

    // A regular file where a directory should be: the directory cannot be created.
    const file = join(tempDir(), "a-file");
    writeFileSync(file, "");
    assert.throws(
      () => sqliteStore({ path: join(file, "sub", "x.db") }),
      (e: { code?: string; cause?: unknown }) => {
        assert.equal(e.code, "DT402");
        assert.ok(e.cause);
        return true;
      },
    );
  });

  it("fails with DT402 naming busyTimeout when another connection holds the write lock too long", async () => {
    const path = join(tempDir(), "busy.db");
    const store = sqliteStore({ path, busyTimeout: 30 });
    const blocker = new Database(path);
    blocker.exec("BEGIN IMMEDIATE");
    try {
      await rejectsWith(
        store.claim({ owner: "w", leaseMs: 10, limit: 1, now: 0 }),
        "DT402",
        /busyTimeout \(30 ms\)/,
      );
    } finally {
      blocker.exec("ROLLBACK");
      blocker.close();
    }
    assert.deepEqual(await store.claim({ owner: "w", leaseMs: 10, limit: 1, now: 0 }), [], "usable again");
    await store.close();
  });

  it("rejects bad options with DT404, naming the option", () => {
    const db = new Database(":memory:");
    const cases: [unknown, RegExp][] = [
      [{ pth: "x.db" }, /unknown option 'pth'\. Did you mean 'path'\?/],
      [{ path: "" }, /option 'path' must be a non-empty string/],
      [{ path: "x.db", database: db }, /option 'database' cannot be given together with 'path'/],
      [{ database: {} }, /option 'database' must be an open better-sqlite3 Database/],
      [{ synchronous: "always" }, /option 'synchronous' must be one of "off", "normal", "full", "extra"/],
      [{ busyTimeout: "forever" }, /option 'busyTimeout' must be a duration/],
      [{ pollInterval: 0 }, /option 'pollInterval' must be at least 1 ms/],
      [{ retention: "-1d" }, /option 'retention' must be a duration/],
      [{ notificationTtl: null }, /option 'notificationTtl' must be a duration/],
    ];
    for (const [options, message] of cases) {
      assert.throws(
        () => sqliteStore(options as any),
        (e: { code?: string; message: string }) => {
          assert.equal(e.code, "DT404", e.message);
          assert.match(e.message, message);
          return true;
        },
      );
    }
    db.close();
    assert.throws(() => sqliteStore({ database: db }), /is closed/);
  });
});

describe("sqliteStore across processes", () => {
  function startClaimer(
    path: string,
    owner: string,
    now: number,
  ): ChildProcessByStdio<Writable, Readable, null> {
    return spawn(
      process.execPath,
      ["--import", "tsx", "test/store/helpers/claimer.ts", path, owner, String(now)],
      {
        cwd: root,
        stdio: ["pipe", "pipe", "inherit"],
      },
    );
  }

  async function lines(child: ChildProcessByStdio<Writable, Readable, null>): Promise<string[]> {
    let text = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      text += chunk;
    });
    const [code] = (await once(child, "exit")) as [number | null];
    assert.equal(code, 0, `claimer exited with ${code}`);
    return text.trim().split("\n");
  }

  function ready(child: ChildProcessByStdio<Writable, Readable, null>): Promise<void> {
    return new Promise((resolve, reject) => {
      child.stdout.once("data", (chunk: Buffer) =>
        String(chunk).startsWith("ready") ? resolve() : reject(new Error(`unexpected: ${chunk}`)),
      );
      child.once("exit", (code) => reject(new Error(`claimer exited early (${code})`)));
    });
  }

  it("never grants one flow to two processes; completions reach the other process's listeners", {
    timeout: 60_000,
  }, async () => {
    const path = join(tempDir(), "shared.db");
    const store = sqliteStore({ path, pollInterval: 5, busyTimeout: "20s", synchronous: "normal" });
    const total = 300;
    const ids: string[] = [];
    for (let i = 0; i < total; i++) ids.push((await suspended(store, { runnableAt: i % 10 })).id);
    const heard = new Map<string, string>();
    for (const flowId of ids)
      await store.subscribe(flowChannel(flowId), (message) => heard.set(flowId, message));

    const children = [startClaimer(path, "child-1", 1_000), startClaimer(path, "child-2", 1_000)];
    const outputs = children.map((child) => {
      const isReady = ready(child);
      return { isReady, output: isReady.then(() => lines(child)) };
    });
    await Promise.all(outputs.map((o) => o.isReady));
    for (const child of children) child.stdin.end("go\n");

    const mine = await claimUntilIdle(store, "parent", 1_000);
    const theirs = await Promise.all(
      outputs.map(async (o) => JSON.parse((await o.output).at(-1)!) as string[]),
    );
    const all = [...mine, ...theirs.flat()];
    assert.equal(all.length, total, `claimed ${all.length} times for ${total} flows`);
    assert.equal(new Set(all).size, total, "no flow claimed twice");
    assert.ok(theirs.flat().length > 0, "the other processes took part");

    const owners = new Map<string, string>();
    for (const [n, list] of [mine, ...theirs].entries())
      for (const flowId of list) owners.set(flowId, ["parent", "child-1", "child-2"][n]!);
    for (const flowId of ids) {
      const flow = await store.getFlow(flowId);
      assert.equal(flow?.status, "succeeded");
      assert.equal(flow?.result, owners.get(flowId), "finished by the one process that claimed it");
    }
    // Flows finished in the children were announced here through the notifications table.
    const deadline = Date.now() + 5_000;
    while (heard.size < total && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(heard.size, total);
    assert.ok([...heard.values()].every((m) => m === "succeeded"));
    await store.close();
  });
});
