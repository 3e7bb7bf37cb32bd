/**
 * The PostgreSQL store (`dtasks/postgres`): many workers on many machines share one PostgreSQL
 * database. Built on node-postgres (`pg`): a connection pool for the store's operations, each of
 * which is one statement (a commit, a claim, a delivery run as server-side functions in one
 * implicit transaction), and one dedicated connection for `LISTEN`, so that `flow.result()`,
 * worker wake-ups and the WebSocket backplane need no polling. The store creates and migrates its
 * schema itself (versioned migrations, applied once under an advisory lock).
 *
 * @example
 * import { createHost } from "dtasks";
 * import { postgresStore } from "dtasks/postgres";
 *
 * const host = createHost({
 *   store: postgresStore({ connectionString: process.env.DATABASE_URL, schema: "dtasks" }),
 * });
 *
 * @module
 */
import pg from "pg";
import type { Duration } from "../../core/duration.js";
import type { Store } from "../../core/store.js";
import {
  checkOptionKeys,
  DEFAULT_RETENTION_MS,
  durationOption,
  enumOption,
  optionError,
  stringOption,
} from "../shared/options.js";
import { SCHEMA_PATTERN } from "./names.js";
import { PostgresStore } from "./store.js";

/** PostgreSQL's `synchronous_commit` levels, weakest to strongest. */
export type PostgresSynchronousCommit = "off" | "local" | "remote_write" | "on" | "remote_apply";

/** Options of {@link postgresStore}. Give `connectionString` or `pool`. */
export interface PostgresStoreOptions {
  /**
   * Where to connect, e.g. `"postgres://user:password@db.internal:5432/app"` (any form node-postgres
   * accepts). The store opens a pool of {@link poolSize} connections and one more for `LISTEN`, and
   * closes them on `close()`. The password is never logged, listed or put in an error message.
   * Not together with `pool`.
   */
  connectionString?: string;
  /**
   * An existing node-postgres pool to run the store's queries on. The store does not end it on
   * `close()`. Its `LISTEN` connection is a separate client made from the pool's own options. Give
   * the pool an `'error'` listener: node-postgres emits one when an idle client's connection drops
   * (the store only listens on pools it opened). Not together with `connectionString` or the
   * connection options below.
   */
  pool?: pg.Pool;
  /**
   * The schema that holds the store's tables and functions; created and migrated on first use.
   * Stores with different schemas in one database are fully separate. A plain identifier
   * (letters, digits, `_`; at most 63 characters).
   * @default "dtasks"
   */
  schema?: string;
  /**
   * Whether the store may create and migrate its schema. With `false` it only checks that the
   * schema is at the version it needs (DT402 if not): for deployments where the application's
   * database user may not create tables, and migrations run once with a more privileged one.
   * @default true
   */
  migrate?: boolean;
  /**
   * Connections in the pool the store opens (not counting the `LISTEN` connection).
   * @default 10
   */
  poolSize?: number;
  /**
   * How long opening a connection may take before the operation fails with DT402: milliseconds or
   * a string such as `"10s"`.
   * @default "10s"
   */
  connectTimeout?: Duration;
  /**
   * `application_name` of the store's connections, as shown in `pg_stat_activity`.
   * @default "dtasks"
   */
  applicationName?: string;
  /**
   * `synchronous_commit` of the store's connections. `"on"` (PostgreSQL's default) makes a commit
   * durable (WAL flushed) before it returns; `"off"` is faster, stays consistent, but the last
   * commits before a server crash (not a client crash) may be lost. Unset: the server's setting.
   */
  synchronousCommit?: PostgresSynchronousCommit;
  /**
   * How long a finished flow is kept before `sweep` deletes it: milliseconds or a string such as
   * `"7d"`; `Infinity` keeps finished flows forever. A commit may override it.
   * @default "7d"
   */
  retention?: Duration;
}

/** Resolved {@link PostgresStoreOptions}. `connectionString` is not enumerable. */
export interface ResolvedPostgresStoreOptions {
  connectionString: string | null;
  pool: pg.Pool | null;
  schema: string;
  migrate: boolean;
  poolSize: number;
  connectTimeoutMs: number;
  applicationName: string;
  synchronousCommit: PostgresSynchronousCommit | null;
  retentionMs: number;
}

const FACTORY = "postgresStore";

const KNOWN = [
  "connectionString",
  "pool",
  "schema",
  "migrate",
  "poolSize",
  "connectTimeout",
  "applicationName",
  "synchronousCommit",
  "retention",
] as const satisfies readonly (keyof PostgresStoreOptions)[];

/** Options that configure connections the store opens: meaningless with a given pool. */
const CONNECTION_OPTIONS = ["poolSize", "connectTimeout", "applicationName", "synchronousCommit"] as const;

export function resolvePostgresStoreOptions(
  options: PostgresStoreOptions | undefined,
): ResolvedPostgresStoreOptions {
  const o = checkOptionKeys(FACTORY, options, KNOWN);
  const pool = o.pool ?? null;
  if (pool !== null) {
    if (o.connectionString !== undefined) {
      throw optionError(
        FACTORY,
        "pool",
        "cannot be given together with 'connectionString': pass one or the other",
      );
    }
    if (!(pool instanceof pg.Pool) && typeof (pool as { query?: unknown }).query !== "function") {
      throw optionError(FACTORY, "pool", "must be a node-postgres Pool (new pg.Pool(...))");
    }
    if ((pool as pg.Pool).ending || (pool as pg.Pool).ended) {
      throw optionError(FACTORY, "pool", "has been ended: pass a pool that is open");
    }
    for (const name of CONNECTION_OPTIONS) {
      if (o[name] !== undefined) {
        throw optionError(
          FACTORY,
          name,
          "configures the connections the store opens, so it cannot be given with 'pool': configure the pool itself",
        );
      }
    }
  } else if (o.connectionString === undefined) {
    throw optionError(
      FACTORY,
      "connectionString",
      "is required (e.g. \"postgres://user:password@localhost:5432/app\"), unless a 'pool' is given",
    );
  }
  const connectionString =
    o.connectionString === undefined
      ? null
      : stringOption(FACTORY, "connectionString", o.connectionString, "");
  const schema = stringOption(FACTORY, "schema", o.schema, "dtasks");
  if (!SCHEMA_PATTERN.test(schema)) {
    throw optionError(
      FACTORY,
      "schema",
      `must be a plain identifier: a letter or _, then letters, digits or _, at most 63 characters (got ${JSON.stringify(schema)})`,
    );
  }
  if (o.migrate !== undefined && typeof o.migrate !== "boolean") {
    throw optionError(FACTORY, "migrate", `must be true or false (got ${JSON.stringify(o.migrate)})`);
  }
  const poolSize = o.poolSize ?? 10;
  if (typeof poolSize !== "number" || !Number.isInteger(poolSize) || poolSize < 1 || poolSize > 1000) {
    throw optionError(
      FACTORY,
      "poolSize",
      `must be an integer from 1 to 1000 (got ${JSON.stringify(o.poolSize)})`,
    );
  }
  const resolved: ResolvedPostgresStoreOptions = {
    connectionString: null,
    pool: pool as pg.Pool | null,
    schema,
    migrate: (o.migrate as boolean | undefined) ?? true,
    poolSize,
    connectTimeoutMs: durationOption(FACTORY, "connectTimeout", o.connectTimeout, 10_000, { min: 1 }),
    applicationName: stringOption(FACTORY, "applicationName", o.applicationName, "dtasks"),
    synchronousCommit:
      o.synchronousCommit === undefined
        ? null
        : enumOption<PostgresSynchronousCommit>(
            FACTORY,
            "synchronousCommit",
            o.synchronousCommit,
            ["off", "local", "remote_write", "on", "remote_apply"],
            "on",
          ),
    retentionMs: durationOption(FACTORY, "retention", o.retention, DEFAULT_RETENTION_MS, {
      allowInfinity: true,
    }),
  };
  // It holds the password: keep it out of console.log, JSON and enumeration.
  Object.defineProperty(resolved, "connectionString", { value: connectionString, enumerable: false });
  return resolved;
}

/**
 * Creates the PostgreSQL store. Nothing connects yet: the first operation opens the pool, and
 * creates or migrates the schema (DT407 if it was written by a newer dtasks). Invalid options
 * throw DT404 naming the option; a server that cannot be reached fails operations with DT402
 * (retryable), and they work again once it is back.
 */
export function postgresStore(options: PostgresStoreOptions): Store {
  return new PostgresStore(resolvePostgresStoreOptions(options));
}

export { SCHEMA_VERSION } from "./migrations/index.js";
export { PostgresStore };
