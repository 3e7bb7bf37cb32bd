/**
 * Opening (or adopting) the database connection and setting it up for the store's guarantees:
 * `busy_timeout` first (so the next steps wait for other processes instead of failing), then WAL
 * (readers never block the writer; several processes can share the file), then `synchronous`,
 * then the schema migration.
 *
 * @module
 */
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import { DTaskError } from "../../core/errors.js";
import type { ResolvedSqliteStoreOptions } from "./index.js";
import { migrate } from "./migrate.js";

export interface OpenedDatabase {
  db: Database.Database;
  /** True when the store opened the connection and must close it. */
  owned: boolean;
  /** For messages: the file, or "(given connection)". */
  where: string;
}

function isInMemoryPath(path: string): boolean {
  return path === ":memory:" || path === "" || path.startsWith("file:");
}

export function openDatabase(options: ResolvedSqliteStoreOptions): OpenedDatabase {
  let opened: OpenedDatabase;
  if (options.database !== null) {
    opened = { db: options.database, owned: false, where: `(given connection ${options.database.name})` };
  } else {
    const path = options.path;
    try {
      if (!isInMemoryPath(path)) mkdirSync(dirname(resolve(path)), { recursive: true });
      opened = { db: new Database(path), owned: true, where: path };
    } catch (error) {
      throw new DTaskError(
        "DT402",
        `sqlite store: cannot open ${JSON.stringify(path)}: ${(error as Error).message} (check the 'path' option and the directory's permissions)`,
        { cause: error },
      );
    }
  }
  try {
    const { db } = opened;
    db.pragma(`busy_timeout = ${Math.min(options.busyTimeoutMs, 2 ** 31 - 1)}`);
    db.pragma("journal_mode = WAL");
    db.pragma(`synchronous = ${options.synchronous.toUpperCase()}`);
    migrate(db, opened.where);
    return opened;
  } catch (error) {
    if (opened.owned) opened.db.close();
    if (error instanceof DTaskError) throw error;
    throw new DTaskError(
      "DT402",
      `sqlite store: cannot set up ${opened.where}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
