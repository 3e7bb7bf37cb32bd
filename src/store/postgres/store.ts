/**
 * {@link PostgresStore}: the `Store` contract on PostgreSQL. Every operation is ONE statement on a
 * pool connection, so one implicit transaction and one round trip: the multi-row operations
 * (commit, claim, deliver, requestCancel) are server-side functions created by the migrations
 * (`migrations/0002-queue.ts` explains their locking), the others plain statements. Nothing is
 * ever held open across round trips, so a dropped connection can only lose an operation as a whole.
 *
 * Announcements go out with `pg_notify` inside the statement that causes them, so they are sent iff
 * it commits; this instance's own listeners are told right after it returns, and skip the echo.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { DTaskError } from "../../core/errors.js";
import {
  type CallbackRecord,
  type CancelInput,
  type CancelResult,
  type ClaimedFlow,
  type ClaimInput,
  type CommitInput,
  type CommitResult,
  type CreatedFlow,
  type CreateFlowInput,
  type DeliverInput,
  type DeliverResult,
  type FinishedFlowStatus,
  type FlowPage,
  type FlowRecord,
  type FlowStatus,
  flowChannel,
  isFinishedStatus,
  type Lease,
  type LeaseRef,
  type ListFlowsQuery,
  type MessageListener,
  type RecordCounts,
  type Store,
  type SweepInput,
  type SweepResult,
  type Unsubscribe,
  WORK_CHANNEL,
} from "../../core/store.js";
import { LocalBus } from "../shared/bus.js";
import { decodeCursor, encodeCursor } from "../shared/cursor.js";
import {
  alreadyDelivered,
  flowGone,
  idInUse,
  leaseLost,
  noCallback,
  noFlow,
  revisionConflict,
  storeClosed,
} from "../shared/errors.js";
import { checkLease, expiryOf } from "../shared/schedule.js";
import { newLeaseToken } from "../shared/token.js";
import {
  checkCancel,
  checkChannel,
  checkClaim,
  checkCommit,
  checkCreate,
  checkDeliver,
  checkId,
  checkLeaseRef,
  checkListener,
  checkListQuery,
  checkMessage,
  checkSweep,
} from "../shared/validate.js";
import { Batcher, type SendBatch } from "./batch.js";
import { isConnectionError, wrapPgError } from "./errors.js";
import type { ResolvedPostgresStoreOptions } from "./index.js";
import { NotificationListener } from "./listener.js";
import { migrate } from "./migrate.js";
import { pgChannel, quoteIdent, statementName } from "./names.js";
import {
  type CallbackRow,
  type EventArrays,
  FLOW_COLUMNS,
  type FlowRow,
  flowSource,
  payloadParams,
  SUMMARY_COLUMNS,
  type SummaryRow,
  toBytes,
  toCallback,
  toEvents,
  toFlowRecord,
  toSummary,
} from "./rows.js";

/** Largest event id: ids beyond it (or not numeric) cannot name a pending event. */
const MAX_SEQ = 9223372036854775807n;

interface CommitRow extends EventArrays {
  o_revision: string;
  o_ready_at: number | null;
  o_lease_owner: string | null;
  o_lease_expires_at: number | null;
}

interface ClaimRow extends EventArrays {
  o_id: string;
  o_revision: string;
  o_status: string;
  o_root_function_id: string;
  o_snapshot: Buffer | null;
  o_snapshot_text: boolean;
  o_metadata: ClaimedFlow["metadata"];
  o_token: string;
  o_attempts: number;
}

interface EventResultRow {
  o_event_id: string | null;
  o_ready_at: number | null;
  o_notified: boolean | null;
}

/** A server-side failure raised on purpose by the store's functions (SQLSTATE `DTxxx`). */
interface RaisedError {
  code: string;
  detail?: string;
  hint?: string;
  message: string;
}

function raised(error: unknown, code: string): RaisedError | null {
  const e = error as Partial<RaisedError> | null;
  return e !== null && typeof e === "object" && e.code === code && typeof e.message === "string"
    ? (e as RaisedError)
    : null;
}

/** The parameters of one `createFlow`, in the order of the statement's columns. */
type CreateParams = [
  id: string,
  rootFunctionId: string,
  snapshot: Buffer | null,
  snapshotText: boolean,
  metadata: string | null,
  now: number,
  token: string,
  owner: string,
  expiresAt: number,
];

/** The statement texts of one schema. */
function statements(schema: string) {
  const s = quoteIdent(schema);
  return {
    // Batched (see batch.ts): one row per flow, the parameters are columns. The ids returned are
    // the flows created; an id in use already is not.
    createFlow: `WITH input AS (
        SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::boolean[], $5::json[],
          $6::double precision[], $7::text[], $8::text[], $9::double precision[])
          AS u(id, root_function_id, snapshot, snapshot_text, metadata, now, token, owner, expires_at)),
      created AS (
        INSERT INTO ${s}.flows (id, status, revision, root_function_id, snapshot, snapshot_text, metadata,
          created_at, updated_at)
        SELECT id, 'running', 0, root_function_id, snapshot, snapshot_text, metadata, now, now FROM input
        ON CONFLICT (id) DO NOTHING RETURNING id)
      INSERT INTO ${s}.queue (id, ready_at, lease_token, lease_owner, lease_expires_at, attempts)
        SELECT input.id, input.now, input.token, input.owner, input.expires_at, 1
        FROM created JOIN input ON input.id = created.id
      RETURNING id`,
    commit: `SELECT o_revision, o_ready_at, o_lease_owner, o_lease_expires_at,
        ev_seq, ev_kind, ev_wait, ev_payload, ev_text, ev_at
      FROM ${s}.commit_flow($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
        $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30)`,
    claim: `SELECT o_id, o_revision, o_status, o_root_function_id, o_snapshot, o_snapshot_text, o_metadata,
        o_token, o_attempts, ev_seq, ev_kind, ev_wait, ev_payload, ev_text, ev_at
      FROM ${s}.claim_flows($1, $2, $3, $4)`,
    renew: `UPDATE ${s}.queue SET lease_expires_at = $4
      WHERE id = $1 AND lease_token = $2 AND lease_expires_at > $3 RETURNING lease_owner`,
    leaseHead: `SELECT q.lease_token, q.lease_expires_at FROM ${flowSource(s)} WHERE f.id = $1`,
    release: `WITH released AS (
        UPDATE ${s}.queue SET lease_token = NULL, lease_owner = NULL, lease_expires_at = NULL
        WHERE id = $1 AND lease_token = $2 RETURNING ready_at)
      SELECT ready_at,
        CASE WHEN ready_at IS NOT NULL THEN pg_notify($3, $4 || ':' || ${s}.ms_text(ready_at)) END AS announced
      FROM released`,
    nextWakeAt: `SELECT ${s}.next_wake_at() AS at`,
    deliver: `SELECT o_flow_id, o_event_id, o_ready_at, o_notified
      FROM ${s}.deliver_event($1, $2, $3, $4, $5, $6, $7)`,
    cancel: `SELECT o_outcome, o_event_id, o_ready_at, o_notified
      FROM ${s}.request_cancel($1, $2, $3, $4, $5, $6, $7)`,
    // Batched: see batch.ts.
    getFlow: `SELECT ${FLOW_COLUMNS} FROM ${flowSource(s)} WHERE f.id = ANY ($1::text[])`,
    getCallback: `SELECT id, flow_id, state, created_at, delivered_at FROM ${s}.callbacks WHERE id = $1`,
    publish: "SELECT pg_notify($1, $2)",
    sweep: `WITH doomed AS (
        SELECT id FROM ${s}.flows WHERE expires_at <= $1 ORDER BY expires_at, id LIMIT $2
        FOR UPDATE SKIP LOCKED)
      DELETE FROM ${s}.flows f USING doomed WHERE f.id = doomed.id`,
    replay: `SELECT f.id, f.status,
        EXISTS (SELECT 1 FROM ${s}.events e WHERE e.flow_id = f.id AND e.kind = 'cancel') AS cancel_pending
      FROM ${s}.flows f WHERE f.id = ANY ($1::text[])`,
    counts: `SELECT
        (SELECT count(*) FROM ${s}.flows) AS flows,
        (SELECT count(*) FROM ${s}.callbacks) AS callbacks,
        (SELECT count(*) FROM ${s}.timers) AS timers,
        (SELECT count(*) FROM ${s}.events) AS events,
        (SELECT count(*) FROM ${s}.queue) AS queue,
        (SELECT count(*) FROM ${s}.queue WHERE lease_token IS NOT NULL) AS leases`,
    /** The listFlows statement of one query shape, with its parameters numbered in order. */
    list: (statusFilter: boolean, cursor: boolean, order: "asc" | "desc") => {
      const where: string[] = [];
      let n = 0;
      if (statusFilter) where.push(`f.status = ANY ($${++n}::text[])`);
      if (cursor) where.push(`(f.created_at, f.id) ${order === "asc" ? ">" : "<"} ($${++n}, $${++n})`);
      const dir = order === "asc" ? "ASC" : "DESC";
      return `SELECT ${SUMMARY_COLUMNS} FROM ${flowSource(s)}
        ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
        ORDER BY f.created_at ${dir}, f.id ${dir} LIMIT $${++n}`;
    },
  };
}

type Statements = ReturnType<typeof statements>;
type Named = Exclude<keyof Statements, "list">;

/** Statements worth preparing once per connection: the ones every run issues. */
const PREPARED: ReadonlySet<Named> = new Set([
  "createFlow",
  "commit",
  "claim",
  "renew",
  "release",
  "deliver",
  "getFlow",
  "nextWakeAt",
]);

export class PostgresStore implements Store {
  readonly engine = "postgres";
  readonly #options: ResolvedPostgresStoreOptions;
  readonly #pool: pg.Pool;
  readonly #owned: boolean;
  /** Config of the LISTEN client when the store opened its own connections. */
  readonly #clientConfig: pg.ClientConfig | null;
  readonly #sql: Statements;
  /** Prepared-statement names, for the statements in {@link PREPARED}. */
  readonly #names: Partial<Record<Named, string>>;
  readonly #bus = new LocalBus();
  readonly #listener: NotificationListener;
  /** Identifies this instance's notifications, so that it skips its own echo. */
  readonly #origin = randomBytes(9).toString("base64url");
  readonly #workChannel: string;
  #ready = false;
  #migrating: Promise<void> | null = null;
  /** `getFlow` and `createFlow` calls waiting for a connection go out together: see batch.ts. */
  readonly #flowReads = new Batcher<string, string, FlowRow>(() => this.#flowTurn(), {
    share: true,
    maxItems: 500,
  });
  readonly #creations = new Batcher<string, CreateParams, true>(() => this.#createTurn(), {
    share: false,
    maxItems: 500,
    // Start snapshots hold the root call's arguments, which may be large: a few MB per statement.
    maxWeight: 4 * 1024 * 1024,
    weigh: (params) => params[2]?.length ?? 0,
  });
  #closed = false;

  constructor(options: ResolvedPostgresStoreOptions) {
    this.#options = options;
    this.#sql = statements(options.schema);
    this.#names = Object.fromEntries(
      [...PREPARED].map((op) => [op, statementName(options.schema, op)]),
    ) as Partial<Record<Named, string>>;
    this.#workChannel = pgChannel(options.schema, WORK_CHANNEL);
    if (options.pool !== null) {
      this.#pool = options.pool;
      this.#owned = false;
      this.#clientConfig = null;
    } else {
      const config: pg.ClientConfig = {
        connectionString: options.connectionString!,
        connectionTimeoutMillis: options.connectTimeoutMs,
        application_name: options.applicationName,
        keepAlive: true,
        ...(options.synchronousCommit === null
          ? {}
          : { options: `-c synchronous_commit=${options.synchronousCommit}` }),
      };
      this.#pool = new pg.Pool({ ...config, max: options.poolSize, allowExitOnIdle: true });
      // The pool copies its options (enumerably) and the connection string holds the password.
      hide(this.#pool.options, "connectionString");
      hide(config, "connectionString");
      this.#clientConfig = config;
      this.#owned = true;
      // An idle client whose connection dropped: the pool discards it, and the next operation gets
      // a fresh one (or fails with DT402 while the server is away). Without a listener, pg would
      // crash the process.
      this.#pool.on("error", () => {});
    }
    this.#listener = new NotificationListener({
      connect: () => this.#connectListener(),
      pgChannel: (channel) => pgChannel(options.schema, channel),
      origin: this.#origin,
      bus: this.#bus,
      onReconnect: (channels) => this.#replay(channels),
      warn: (message, error) =>
        process.emitWarning(
          `dtasks postgres store (schema "${options.schema}"): ${message}${error instanceof Error ? `: ${error.message}` : ""}`,
          { type: "DTasksStoreWarning" },
        ),
    });
  }

  /** The schema this store keeps its tables in. */
  get schema(): string {
    return this.#options.schema;
  }

  /**
   * Connects and creates or migrates the schema now, instead of on the first operation: to fail
   * fast at startup. Rejects with DT402 (unreachable, or behind with `migrate: false`) or DT407.
   */
  async ready(): Promise<void> {
    this.#open("ready");
    try {
      await this.#init();
    } catch (error) {
      throw wrapPgError("ready", error);
    }
  }

  /**
   * The server process id of the LISTEN connection while it is up, else null: for diagnostics
   * (`pg_stat_activity`) and tests (`pg_terminate_backend`). All the store's connections carry
   * its `applicationName`.
   */
  listenerPid(): number | null {
    return this.#listener.processId;
  }

  #open(op: string): void {
    if (this.#closed) throw storeClosed(this.engine, op);
  }

  #init(): Promise<void> {
    if (this.#ready) return Promise.resolve();
    this.#migrating ??= migrate(this.#pool, this.#options.schema, this.#options.migrate).then(
      () => {
        this.#ready = true;
        this.#migrating = null;
      },
      (error) => {
        // Not cached: the next operation tries again (the server may be back).
        this.#migrating = null;
        throw error;
      },
    );
    return this.#migrating;
  }

  /**
   * Runs one statement of this store (after the schema is ready). A `read` is tried a second time
   * if the first try met a dropped connection: after a server restart or a terminated backend the
   * pool may still hold dead idle clients, and a read is safe to repeat. Writes are not repeated
   * here: whether one that met a dropped connection was applied is unknown, so the caller decides.
   */
  async #query<R extends pg.QueryResultRow>(
    op: Named,
    values: unknown[],
    read = false,
  ): Promise<pg.QueryResult<R>> {
    const text = this.#sql[op];
    const name = this.#names[op];
    return this.#exec<R>(name === undefined ? { text, values } : { name, text, values }, read);
  }

  async #exec<R extends pg.QueryResultRow>(
    config: pg.QueryConfig,
    read: boolean,
  ): Promise<pg.QueryResult<R>> {
    await this.#init();
    try {
      return await this.#pool.query<R>(config);
    } catch (error) {
      if (!read) throw error;
      return this.#readAgain<R>(config, error);
    }
  }

  /**
   * A read whose connection dropped (an idle pooled connection the server closed) is tried once
   * more, on a fresh one; any other failure is the read's.
   */
  async #readAgain<R extends pg.QueryResultRow>(
    config: pg.QueryConfig,
    error: unknown,
  ): Promise<pg.QueryResult<R>> {
    if (!isConnectionError(error) || this.#closed) throw error;
    return this.#pool.query<R>(config);
  }

  async #connectListener(): Promise<pg.Client> {
    const client =
      this.#clientConfig !== null
        ? new pg.Client(this.#clientConfig)
        : new ((this.#pool as unknown as { Client?: typeof pg.Client }).Client ?? pg.Client)(
            this.#pool.options,
          );
    client.on("error", () => {}); // until the listener attaches its own handler
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
    return client;
  }

  async createFlow(input: CreateFlowInput): Promise<CreatedFlow> {
    this.#open("createFlow");
    const c = checkCreate(input);
    const lease: Lease = { token: newLeaseToken(), owner: c.owner, expiresAt: c.now + c.leaseMs };
    const [snapshot, snapshotText] = payloadParams(c.snapshot);
    let created: true | undefined;
    try {
      created = await this.#creations.submit(c.id, [
        c.id,
        c.rootFunctionId,
        snapshot,
        snapshotText,
        c.metadataJson,
        c.now,
        lease.token,
        lease.owner,
        lease.expiresAt,
      ]);
    } catch (error) {
      throw wrapPgError("createFlow", error);
    }
    if (created === undefined) throw idInUse("flow", c.id);
    return { id: c.id, revision: 0, lease };
  }

  async commit(input: CommitInput): Promise<CommitResult> {
    this.#open("commit");
    const c = checkCommit(input);
    const [snapshot, snapshotText] = payloadParams(c.snapshot);
    const [result, resultText] = payloadParams(c.result);
    const [error, errorText] = payloadParams(c.error);
    // An id that is not a decimal int8 cannot be an event id: 0 makes the server reject it as
    // "not pending", after the fencing checks, as the other engines do.
    const consumed = c.consumedEvents.map((id) =>
      /^[1-9]\d{0,18}$/.test(id) && BigInt(id) <= MAX_SEQ ? id : "0",
    );
    const expiresAt = c.finished ? expiryOf(c.now, c.retentionMs ?? this.#options.retentionMs) : null;
    let row: CommitRow;
    try {
      ({
        rows: [row!],
      } = await this.#query<CommitRow>("commit", [
        c.flowId,
        c.revision,
        c.leaseToken,
        c.now,
        c.status,
        c.finished,
        c.snapshot !== undefined,
        snapshot,
        snapshotText,
        c.result !== undefined,
        result,
        resultText,
        c.error !== undefined,
        error,
        errorText,
        c.lastErrorJson,
        c.metadataJson !== undefined,
        c.metadataJson ?? null,
        consumed,
        c.removeWaits,
        c.addCallbacks,
        c.addTimers.map((t) => t.id),
        c.addTimers.map((t) => t.dueAt),
        c.runnableAt,
        c.deferUntil,
        c.keepLeaseMs,
        expiresAt,
        this.#origin,
        // Only a finished flow is announced on its channel: no hash for every checkpoint.
        c.finished ? pgChannel(this.#options.schema, flowChannel(c.flowId)) : null,
        this.#workChannel,
      ]));
    } catch (thrown) {
      throw this.#commitError(c.flowId, c.revision, c.consumedEvents, thrown);
    }
    const readyAt = row.o_ready_at;
    const lease: Lease | null =
      row.o_lease_expires_at === null
        ? null
        : { token: c.leaseToken, owner: row.o_lease_owner!, expiresAt: row.o_lease_expires_at };
    if (c.finished) this.#bus.emit(flowChannel(c.flowId), c.status as FinishedFlowStatus);
    else if (lease === null && readyAt !== null) this.#bus.emit(WORK_CHANNEL, String(readyAt));
    return { revision: Number(row.o_revision), lease, events: toEvents(row), readyAt };
  }

  #commitError(flowId: string, revision: number, consumed: readonly string[], thrown: unknown): DTaskError {
    const fenced = raised(thrown, "DT401");
    if (fenced !== null) {
      if (fenced.detail === "gone") return flowGone(flowId);
      if (fenced.detail === "revision") return revisionConflict(flowId, revision, Number(fenced.hint));
      return leaseLost(flowId, fenced.detail as "stolen" | "expired" | "none");
    }
    const bad = raised(thrown, "DT405");
    if (bad !== null) {
      const id = consumed[Number(bad.detail) - 1];
      return new DTaskError(
        "DT405",
        `store.commit: 'consumedEvents' names ${JSON.stringify(id)}, which is not a pending event of flow ${flowId}`,
      );
    }
    const taken = raised(thrown, "DT406");
    if (taken !== null) {
      return taken.message.startsWith("timer")
        ? idInUse("timer", taken.detail ?? "", flowId)
        : idInUse("callback", taken.detail ?? "");
    }
    return wrapPgError("commit", thrown);
  }

  async claim(input: ClaimInput): Promise<ClaimedFlow[]> {
    this.#open("claim");
    const c = checkClaim(input);
    let rows: ClaimRow[];
    try {
      ({ rows } = await this.#query<ClaimRow>("claim", [c.owner, c.leaseMs, c.limit, c.now]));
    } catch (error) {
      throw wrapPgError("claim", error);
    }
    return rows.map(
      (row): ClaimedFlow => ({
        id: row.o_id,
        revision: Number(row.o_revision),
        status: row.o_status as FlowStatus,
        rootFunctionId: row.o_root_function_id,
        snapshot: toBytes(row.o_snapshot, row.o_snapshot_text),
        metadata: row.o_metadata,
        events: toEvents(row),
        lease: { token: row.o_token, owner: c.owner, expiresAt: c.now + c.leaseMs },
        attempt: row.o_attempts,
      }),
    );
  }

  async renewLease(input: LeaseRef & { leaseMs: number }): Promise<Lease> {
    this.#open("renewLease");
    const c = checkLeaseRef("renewLease", input, true);
    const expiresAt = c.now + c.leaseMs;
    try {
      const { rows } = await this.#query<{ lease_owner: string }>("renew", [
        c.flowId,
        c.token,
        c.now,
        expiresAt,
      ]);
      if (rows[0] !== undefined) return { token: c.token, owner: rows[0].lease_owner, expiresAt };
      // Not renewed: say why. The lease cannot have come back to this token since.
      const head = await this.#pool.query<{ lease_token: string | null; lease_expires_at: number | null }>(
        this.#sql.leaseHead,
        [c.flowId],
      );
      const row = head.rows[0];
      if (row === undefined) throw flowGone(c.flowId, "renewLease");
      const held = checkLease(
        row.lease_token === null ? null : { token: row.lease_token, expiresAt: row.lease_expires_at! },
        c.token,
        c.now,
      );
      throw leaseLost(c.flowId, held === "held" ? "expired" : held, "renewLease");
    } catch (error) {
      throw wrapPgError("renewLease", error);
    }
  }

  async releaseLease(input: LeaseRef): Promise<boolean> {
    this.#open("releaseLease");
    const c = checkLeaseRef("releaseLease", input);
    let rows: { ready_at: number | null }[];
    try {
      ({ rows } = await this.#query<{ ready_at: number | null }>("release", [
        c.flowId,
        c.token,
        this.#workChannel,
        this.#origin,
      ]));
    } catch (error) {
      throw wrapPgError("releaseLease", error);
    }
    const row = rows[0];
    if (row === undefined) return false;
    if (row.ready_at !== null) this.#bus.emit(WORK_CHANNEL, String(row.ready_at));
    return true;
  }

  async nextWakeAt(): Promise<number | null> {
    this.#open("nextWakeAt");
    try {
      const { rows } = await this.#query<{ at: number | null }>("nextWakeAt", [], true);
      return rows[0]?.at ?? null;
    } catch (error) {
      throw wrapPgError("nextWakeAt", error);
    }
  }

  async deliver(input: DeliverInput): Promise<DeliverResult> {
    this.#open("deliver");
    const c = checkDeliver(input);
    const [payload, payloadText] = payloadParams(c.payload);
    let row: EventResultRow & { o_flow_id: string };
    try {
      ({
        rows: [row!],
      } = await this.#query<EventResultRow & { o_flow_id: string }>("deliver", [
        c.callbackId,
        c.kind,
        payload,
        payloadText,
        c.now,
        this.#origin,
        this.#workChannel,
      ]));
    } catch (thrown) {
      const missing = raised(thrown, "DT502");
      if (missing !== null)
        throw noCallback(c.callbackId, missing.detail === "canceled" ? "canceled" : "unknown");
      if (raised(thrown, "DT503") !== null) throw alreadyDelivered(c.callbackId);
      throw wrapPgError("deliver", thrown);
    }
    if (row.o_notified) this.#bus.emit(WORK_CHANNEL, String(row.o_ready_at));
    return { flowId: row.o_flow_id, eventId: row.o_event_id! };
  }

  async requestCancel(input: CancelInput): Promise<CancelResult> {
    this.#open("requestCancel");
    const c = checkCancel(input);
    const [payload, payloadText] = payloadParams(c.payload);
    let row: EventResultRow & { o_outcome: CancelResult["outcome"] };
    try {
      ({
        rows: [row!],
      } = await this.#query<EventResultRow & { o_outcome: CancelResult["outcome"] }>("cancel", [
        c.flowId,
        payload,
        payloadText,
        c.now,
        this.#origin,
        this.#workChannel,
        pgChannel(this.#options.schema, flowChannel(c.flowId)),
      ]));
    } catch (thrown) {
      if (raised(thrown, "DT501") !== null) throw noFlow(c.flowId);
      throw wrapPgError("requestCancel", thrown);
    }
    if (row.o_outcome === "requested") {
      if (row.o_notified) this.#bus.emit(WORK_CHANNEL, String(row.o_ready_at));
      this.#bus.emit(flowChannel(c.flowId), "cancel-requested");
    }
    return { outcome: row.o_outcome, eventId: row.o_event_id };
  }

  async getFlow(flowId: string): Promise<FlowRecord | null> {
    this.#open("getFlow");
    checkId("getFlow", "flowId", flowId);
    try {
      const row = await this.#flowReads.submit(flowId, flowId);
      return row === undefined ? null : toFlowRecord(row);
    } catch (error) {
      throw wrapPgError("getFlow", error);
    }
  }

  /** One batch of `getFlow`: on the connection it waited for, or (that one dropped) on another. */
  async #flowTurn(): Promise<SendBatch<string, string, FlowRow>> {
    const client = await this.#connect();
    return async (ids) => {
      const config = { name: this.#names.getFlow!, text: this.#sql.getFlow, values: [[...ids.keys()]] };
      let rows: FlowRow[];
      try {
        ({ rows } = await client.run<FlowRow>(config));
      } catch (error) {
        ({ rows } = await this.#readAgain<FlowRow>(config, error));
      }
      return new Map(rows.map((row) => [row.id, row]));
    };
  }

  /** One batch of `createFlow`: one statement, one transaction; an id taken already is not returned. */
  async #createTurn(): Promise<SendBatch<string, CreateParams, true>> {
    const client = await this.#connect();
    return async (flows) => {
      const columns: unknown[][] = [[], [], [], [], [], [], [], [], []];
      for (const params of flows.values()) {
        for (let i = 0; i < params.length; i++) columns[i]!.push(params[i]);
      }
      const { rows } = await client.run<{ id: string }>({
        name: this.#names.createFlow!,
        text: this.#sql.createFlow,
        values: columns,
      });
      return new Map(rows.map((row) => [row.id, true as const]));
    };
  }

  /**
   * A connection of the pool for one statement, sent with `run`, which gives it back. While it is
   * out of the pool, its `error` events (the server went away) are the statement's failure, not
   * an uncaught exception: `pool.query` does the same for the statements it sends.
   */
  async #connect(): Promise<{
    run<R extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>>;
  }> {
    await this.#init();
    const client = await this.#pool.connect();
    let lost: Error | undefined;
    const onError = (error: Error) => {
      lost = error;
    };
    client.on("error", onError);
    return {
      run: async <R extends pg.QueryResultRow>(config: pg.QueryConfig) => {
        try {
          const result = await client.query<R>(config);
          client.off("error", onError);
          client.release(lost);
          return result;
        } catch (error) {
          client.off("error", onError);
          client.release(error as Error);
          throw error;
        }
      },
    };
  }

  async listFlows(query?: ListFlowsQuery): Promise<FlowPage> {
    this.#open("listFlows");
    const q = checkListQuery(query);
    const after = q.after === null ? null : decodeCursor(q.after);
    const text = this.#sql.list(q.statuses !== null, after !== null, q.order);
    const values: unknown[] = [];
    if (q.statuses !== null) values.push(q.statuses);
    if (after !== null) values.push(after.createdAt, after.id);
    values.push(q.limit + 1);
    try {
      const { rows } = await this.#exec<SummaryRow>({ text, values }, true);
      const page = rows.slice(0, q.limit).map(toSummary);
      const last = page[page.length - 1];
      return { flows: page, next: rows.length > q.limit && last !== undefined ? encodeCursor(last) : null };
    } catch (error) {
      throw wrapPgError("listFlows", error);
    }
  }

  async getCallback(callbackId: string): Promise<CallbackRecord | null> {
    this.#open("getCallback");
    checkId("getCallback", "callbackId", callbackId);
    try {
      const { rows } = await this.#query<CallbackRow>("getCallback", [callbackId], true);
      return rows[0] === undefined ? null : toCallback(rows[0]);
    } catch (error) {
      throw wrapPgError("getCallback", error);
    }
  }

  async subscribe(channel: string, listener: MessageListener): Promise<Unsubscribe> {
    this.#open("subscribe");
    checkChannel("subscribe", channel);
    checkListener("subscribe", listener);
    try {
      await this.#init();
      await this.#listener.listen(channel);
    } catch (error) {
      throw wrapPgError("subscribe", error);
    }
    const remove = this.#bus.add(channel, listener);
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      remove();
      this.#listener.unlisten(channel);
    };
  }

  async publish(channel: string, message: string): Promise<void> {
    this.#open("publish");
    checkChannel("publish", channel);
    checkMessage("publish", message);
    if (message.includes("\0")) {
      throw new DTaskError(
        "DT405",
        "store.publish: 'message' contains a NUL character, which PostgreSQL NOTIFY cannot carry; publish an id or encode it",
      );
    }
    try {
      await this.#query("publish", [pgChannel(this.#options.schema, channel), `${this.#origin}:${message}`]);
    } catch (error) {
      throw wrapPgError("publish", error);
    }
    this.#bus.emit(channel, message);
  }

  async sweep(input: SweepInput): Promise<SweepResult> {
    this.#open("sweep");
    const c = checkSweep(input);
    try {
      // Callbacks, timers and events go with their flow (ON DELETE CASCADE).
      const { rowCount } = await this.#query("sweep", [c.now, c.limit]);
      return { flows: rowCount ?? 0 };
    } catch (error) {
      throw wrapPgError("sweep", error);
    }
  }

  async countRecords(): Promise<RecordCounts> {
    this.#open("countRecords");
    try {
      const { rows } = await this.#query<Record<string, string>>("counts", [], true);
      const counts: Record<string, number> = {};
      for (const [family, count] of Object.entries(rows[0] ?? {})) counts[family] = Number(count);
      // NOTIFY keeps no rows: nothing to leave behind, reported for the same shape as other engines.
      counts.notifications = 0;
      return counts;
    } catch (error) {
      throw wrapPgError("countRecords", error);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#bus.clear();
    // Idle sockets are unref'd (so an idle store never holds a process open); while they are being
    // closed, something must hold the event loop, or an awaited close() could end the process early.
    const hold = setInterval(() => {}, 60_000);
    try {
      await this.#listener.close();
      if (this.#owned) await this.#pool.end();
    } catch (error) {
      throw wrapPgError("close", error);
    } finally {
      clearInterval(hold);
    }
  }

  /**
   * After the LISTEN connection came back: what was announced while it was away may be lost, so
   * announce again what the store's own channels would have said. Workers get the next wake-up
   * time; a flow channel gets the flow's final status, or `cancel-requested` if one is pending.
   * Other channels (an application's) are best effort, as the contract says.
   */
  async #replay(channels: string[]): Promise<void> {
    if (this.#closed) return;
    if (channels.includes(WORK_CHANNEL)) {
      const at = await this.nextWakeAt();
      if (at !== null) this.#bus.emit(WORK_CHANNEL, String(at));
    }
    const prefix = flowChannel("");
    const ids = channels.filter((c) => c.startsWith(prefix)).map((c) => c.slice(prefix.length));
    if (ids.length === 0) return;
    const { rows } = await this.#pool.query<{ id: string; status: FlowStatus; cancel_pending: boolean }>(
      this.#sql.replay,
      [ids],
    );
    for (const row of rows) {
      if (isFinishedStatus(row.status)) this.#bus.emit(flowChannel(row.id), row.status);
      else if (row.cancel_pending) this.#bus.emit(flowChannel(row.id), "cancel-requested");
    }
  }
}

function hide(target: object, key: string): void {
  const value = (target as Record<string, unknown>)[key];
  Object.defineProperty(target, key, { value, enumerable: false, writable: true, configurable: true });
}
