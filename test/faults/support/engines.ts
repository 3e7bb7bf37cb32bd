/**
 * The stores the multi-worker tests run on, each with a fresh namespace per test: a SQLite file, a
 * key prefix on the shared Redis (127.0.0.1:6379), a schema on the shared PostgreSQL
 * (127.0.0.1:5432, database `test`). `spec` is the same store as `--store` text, for worker
 * processes and the CLI. Everything a test creates is removed in `dispose`.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Store } from "dtasks";
import { sqliteStore } from "dtasks/sqlite";
import { Redis } from "ioredis";
import pg from "pg";
import { postgresStore } from "../../../src/store/postgres/index.js";
import { redisStore } from "../../../src/store/redis/index.js";

export const REDIS_URL = process.env.DTASKS_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
export const POSTGRES_URL = process.env.DTASKS_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export type EngineName = "sqlite" | "redis" | "postgres";

export interface Namespace {
  engine: EngineName;
  /** As `--store`. */
  spec: string;
  /** A new store object (a new connection) on this namespace. `name` tags its connections. */
  open(options?: { name?: string; retention?: number }): Store;
  /** Removes whatever is left (files, keys, schema). */
  dispose(): Promise<void>;
}

export function namespace(engine: EngineName): Namespace {
  const tag = randomBytes(5).toString("hex");
  if (engine === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "dtasks-mw-"));
    const path = join(dir, "state.db");
    return {
      engine,
      spec: `sqlite:${path}`,
      open: (o = {}) =>
        sqliteStore({
          path,
          pollInterval: 10,
          ...(o.retention === undefined ? {} : { retention: o.retention }),
        }),
      dispose: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  if (engine === "redis") {
    const prefix = `dtasks-mw:${tag}:`;
    return {
      engine,
      spec: `${REDIS_URL}?prefix=${encodeURIComponent(prefix)}`,
      open: (o = {}) =>
        redisStore({
          url: REDIS_URL,
          prefix,
          ...(o.retention === undefined ? {} : { retention: o.retention }),
          ...(o.name === undefined ? {} : { redisOptions: { connectionName: o.name } }),
        }),
      dispose: async () => {
        const admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 0 });
        try {
          let cursor = "0";
          do {
            const [next, keys] = await admin.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
            cursor = next;
            if (keys.length > 0) await admin.del(...keys);
          } while (cursor !== "0");
        } finally {
          admin.disconnect();
        }
      },
    };
  }
  const schema = `dtasks_mw_${tag}`;
  return {
    engine,
    spec: `${POSTGRES_URL}?schema=${schema}`,
    open: (o = {}) =>
      postgresStore({
        connectionString: POSTGRES_URL,
        schema,
        poolSize: 4,
        ...(o.retention === undefined ? {} : { retention: o.retention }),
        ...(o.name === undefined ? {} : { applicationName: o.name }),
      }),
    dispose: async () => {
      const admin = new pg.Client({ connectionString: POSTGRES_URL });
      await admin.connect();
      try {
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await admin.end();
      }
    },
  };
}

/** Fails clearly (never skips) when the shared Redis or PostgreSQL server is not there. */
export async function requireServers(): Promise<void> {
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on("error", () => {});
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(`these tests need Redis at ${REDIS_URL} (.ci/run starts it): ${String(error)}`);
  } finally {
    redis.disconnect();
  }
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`these tests need PostgreSQL at ${POSTGRES_URL} (.ci/run starts it): ${String(error)}`);
  } finally {
    await client.end().catch(() => {});
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` (real time) until it is true, or fails saying what did not happen. */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  ms = 20_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}
