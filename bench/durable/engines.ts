/**
 * The engines the peer comparison runs dtasks on, each with its raw round-trip probe at the same
 * durability setting: SQLite (WAL, `synchronous` FULL and NORMAL), Redis and PostgreSQL.
 *
 * Every measurement gets a fresh namespace (an SQLite file, a Redis key prefix, a PostgreSQL
 * schema), removed afterwards, so that nothing of one run is in the next one's tables.
 *
 * Servers: `DTASKS_BENCH_REDIS` (default `redis://127.0.0.1:6379`) and `DTASKS_BENCH_PG` (default
 * `postgres://postgres@127.0.0.1:5432/test`). The store and its raw probe talk to the same
 * server, so they have the same durability (Redis: the server's `appendonly`/`appendfsync`;
 * PostgreSQL: the server's `synchronous_commit`, `on` by default).
 *
 * @module
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import type { Store } from "dtasks";
import { Redis } from "ioredis";
import pg from "pg";
import { postgresStore } from "../../src/store/postgres/index.js";
import { postgresRawProbe } from "../../src/store/postgres/raw.js";
import { redisStore } from "../../src/store/redis/index.js";
import { rawRoundTrip } from "../../src/store/redis/raw.js";
import { sqliteStore } from "../../src/store/sqlite/index.js";

export type EngineId = "sqlite-full" | "sqlite-normal" | "redis" | "postgres";

export const ENGINE_IDS: readonly EngineId[] = ["sqlite-full", "sqlite-normal", "redis", "postgres"];

/** What a worker process needs to open the same store: plain JSON. */
export interface StoreSpec {
  engine: EngineId;
  /** SQLite: the file; Redis: the key prefix; PostgreSQL: the schema. */
  namespace: string;
  redisUrl: string;
  pgUrl: string;
}

export interface BenchConfig {
  redisUrl: string;
  pgUrl: string;
  /** Where SQLite files go (a fresh temporary folder per run). */
  sqliteDir: string;
}

export function benchConfig(sqliteDir: string): BenchConfig {
  return {
    redisUrl: process.env.DTASKS_BENCH_REDIS ?? "redis://127.0.0.1:6379",
    pgUrl: process.env.DTASKS_BENCH_PG ?? "postgres://postgres@127.0.0.1:5432/test",
    sqliteDir,
  };
}

/** Opens the store a spec names. Used in the bench process and in worker processes alike. */
export function openStore(spec: StoreSpec): Store {
  switch (spec.engine) {
    case "sqlite-full":
    case "sqlite-normal":
      return sqliteStore({
        path: spec.namespace,
        synchronous: spec.engine === "sqlite-full" ? "full" : "normal",
      });
    case "redis":
      return redisStore({ url: spec.redisUrl, prefix: spec.namespace });
    case "postgres":
      return postgresStore({ connectionString: spec.pgUrl, schema: spec.namespace });
  }
}

export interface Engine {
  id: EngineId;
  /** For the table: engine and durability setting. */
  label: string;
  /** What the raw probe does, for the table's notes. */
  rawShape: string;
  /** A fresh namespace for one measurement. */
  spec(tag: string): StoreSpec;
  /** Removes everything a measurement left in its namespace. */
  cleanup(spec: StoreSpec): Promise<void>;
  /** µs per raw write + read back of `bytes` (different bytes every time), `ops` times after a warm-up. */
  raw(bytes: string | Uint8Array, ops: number): Promise<number>;
  /**
   * A stricter raw round trip where the engine has one (PostgreSQL: write and read in one
   * statement), for a context row beside the bar's: what it says is described by `strictShape`.
   */
  rawStrict?(bytes: string | Uint8Array, ops: number): Promise<number>;
  strictShape?: string;
  /** Null when the engine can be used, else why not. */
  check(): Promise<string | null>;
}

let counter = 0;
const runId = Math.random().toString(36).slice(2, 8);

/** Namespaces handed out and not cleaned up yet, with their engine: removed on an interrupt. */
const live = new Map<string, { engine: Engine; spec: StoreSpec }>();

/** Removes what this process's unfinished measurements left on the servers (best effort). */
export async function cleanupAll(): Promise<void> {
  await Promise.allSettled([...live.values()].map(({ engine, spec }) => engine.cleanup(spec)));
}

/** Wraps an engine so that every namespace it hands out is tracked until cleaned up. */
function tracked(engine: Engine): Engine {
  const spec = engine.spec.bind(engine);
  const cleanup = engine.cleanup.bind(engine);
  engine.spec = (tag) => {
    const s = spec(tag);
    live.set(s.namespace, { engine, spec: s });
    return s;
  };
  engine.cleanup = async (s) => {
    await cleanup(s);
    live.delete(s.namespace);
  };
  return engine;
}
/** `<run>_<n>_<tag>`: lowercase letters, digits and `_` (a valid schema name and key prefix). */
function namespace(tag: string): string {
  return `${runId}_${++counter}_${tag.replace(/\W/g, "_").toLowerCase()}`;
}

/**
 * `bytes` with the counter written over 8 bytes near the start and the last 8: same length,
 * different content, changed over most of its length as between two real checkpoints (a flow's
 * locals come first in its snapshot, task ids last). PostgreSQL logs only what changed between
 * the old and the new row, so a counter at the end alone would make the raw write cheaper than
 * rewriting a snapshot is.
 */
function variant(bytes: Uint8Array, i: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  const counter = String(i).padStart(8, "0");
  const head = Math.min(Math.floor(copy.length / 6), Math.max(0, copy.length - 16));
  for (let k = 0; k < 8 && k < copy.length; k++) {
    copy[head + k] = counter.charCodeAt(k);
    copy[copy.length - 8 + k] = counter.charCodeAt(k);
  }
  return copy;
}

function asBytes(bytes: string | Uint8Array): Uint8Array {
  return typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
}

async function timeOps(ops: number, op: (i: number) => unknown): Promise<number> {
  for (let i = 0; i < Math.min(100, ops); i++) await op(i);
  const began = performance.now();
  for (let i = 0; i < ops; i++) await op(i);
  return ((performance.now() - began) * 1000) / ops;
}

function sqliteEngine(config: BenchConfig, synchronous: "full" | "normal"): Engine {
  const id: EngineId = synchronous === "full" ? "sqlite-full" : "sqlite-normal";
  return {
    id,
    label: `SQLite WAL, synchronous=${synchronous.toUpperCase()}`,
    rawShape:
      "better-sqlite3 UPDATE of the row + SELECT of it (two autocommit statements), same file settings",
    spec: (tag) => ({
      engine: id,
      namespace: join(config.sqliteDir, `${namespace(tag)}.db`),
      ...urls(config),
    }),
    async cleanup() {
      // The whole folder goes at the end of the run.
    },
    async raw(bytes, ops) {
      const path = join(config.sqliteDir, `${namespace("raw")}.db`);
      const db = new Database(path);
      try {
        db.pragma("journal_mode = WAL");
        db.pragma(`synchronous = ${synchronous.toUpperCase()}`);
        db.exec("CREATE TABLE t (id TEXT PRIMARY KEY, snapshot BLOB, revision INTEGER)");
        const isText = typeof bytes === "string";
        const base = asBytes(bytes);
        const value = (i: number) =>
          isText ? Buffer.from(variant(base, i)).toString("utf8") : variant(base, i);
        db.prepare("INSERT INTO t VALUES ('f', ?, 0)").run(value(0));
        const update = db.prepare("UPDATE t SET snapshot = ?, revision = revision + 1 WHERE id = 'f'");
        const select = db.prepare("SELECT snapshot, revision FROM t WHERE id = 'f'");
        return await timeOps(ops, (i) => {
          update.run(value(i + 1));
          select.get();
        });
      } finally {
        db.close();
      }
    },
    async check() {
      try {
        new Database(":memory:").close();
        return null;
      } catch (error) {
        return `better-sqlite3 does not load in node ${process.version}: ${(error as Error).message.split("\n")[0]}`;
      }
    },
  };
}

function urls(config: BenchConfig): { redisUrl: string; pgUrl: string } {
  return { redisUrl: config.redisUrl, pgUrl: config.pgUrl };
}

function redisEngine(config: BenchConfig): Engine {
  return {
    id: "redis",
    label: "Redis",
    rawShape: "ioredis SET + GET of the bytes (src/store/redis/raw.ts), same server",
    spec: (tag) => ({ engine: "redis", namespace: `dtasks-bench:${namespace(tag)}:`, ...urls(config) }),
    async cleanup(spec) {
      const client = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await client.connect();
        let cursor = "0";
        do {
          const [next, keys] = await client.scan(cursor, "MATCH", `${spec.namespace}*`, "COUNT", 1000);
          cursor = next;
          if (keys.length > 0) await client.unlink(...keys);
        } while (cursor !== "0");
      } finally {
        client.disconnect();
      }
    },
    async raw(bytes, ops) {
      const client = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
      const key = `dtasks-bench:${namespace("raw")}`;
      try {
        await client.connect();
        const base = asBytes(bytes);
        const us = await timeOps(ops, (i) => rawRoundTrip(client, variant(base, i), { key }));
        await client.del(key);
        return us;
      } finally {
        client.disconnect();
      }
    },
    async check() {
      const client = new Redis(config.redisUrl, {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      try {
        await client.connect();
        const info = await client.info("persistence");
        const aof = /aof_enabled:(\d)/.exec(info)?.[1] === "1";
        const fsync = aof ? ((await client.config("GET", "appendfsync")) as string[])[1] : null;
        this.label = aof
          ? `Redis (AOF, appendfsync ${fsync})`
          : "Redis (no AOF: as durable as the server's RDB snapshots)";
        return null;
      } catch (error) {
        return `Redis at ${redact(config.redisUrl)} unreachable: ${(error as Error).message}`;
      } finally {
        client.disconnect();
      }
    },
  };
}

function postgresEngine(config: BenchConfig): Engine {
  return {
    id: "postgres",
    label: "PostgreSQL",
    rawShape:
      "INSERT … ON CONFLICT DO UPDATE, then SELECT: two autocommit statements, as the peer harness's UPDATE+SELECT baseline (src/store/postgres/raw.ts, shape 'statements'), same server and synchronous_commit",
    strictShape:
      "one INSERT … ON CONFLICT DO UPDATE … RETURNING statement (shape 'statement'): write and read in one round trip",
    spec: (tag) => ({ engine: "postgres", namespace: `dtasks_bench_${namespace(tag)}`, ...urls(config) }),
    cleanup(spec) {
      return dropSchema(config, spec.namespace);
    },
    raw(bytes, ops) {
      return postgresRaw(config, "statements", bytes, ops);
    },
    rawStrict(bytes, ops) {
      return postgresRaw(config, "statement", bytes, ops);
    },
    async check() {
      const client = new pg.Client({ connectionString: config.pgUrl, connectionTimeoutMillis: 5000 });
      try {
        await client.connect();
        const { rows } = await client.query(
          "SELECT current_setting('synchronous_commit') AS sc, current_setting('fsync') AS fs, current_setting('server_version') AS v",
        );
        this.label = `PostgreSQL ${rows[0].v.split(" ")[0]} (synchronous_commit=${rows[0].sc}, fsync=${rows[0].fs})`;
        return null;
      } catch (error) {
        return `PostgreSQL at ${redact(config.pgUrl)} unreachable: ${(error as Error).message}`;
      } finally {
        await client.end().catch(() => {});
      }
    },
  };
}

/** µs per write + read of `bytes` through the raw PostgreSQL probe of `shape`, on a fresh schema. */
async function postgresRaw(
  config: BenchConfig,
  shape: "statement" | "statements",
  bytes: string | Uint8Array,
  ops: number,
): Promise<number> {
  const schema = `dtasks_bench_${namespace("raw")}`;
  const probe = await postgresRawProbe({ connectionString: config.pgUrl, schema, shape });
  try {
    const base = asBytes(bytes);
    return await timeOps(ops, (i) => probe.roundTrip(variant(base, i)));
  } finally {
    await probe.close();
    await dropSchema(config, schema);
  }
}

/** Drops a measurement's schema and everything in it. */
async function dropSchema(config: BenchConfig, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: config.pgUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");
}

export function engines(config: BenchConfig): Record<EngineId, Engine> {
  return {
    "sqlite-full": tracked(sqliteEngine(config, "full")),
    "sqlite-normal": tracked(sqliteEngine(config, "normal")),
    redis: tracked(redisEngine(config)),
    postgres: tracked(postgresEngine(config)),
  };
}
