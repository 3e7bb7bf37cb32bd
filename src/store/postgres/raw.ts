/**
 * The raw PostgreSQL cost a checkpoint is measured against: write some bytes and read the same
 * bytes back, in one transaction, on the same kind of connection and at the same durability
 * (`synchronous_commit`) as the store, with nothing else. The bench compares a store commit of a
 * snapshot of N bytes with `roundTrip` of N bytes.
 *
 * Three shapes:
 * - `"statement"` (default): one statement, `INSERT … ON CONFLICT DO UPDATE … RETURNING` read by
 *   the enclosing `SELECT`: one round trip, one WAL flush. The cheapest durable write-and-read
 *   PostgreSQL offers, and the same shape as a store commit (one statement): the ratio between the
 *   two is the store's own work.
 * - `"statements"`: the write, then the read, each its own autocommit statement: two round trips,
 *   one WAL flush. The peer harness's raw baseline (`../shared/bench/peers`, "UPDATE+SELECT"), and
 *   the shape of the SQLite (`UPDATE` + `SELECT`) and Redis (`SET` + `GET`) baselines.
 * - `"transaction"`: `BEGIN; INSERT … ON CONFLICT DO UPDATE; SELECT; COMMIT` on one connection:
 *   four round trips, one WAL flush; what a hand-written "write then read" usually looks like.
 *
 * @example
 * const probe = await postgresRawProbe({ connectionString, schema: "bench" });
 * const back = await probe.roundTrip(new Uint8Array(1024));
 * await probe.close();
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { DTaskError } from "../../core/errors.js";
import { wrapPgError } from "./errors.js";
import type { PostgresSynchronousCommit } from "./index.js";
import { quoteIdent, SCHEMA_PATTERN } from "./names.js";

export interface PostgresRawProbeOptions {
  /** Where to connect (the probe opens one connection). Not together with `pool`. */
  connectionString?: string;
  /** A pool to use instead (not ended by `close()`). */
  pool?: pg.Pool;
  /** Where the probe's table goes (created if missing). @default "dtasks_bench" */
  schema?: string;
  /** `synchronous_commit` of the probe's connection (connectionString only). Unset: the server's. */
  synchronousCommit?: PostgresSynchronousCommit;
  /** @default "statement" */
  shape?: "statement" | "statements" | "transaction";
}

const SHAPES: readonly NonNullable<PostgresRawProbeOptions["shape"]>[] = [
  "statement",
  "statements",
  "transaction",
];

export interface PostgresRawProbe {
  /** Writes `bytes` (one row, replaced every time) and reads them back, as `shape` says. */
  roundTrip(bytes: Uint8Array): Promise<Uint8Array>;
  /** Drops the probe's table and closes what the probe opened. */
  close(): Promise<void>;
}

export async function postgresRawProbe(options: PostgresRawProbeOptions): Promise<PostgresRawProbe> {
  const schema = options.schema ?? "dtasks_bench";
  if (!SCHEMA_PATTERN.test(schema)) {
    throw new DTaskError(
      "DT404",
      `postgresRawProbe: option 'schema' must be a plain identifier (got ${JSON.stringify(schema)})`,
    );
  }
  if ((options.pool === undefined) === (options.connectionString === undefined)) {
    throw new DTaskError("DT404", "postgresRawProbe: give exactly one of 'connectionString' and 'pool'");
  }
  if (options.shape !== undefined && !SHAPES.includes(options.shape)) {
    throw new DTaskError(
      "DT404",
      `postgresRawProbe: option 'shape' must be one of ${SHAPES.map((s) => JSON.stringify(s)).join(", ")} (got ${JSON.stringify(options.shape)})`,
    );
  }
  const owned = options.pool === undefined;
  const pool =
    options.pool ??
    new pg.Pool({
      connectionString: options.connectionString,
      max: 1,
      allowExitOnIdle: true,
      ...(options.synchronousCommit === undefined
        ? {}
        : { options: `-c synchronous_commit=${options.synchronousCommit}` }),
    });
  if (owned) pool.on("error", () => {});
  // A table of its own per probe: probes never see each other's rows.
  const table = `${quoteIdent(schema)}.${quoteIdent(`raw_probe_${randomBytes(4).toString("hex")}`)}`;
  const id = "probe";
  const upsert = `INSERT INTO ${table} (id, data) VALUES ($1, $2)
    ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data`;
  const statement = {
    name: `dt_raw_${table.replace(/\W/g, "")}`,
    text: `WITH written AS (${upsert} RETURNING data) SELECT data FROM written`,
  };
  const select = `SELECT data FROM ${table} WHERE id = $1`;
  try {
    await pool.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await pool.query(`CREATE TABLE ${table} (id text PRIMARY KEY, data bytea NOT NULL)`);
  } catch (error) {
    if (owned) await pool.end().catch(() => {});
    throw wrapPgError("rawProbe", error);
  }

  const view = (data: Buffer) => new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const roundTrip =
    options.shape === "statements"
      ? async (bytes: Uint8Array) => {
          try {
            await pool.query(upsert, [id, asBuffer(bytes)]);
            const { rows } = await pool.query<{ data: Buffer }>(select, [id]);
            return view(rows[0]!.data);
          } catch (error) {
            throw wrapPgError("rawProbe", error);
          }
        }
      : options.shape === "transaction"
        ? async (bytes: Uint8Array) => {
            const client = await pool.connect();
            try {
              await client.query("BEGIN");
              await client.query(upsert, [id, asBuffer(bytes)]);
              const { rows } = await client.query<{ data: Buffer }>(select, [id]);
              await client.query("COMMIT");
              client.release();
              return view(rows[0]!.data);
            } catch (error) {
              client.release(error as Error);
              throw wrapPgError("rawProbe", error);
            }
          }
        : async (bytes: Uint8Array) => {
            const { rows } = await pool.query<{ data: Buffer }>({
              ...statement,
              values: [id, asBuffer(bytes)],
            });
            return view(rows[0]!.data);
          };

  return {
    roundTrip,
    async close() {
      try {
        await pool.query(`DROP TABLE IF EXISTS ${table}`);
      } finally {
        if (owned) await pool.end();
      }
    },
  };
}
