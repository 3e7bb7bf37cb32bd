/**
 * Every SQL statement of the SQLite store, prepared once per connection. The dynamic ones
 * (`listFlows`, whose WHERE clause depends on the query's shape) are cached by shape.
 *
 * @module
 */
import type Database from "better-sqlite3";

/** A flows row, as stored. */
export interface FlowRow {
  id: string;
  status: string;
  revision: number;
  root_function_id: string;
  snapshot: string | Buffer | null;
  result: string | Buffer | null;
  error: string | Buffer | null;
  last_error: string | null;
  metadata: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
  expires_at: number | null;
  ready_at: number | null;
  defer_until: number | null;
  lease_token: string | null;
  lease_owner: string | null;
  lease_expires_at: number | null;
  attempts: number;
}

/** The columns a write needs to check fencing and reschedule. */
export type FlowHead = Pick<
  FlowRow,
  | "status"
  | "revision"
  | "lease_token"
  | "lease_owner"
  | "lease_expires_at"
  | "ready_at"
  | "defer_until"
  | "finished_at"
  | "expires_at"
>;

export interface EventRow {
  seq: number;
  kind: string;
  wait_id: string | null;
  payload: string | Buffer | null;
  at: number;
}

export interface CallbackRow {
  id: string;
  flow_id: string;
  state: string;
  created_at: number;
  delivered_at: number | null;
}

export interface NotificationRow {
  seq: number;
  channel: string;
  message: string;
  origin: string;
}

/** The summary columns (everything but the payloads). */
export const SUMMARY_COLUMNS =
  "id, status, revision, root_function_id, last_error, metadata, created_at, updated_at, finished_at, " +
  "expires_at, ready_at, lease_owner, lease_expires_at";

const SQL = {
  insertFlow: `INSERT INTO flows (id, status, revision, root_function_id, snapshot, metadata, created_at, updated_at,
      ready_at, lease_token, lease_owner, lease_expires_at, attempts)
    VALUES (@id, 'running', 0, @rootFunctionId, @snapshot, @metadata, @now, @now, @now, @token, @owner, @expiresAt, 1)
    ON CONFLICT (id) DO NOTHING`,
  flowHead: `SELECT status, revision, lease_token, lease_owner, lease_expires_at, ready_at, defer_until,
      finished_at, expires_at
    FROM flows WHERE id = ?`,
  flow: "SELECT * FROM flows WHERE id = ?",
  consumeEvent: "DELETE FROM events WHERE seq = ? AND flow_id = ?",
  removeTimer: "DELETE FROM timers WHERE flow_id = ? AND id = ?",
  removeWaitEvents: "DELETE FROM events WHERE flow_id = ? AND wait_id = ?",
  cancelCallback:
    "UPDATE callbacks SET state = 'canceled' WHERE id = ? AND flow_id = ? AND state = 'waiting'",
  insertCallback: `INSERT INTO callbacks (id, flow_id, state, created_at) VALUES (?, ?, 'waiting', ?)
    ON CONFLICT (id) DO NOTHING`,
  insertTimer: "INSERT INTO timers (flow_id, id, due_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
  cancelFlowCallbacks: "UPDATE callbacks SET state = 'canceled' WHERE flow_id = ? AND state = 'waiting'",
  deleteFlowTimers: "DELETE FROM timers WHERE flow_id = ?",
  deleteFlowEvents: "DELETE FROM events WHERE flow_id = ?",
  earliestTimer: "SELECT MIN(due_at) FROM timers WHERE flow_id = ?",
  earliestEvent: "SELECT MIN(at) FROM events WHERE flow_id = ?",
  fireTimers: `INSERT INTO events (flow_id, kind, wait_id, payload, at)
    SELECT flow_id, 'timer', id, NULL, due_at FROM timers WHERE flow_id = ? AND due_at <= ? ORDER BY due_at, id`,
  deleteFiredTimers: "DELETE FROM timers WHERE flow_id = ? AND due_at <= ?",
  pendingEvents: "SELECT seq, kind, wait_id, payload, at FROM events WHERE flow_id = ? ORDER BY at, seq",
  claimable: `SELECT id, revision, status, root_function_id, snapshot, metadata, attempts FROM flows
    WHERE ready_at <= @now AND (lease_expires_at IS NULL OR lease_expires_at <= @now)
    ORDER BY ready_at, id LIMIT @limit`,
  setLease: `UPDATE flows SET lease_token = ?, lease_owner = ?, lease_expires_at = ?, attempts = attempts + 1
    WHERE id = ?`,
  renewLease: "UPDATE flows SET lease_expires_at = ? WHERE id = ?",
  releaseLease: `UPDATE flows SET lease_token = NULL, lease_owner = NULL, lease_expires_at = NULL
    WHERE id = ? AND lease_token = ?`,
  // Walks flows_ready in order, skipping the (few) leased flows.
  nextUnleased: `SELECT ready_at FROM flows WHERE ready_at IS NOT NULL AND lease_expires_at IS NULL
    ORDER BY ready_at LIMIT 1`,
  nextLeased: `SELECT MIN(MAX(ready_at, lease_expires_at)) FROM flows
    WHERE lease_expires_at IS NOT NULL AND ready_at IS NOT NULL`,
  callback: "SELECT * FROM callbacks WHERE id = ?",
  deliverCallback: "UPDATE callbacks SET state = 'delivered', delivered_at = ? WHERE id = ?",
  insertEvent: "INSERT INTO events (flow_id, kind, wait_id, payload, at) VALUES (?, ?, ?, ?, ?)",
  setReadyAt: "UPDATE flows SET ready_at = ? WHERE id = ?",
  pendingCancel: "SELECT seq FROM events WHERE flow_id = ? AND kind = 'cancel' LIMIT 1",
  insertNotification: `INSERT INTO notifications (channel, message, origin, flow_id, created_at)
    VALUES (?, ?, ?, ?, ?)`,
  pruneNotifications: "DELETE FROM notifications WHERE created_at < ?",
  lastNotification: "SELECT COALESCE(MAX(seq), 0) FROM notifications",
  newNotifications: "SELECT seq, channel, message, origin FROM notifications WHERE seq > ? ORDER BY seq",
  dataVersion: "PRAGMA data_version",
  expired: "SELECT id FROM flows WHERE expires_at <= ? ORDER BY expires_at LIMIT ?",
  sweepCallbacks: "DELETE FROM callbacks WHERE flow_id = ?",
  sweepTimers: "DELETE FROM timers WHERE flow_id = ?",
  sweepEvents: "DELETE FROM events WHERE flow_id = ?",
  sweepNotifications: "DELETE FROM notifications WHERE flow_id = ?",
  sweepFlow: "DELETE FROM flows WHERE id = ?",
  counts: `SELECT
      (SELECT COUNT(*) FROM flows) AS flows,
      (SELECT COUNT(*) FROM callbacks) AS callbacks,
      (SELECT COUNT(*) FROM timers) AS timers,
      (SELECT COUNT(*) FROM events) AS events,
      (SELECT COUNT(*) FROM flows WHERE lease_token IS NOT NULL) AS leases,
      (SELECT COUNT(*) FROM notifications) AS notifications`,
} as const satisfies Record<string, string>;

/** Statements read with `.pluck()`: they return the first column's value, not a row object. */
const PLUCKED: ReadonlySet<keyof typeof SQL> = new Set([
  "earliestTimer",
  "earliestEvent",
  "nextUnleased",
  "nextLeased",
  "pendingCancel",
  "lastNotification",
  "dataVersion",
  "expired",
] as const);

export type Statements = { readonly [K in keyof typeof SQL]: Database.Statement };

export function prepareStatements(db: Database.Database): Statements {
  const prepared: Record<string, Database.Statement> = {};
  for (const [name, sql] of Object.entries(SQL)) {
    const statement = db.prepare(sql);
    prepared[name] = PLUCKED.has(name as keyof typeof SQL) ? statement.pluck() : statement;
  }
  return prepared as Statements;
}

/** The columns a commit may change, besides those it always writes (revision, updated_at, …). */
export const COMMIT_COLUMNS = [
  "status",
  "snapshot",
  "result",
  "error",
  "metadata",
  "ready_at",
  "defer_until",
  "finished_at",
  "expires_at",
  "lease_token",
  "lease_owner",
  "lease_expires_at",
] as const;

export type CommitColumn = (typeof COMMIT_COLUMNS)[number];

/**
 * The UPDATE of a commit, one statement per set of changed columns (cached). SQLite rewrites the
 * entry of every index over a column named in SET, changed or not; a checkpoint changes only the
 * snapshot, so its UPDATE names no indexed column and costs about what a raw write does (each
 * index touched added about 4 µs a commit, measured on this store's five indexes of `flows`).
 */
export class CommitStatements {
  readonly #db: Database.Database;
  readonly #cache = new Map<number, Database.Statement>();

  constructor(db: Database.Database) {
    this.#db = db;
  }

  /** Writes revision + 1, `now`, `lastError` and exactly the columns in `changes`. */
  run(
    id: string,
    now: number,
    lastError: string | null,
    changes: Partial<Record<CommitColumn, unknown>>,
  ): void {
    let mask = 0;
    const values: unknown[] = [now, lastError];
    for (let i = 0; i < COMMIT_COLUMNS.length; i++) {
      const column = COMMIT_COLUMNS[i]!;
      if (column in changes) {
        mask |= 1 << i;
        values.push(changes[column]);
      }
    }
    values.push(id);
    let statement = this.#cache.get(mask);
    if (statement === undefined) {
      const set = COMMIT_COLUMNS.filter((_, i) => mask & (1 << i)).map((column) => `, ${column} = ?`);
      statement = this.#db.prepare(
        `UPDATE flows SET revision = revision + 1, updated_at = ?, attempts = 0, last_error = ?${set.join("")} WHERE id = ?`,
      );
      this.#cache.set(mask, statement);
    }
    statement.run(values);
  }
}

/** Caches the `listFlows` statement of each query shape (status count, cursor or not, order). */
export class ListStatements {
  readonly #db: Database.Database;
  readonly #cache = new Map<string, Database.Statement>();

  constructor(db: Database.Database) {
    this.#db = db;
  }

  get(statusCount: number, withCursor: boolean, order: "asc" | "desc"): Database.Statement {
    const key = `${statusCount}:${withCursor}:${order}`;
    let statement = this.#cache.get(key);
    if (statement === undefined) {
      const where: string[] = [];
      if (statusCount > 0) where.push(`status IN (${Array(statusCount).fill("?").join(", ")})`);
      if (withCursor) where.push(`(created_at, id) ${order === "asc" ? ">" : "<"} (?, ?)`);
      const dir = order === "asc" ? "ASC" : "DESC";
      statement = this.#db.prepare(
        `SELECT ${SUMMARY_COLUMNS} FROM flows ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
         ORDER BY created_at ${dir}, id ${dir} LIMIT ?`,
      );
      this.#cache.set(key, statement);
    }
    return statement;
  }
}
