/**
 * The embedded SQLite store (`dtasks/sqlite`): one file, any number of processes on one machine.
 * The default store of `createHost()`. Built on better-sqlite3 12, in WAL mode, with every write in
 * a `BEGIN IMMEDIATE` transaction.
 *
 * @example
 * import { createHost } from "dtasks";
 * import { sqliteStore } from "dtasks/sqlite";
 *
 * const host = createHost({ store: sqliteStore({ path: ".dtasks/state.db" }) });
 *
 * @module
 */
import type Database from "better-sqlite3";
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
import { SqliteStore } from "./store.js";

/** Where `createHost()` keeps its state when given no store, relative to the working directory. */
export const DEFAULT_SQLITE_PATH = ".dtasks/state.db";

/** SQLite's `PRAGMA synchronous` levels, weakest to strongest. */
export type SqliteSynchronous = "off" | "normal" | "full" | "extra";

/** Options of {@link sqliteStore}. */
export interface SqliteStoreOptions {
  /**
   * The database file. Its directory is created if missing. `":memory:"` gives a private
   * in-memory database (one connection only). Not together with `database`.
   * @default ".dtasks/state.db"
   */
  path?: string;
  /**
   * An open better-sqlite3 connection to use instead of opening `path`. The store sets
   * `busy_timeout`, WAL and `synchronous` on it and creates its tables, and does not close it.
   */
  database?: Database.Database;
  /**
   * `PRAGMA synchronous`. `"full"` syncs the WAL on every commit: a commit that returned survives a
   * power failure. `"normal"` is faster and stays consistent, but the last commits before a power
   * failure (not a process crash) may be lost. `"off"` is for throwaway data.
   * @default "full"
   */
  synchronous?: SqliteSynchronous;
  /**
   * How long a call waits for another process's write transaction before failing with DT402
   * (`PRAGMA busy_timeout`): milliseconds or a string such as `"5s"`. The wait blocks the event
   * loop (better-sqlite3 is synchronous), so keep transactions short rather than this long.
   * @default "5s"
   */
  busyTimeout?: Duration;
  /**
   * How long a finished flow is kept before `sweep` deletes it: milliseconds or a string such as
   * `"7d"`; `Infinity` keeps finished flows forever. A commit may override it.
   * @default "7d"
   */
  retention?: Duration;
  /**
   * How often a store with subscribers checks for messages published by other connections
   * (a `PRAGMA data_version` read; rows are read only when another connection wrote). This bounds
   * how late `flow.result()` hears of a flow finished by another process.
   * @default 50 (ms)
   */
  pollInterval?: Duration;
  /**
   * How long published messages stay in the database for other connections to read (real time;
   * messages about a flow also go when the flow is swept).
   * @default "1m"
   */
  notificationTtl?: Duration;
}

/** Resolved {@link SqliteStoreOptions}. */
export interface ResolvedSqliteStoreOptions {
  path: string;
  database: Database.Database | null;
  synchronous: SqliteSynchronous;
  busyTimeoutMs: number;
  retentionMs: number;
  pollIntervalMs: number;
  notificationTtlMs: number;
}

const FACTORY = "sqliteStore";

const KNOWN = [
  "path",
  "database",
  "synchronous",
  "busyTimeout",
  "retention",
  "pollInterval",
  "notificationTtl",
] as const satisfies readonly (keyof SqliteStoreOptions)[];

export function resolveSqliteStoreOptions(
  options: SqliteStoreOptions | undefined,
): ResolvedSqliteStoreOptions {
  const o = checkOptionKeys(FACTORY, options, KNOWN);
  if (o.database !== undefined && o.path !== undefined) {
    throw optionError(FACTORY, "database", "cannot be given together with 'path': pass one or the other");
  }
  const database = o.database ?? null;
  if (
    database !== null &&
    (typeof database !== "object" || typeof (database as { prepare?: unknown }).prepare !== "function")
  ) {
    throw optionError(FACTORY, "database", "must be an open better-sqlite3 Database");
  }
  if (database !== null && !(database as Database.Database).open) {
    throw optionError(FACTORY, "database", "is closed: pass an open connection");
  }
  return {
    path: stringOption(FACTORY, "path", o.path, DEFAULT_SQLITE_PATH),
    database: database as Database.Database | null,
    synchronous: enumOption(
      FACTORY,
      "synchronous",
      o.synchronous,
      ["off", "normal", "full", "extra"],
      "full",
    ),
    busyTimeoutMs: durationOption(FACTORY, "busyTimeout", o.busyTimeout, 5_000),
    retentionMs: durationOption(FACTORY, "retention", o.retention, DEFAULT_RETENTION_MS, {
      allowInfinity: true,
    }),
    pollIntervalMs: durationOption(FACTORY, "pollInterval", o.pollInterval, 50, { min: 1 }),
    notificationTtlMs: durationOption(FACTORY, "notificationTtl", o.notificationTtl, 60_000, { min: 1 }),
  };
}

/**
 * Opens (creating if needed) the SQLite store. Invalid options throw DT404 naming the option; a
 * file that cannot be opened throws DT402 with the driver's error as `cause`; a database written
 * by a newer dtasks throws DT407.
 */
export function sqliteStore(options?: SqliteStoreOptions): Store {
  return new SqliteStore(resolveSqliteStoreOptions(options));
}

export { SqliteStore };
