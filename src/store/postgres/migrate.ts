/**
 * Versioned migrations, recorded in `<schema>.schema_migrations`. A store that finds its schema at
 * the current version does nothing more (one read, no lock). Otherwise, in one transaction under a
 * transaction-scoped advisory lock keyed by the schema name, it creates the schema if missing,
 * re-reads the applied versions and applies the missing migrations in order, recording each. Two
 * processes starting at once therefore never race: the second waits for the lock, then sees the
 * first one's work. DDL is transactional in PostgreSQL, so a failed migration leaves nothing half
 * done.
 *
 * @module
 */
import type { Pool, PoolClient } from "pg";
import { DTaskError } from "../../core/errors.js";
import { MIGRATIONS, SCHEMA_VERSION } from "./migrations/index.js";
import { quoteIdent } from "./names.js";

/** The version the schema is at: 0 when it (or its migrations table) does not exist. */
async function versionOf(client: PoolClient, schema: string): Promise<number> {
  const table = `${quoteIdent(schema)}.schema_migrations`;
  const { rows } = await client.query<{ exists: boolean }>("SELECT to_regclass($1) IS NOT NULL AS exists", [
    table,
  ]);
  if (!rows[0]?.exists) return 0;
  const version = await client.query<{ v: number }>(`SELECT coalesce(max(version), 0) AS v FROM ${table}`);
  return version.rows[0]?.v ?? 0;
}

function refuseNewer(schema: string, version: number): never {
  throw new DTaskError(
    "DT407",
    `the PostgreSQL schema "${schema}" is at dtasks schema version ${version}, but this version of ` +
      `dtasks knows version ${SCHEMA_VERSION} at most: upgrade dtasks here (the data was not touched)`,
  );
}

/**
 * Brings `schema` to {@link SCHEMA_VERSION}. With `create` false it only checks, and fails with
 * DT402 if the schema is behind (migrations are then run elsewhere, with rights to create tables).
 * DT407 if the schema is newer than this code.
 */
export async function migrate(pool: Pool, schema: string, create: boolean): Promise<void> {
  const client = await pool.connect();
  let broken: Error | undefined;
  // A checked-out client that loses its connection emits 'error'; without a listener that crashes
  // the process. The query in flight fails anyway (and becomes DT402 below).
  const onError = (error: Error) => {
    broken ??= error;
  };
  client.on("error", onError);
  try {
    const seen = await versionOf(client, schema);
    if (seen === SCHEMA_VERSION) return;
    if (seen > SCHEMA_VERSION) refuseNewer(schema, seen);
    if (!create) {
      throw new DTaskError(
        "DT402",
        `postgres store: the schema "${schema}" is at version ${seen}, this code needs ${SCHEMA_VERSION}, ` +
          "and the store was created with migrate: false: run a store with migrate: true once " +
          "(with the right to create tables in the database), then start this one",
      );
    }
    const q = quoteIdent(schema);
    await client.query("BEGIN");
    try {
      await client.query("SELECT pg_advisory_xact_lock(hashtext('dtasks.migrate'), hashtext($1))", [schema]);
      const exists = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]);
      if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${q}`);
      // The migrations name no schema: unqualified names land here, and functions capture this path.
      await client.query(`SET LOCAL search_path TO ${q}, pg_temp`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${q}.schema_migrations (
        version    integer PRIMARY KEY,
        name       text NOT NULL,
        checksum   text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const version = await versionOf(client, schema);
      if (version > SCHEMA_VERSION) refuseNewer(schema, version);
      for (const migration of MIGRATIONS.slice(version)) {
        await client.query(migration.sql);
        await client.query(
          `INSERT INTO ${q}.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)`,
          [migration.version, migration.name, migration.checksum],
        );
      }
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      throw error;
    }
  } finally {
    // A client whose ROLLBACK failed is broken: destroy it rather than return it to the pool.
    client.off("error", onError);
    client.release(broken);
  }
}
