/**
 * Schema versioning with `PRAGMA user_version`: migration `n` takes the database from version `n`
 * to `n + 1`. Runs in one `BEGIN IMMEDIATE` transaction, re-reading the version inside it, so two
 * processes opening a new file at the same moment cannot both create the tables.
 *
 * @module
 */
import type Database from "better-sqlite3";
import { DTaskError } from "../../core/errors.js";
import { SCHEMA_V1 } from "./schema.js";

/** Migration `i` upgrades version `i` to `i + 1`. Append only; never edit a shipped entry. */
const MIGRATIONS: readonly string[] = [SCHEMA_V1];

/** The version this code reads and writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

function versionOf(db: Database.Database): number {
  return db.pragma("user_version", { simple: true }) as number;
}

function refuseNewer(version: number, where: string): never {
  throw new DTaskError(
    "DT407",
    `the SQLite database ${where} has schema version ${version}, but this version of dtasks knows ` +
      `version ${SCHEMA_VERSION} at most: upgrade dtasks on this machine (the data was not touched)`,
  );
}

/** Brings the database to {@link SCHEMA_VERSION}; DT407 if it is newer than this code. */
export function migrate(db: Database.Database, where: string): void {
  const seen = versionOf(db);
  if (seen === SCHEMA_VERSION) return;
  if (seen > SCHEMA_VERSION) refuseNewer(seen, where);
  db.transaction(() => {
    const version = versionOf(db);
    if (version > SCHEMA_VERSION) refuseNewer(version, where);
    for (let v = version; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
