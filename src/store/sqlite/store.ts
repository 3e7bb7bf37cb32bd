/**
 * {@link SqliteStore}: the `Store` contract on one SQLite file. Every write is one `BEGIN IMMEDIATE`
 * transaction, so writers from any number of connections and processes are serialized by SQLite's
 * write lock (readers are never blocked, thanks to WAL): a claim's SELECT and its UPDATE can never
 * interleave with another claimer's, and a commit's fencing check sees the latest committed state.
 * A thrown error inside a transaction rolls all of it back, which is how "DT401, nothing
 * written" holds even for checks made halfway through a commit.
 *
 * better-sqlite3 is synchronous; the methods are async only to share the interface of the network
 * engines.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import type Database from "better-sqlite3";
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
  type EventKind,
  type FlowEvent,
  type FlowPage,
  type FlowRecord,
  type FlowStatus,
  flowChannel,
  isFinishedStatus,
  type JsonObject,
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
  wrapDriverError,
} from "../shared/errors.js";
import {
  checkLease,
  earliest,
  expiryOf,
  keptLeaseExpiry,
  keptReadyAt,
  readyAtAfterCommit,
  readyAtAfterEvent,
} from "../shared/schedule.js";
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
import type { ResolvedSqliteStoreOptions } from "./index.js";
import { NotificationPoller } from "./notifications.js";
import { openDatabase } from "./open.js";
import { parseJson, toBytes, toCallback, toEvent, toFlowRecord, toSummary } from "./rows.js";
import {
  type CallbackRow,
  type CommitColumn,
  CommitStatements,
  type EventRow,
  type FlowHead,
  type FlowRow,
  ListStatements,
  prepareStatements,
  type Statements,
} from "./statements.js";

/** Messages to hand to this process's listeners once the transaction that wrote them committed. */
type Outbox = [channel: string, message: string][];

interface ClaimRow {
  id: string;
  revision: number;
  status: string;
  root_function_id: string;
  snapshot: string | Buffer | null;
  metadata: string | null;
  attempts: number;
}

export class SqliteStore implements Store {
  readonly engine = "sqlite";
  readonly #options: ResolvedSqliteStoreOptions;
  readonly #db: Database.Database;
  readonly #owned: boolean;
  readonly #sql: Statements;
  readonly #list: ListStatements;
  readonly #commits: CommitStatements;
  readonly #tx: Database.Transaction<(body: () => unknown) => unknown>;
  readonly #bus = new LocalBus();
  readonly #poller: NotificationPoller;
  /** Identifies this instance's rows in `notifications`. */
  readonly #origin = randomBytes(9).toString("base64url");
  #lastPrune = 0;
  #closed = false;

  constructor(options: ResolvedSqliteStoreOptions) {
    this.#options = options;
    const { db, owned } = openDatabase(options);
    this.#db = db;
    this.#owned = owned;
    try {
      this.#sql = prepareStatements(db);
    } catch (error) {
      if (owned) db.close();
      throw wrapDriverError(this.engine, "open", error);
    }
    this.#list = new ListStatements(db);
    this.#commits = new CommitStatements(db);
    this.#tx = db.transaction((body: () => unknown) => body());
    this.#poller = new NotificationPoller({
      statements: this.#sql,
      bus: this.#bus,
      origin: this.#origin,
      intervalMs: options.pollIntervalMs,
      onError: (error) =>
        process.emitWarning(`dtasks sqlite store: polling for notifications failed: ${String(error)}`, {
          type: "DTasksStoreWarning",
        }),
    });
  }

  #open(op: string): void {
    if (this.#closed) throw storeClosed(this.engine, op);
  }

  #wrap(op: string, error: unknown): DTaskError {
    if ((error as { code?: unknown })?.code === "SQLITE_BUSY") {
      return new DTaskError(
        "DT402",
        `sqlite store: ${op} failed: the database stayed locked by another connection for longer than ` +
          `busyTimeout (${this.#options.busyTimeoutMs} ms); raise the 'busyTimeout' option or shorten other transactions`,
        { cause: error },
      );
    }
    return wrapDriverError(this.engine, op, error);
  }

  /** Runs `body` in a BEGIN IMMEDIATE transaction; on success, tells local listeners. */
  #write<T>(op: string, body: (outbox: Outbox) => T): T {
    this.#open(op);
    const outbox: Outbox = [];
    let result: T;
    try {
      result = this.#tx.immediate(() => body(outbox)) as T;
    } catch (error) {
      throw this.#wrap(op, error);
    }
    for (const [channel, message] of outbox) this.#bus.emit(channel, message);
    return result;
  }

  #read<T>(op: string, body: () => T): T {
    this.#open(op);
    try {
      return body();
    } catch (error) {
      throw this.#wrap(op, error);
    }
  }

  /** Stores a message for other connections and queues it for this one. Inside a transaction. */
  #notify(outbox: Outbox, channel: string, message: string, flowId: string | null): void {
    const now = Date.now();
    this.#sql.insertNotification.run(channel, message, this.#origin, flowId, now);
    outbox.push([channel, message]);
    // Prune at most every few seconds: cheap (indexed), and keeps the table small without a sweep.
    if (now - this.#lastPrune >= Math.min(this.#options.notificationTtlMs, 5_000)) {
      this.#lastPrune = now;
      this.#sql.pruneNotifications.run(now - this.#options.notificationTtlMs);
    }
  }

  async createFlow(input: CreateFlowInput): Promise<CreatedFlow> {
    this.#open("createFlow");
    const c = checkCreate(input);
    const lease: Lease = { token: newLeaseToken(), owner: c.owner, expiresAt: c.now + c.leaseMs };
    return this.#write("createFlow", () => {
      const { changes } = this.#sql.insertFlow.run({
        id: c.id,
        rootFunctionId: c.rootFunctionId,
        snapshot: c.snapshot,
        metadata: c.metadataJson,
        now: c.now,
        token: lease.token,
        owner: lease.owner,
        expiresAt: lease.expiresAt,
      });
      if (changes === 0) throw idInUse("flow", c.id);
      return { id: c.id, revision: 0, lease };
    });
  }

  async commit(input: CommitInput): Promise<CommitResult> {
    this.#open("commit");
    const c = checkCommit(input);
    return this.#write("commit", (outbox) => {
      const sql = this.#sql;
      const head = sql.flowHead.get(c.flowId) as FlowHead | undefined;
      if (head === undefined) throw flowGone(c.flowId);
      const held = checkLease(
        head.lease_token === null ? null : { token: head.lease_token, expiresAt: head.lease_expires_at! },
        c.leaseToken,
        c.now,
      );
      if (held !== "held") throw leaseLost(c.flowId, held);
      if (head.revision !== c.revision) throw revisionConflict(c.flowId, c.revision, head.revision);

      // Any throw below rolls the whole transaction back.
      for (const id of c.consumedEvents) {
        const seq = /^[1-9]\d*$/.test(id) ? Number(id) : 0;
        if (sql.consumeEvent.run(seq, c.flowId).changes !== 1) {
          throw new DTaskError(
            "DT405",
            `store.commit: 'consumedEvents' names ${JSON.stringify(id)}, which is not a pending event of flow ${c.flowId}`,
          );
        }
      }
      for (const id of c.removeWaits) {
        sql.removeTimer.run(c.flowId, id);
        sql.removeWaitEvents.run(c.flowId, id);
        sql.cancelCallback.run(id, c.flowId);
      }
      for (const id of c.addCallbacks) {
        if (sql.insertCallback.run(id, c.flowId, c.now).changes !== 1) throw idInUse("callback", id);
      }
      for (const t of c.addTimers) {
        if (sql.insertTimer.run(c.flowId, t.id, t.dueAt).changes !== 1)
          throw idInUse("timer", t.id, c.flowId);
      }

      let readyAt: number | null = null;
      let lease: Lease | null = null;
      let finishedAt: number | null = null;
      let expiresAt: number | null = null;
      let earliestTimer: number | null = null;
      let earliestEvent: number | null = null;
      if (c.finished) {
        sql.cancelFlowCallbacks.run(c.flowId);
        sql.deleteFlowTimers.run(c.flowId);
        sql.deleteFlowEvents.run(c.flowId);
        finishedAt = c.now;
        expiresAt = expiryOf(c.now, c.retentionMs ?? this.#options.retentionMs);
      } else {
        earliestTimer = sql.earliestTimer.get(c.flowId) as number | null;
        earliestEvent = sql.earliestEvent.get(c.flowId) as number | null;
        readyAt = readyAtAfterCommit(c.runnableAt, earliestTimer, earliestEvent, c.deferUntil);
        if (c.keepLeaseMs !== null) {
          readyAt = keptReadyAt(head.ready_at, readyAt, c.now);
          const expires = keptLeaseExpiry(head.lease_expires_at!, c.now, c.keepLeaseMs);
          lease = { token: c.leaseToken, owner: head.lease_owner!, expiresAt: expires };
        }
      }
      // Only what changes: see CommitStatements.
      const changes: Partial<Record<CommitColumn, unknown>> = {};
      if (c.status !== head.status) changes.status = c.status;
      if (c.snapshot !== undefined) changes.snapshot = c.snapshot;
      if (c.result !== undefined) changes.result = c.result;
      if (c.error !== undefined) changes.error = c.error;
      if (c.metadataJson !== undefined) changes.metadata = c.metadataJson;
      if (readyAt !== head.ready_at) changes.ready_at = readyAt;
      const deferUntil = c.finished ? null : c.deferUntil;
      if (deferUntil !== head.defer_until) changes.defer_until = deferUntil;
      if (finishedAt !== head.finished_at) changes.finished_at = finishedAt;
      if (expiresAt !== head.expires_at) changes.expires_at = expiresAt;
      if ((lease?.token ?? null) !== head.lease_token) changes.lease_token = lease?.token ?? null;
      if ((lease?.owner ?? null) !== head.lease_owner) changes.lease_owner = lease?.owner ?? null;
      if ((lease?.expiresAt ?? null) !== head.lease_expires_at)
        changes.lease_expires_at = lease?.expiresAt ?? null;
      this.#commits.run(c.flowId, c.now, c.lastErrorJson, changes);

      let events: FlowEvent[] = [];
      if (c.finished) {
        this.#notify(outbox, flowChannel(c.flowId), c.status, c.flowId);
      } else if (lease !== null) {
        // The checkpoint fast path: with no event pending and no timer due, nothing to read back.
        const timerDue = earliestTimer !== null && earliestTimer <= c.now;
        if (timerDue || earliestEvent !== null) events = this.#collectEvents(c.flowId, c.now, timerDue);
      } else if (readyAt !== null) {
        this.#notify(outbox, WORK_CHANNEL, String(readyAt), c.flowId);
      }
      return { revision: head.revision + 1, lease, events, readyAt };
    });
  }

  /** Turns due timers into events and returns every pending event, oldest first. In a transaction. */
  #collectEvents(flowId: string, now: number, timersMayBeDue = true): FlowEvent[] {
    if (timersMayBeDue) {
      this.#sql.fireTimers.run(flowId, now);
      this.#sql.deleteFiredTimers.run(flowId, now);
    }
    return (this.#sql.pendingEvents.all(flowId) as EventRow[]).map(toEvent);
  }

  async claim(input: ClaimInput): Promise<ClaimedFlow[]> {
    this.#open("claim");
    const c = checkClaim(input);
    return this.#write("claim", () => {
      const rows = this.#sql.claimable.all({ now: c.now, limit: c.limit }) as ClaimRow[];
      return rows.map((row): ClaimedFlow => {
        const lease: Lease = { token: newLeaseToken(), owner: c.owner, expiresAt: c.now + c.leaseMs };
        this.#sql.setLease.run(lease.token, lease.owner, lease.expiresAt, row.id);
        return {
          id: row.id,
          revision: row.revision,
          status: row.status as FlowStatus,
          rootFunctionId: row.root_function_id,
          snapshot: toBytes(row.snapshot),
          metadata: parseJson<JsonObject>(row.metadata),
          events: this.#collectEvents(row.id, c.now),
          lease,
          attempt: row.attempts + 1,
        };
      });
    });
  }

  async renewLease(input: LeaseRef & { leaseMs: number }): Promise<Lease> {
    this.#open("renewLease");
    const c = checkLeaseRef("renewLease", input, true);
    return this.#write("renewLease", () => {
      const head = this.#sql.flowHead.get(c.flowId) as FlowHead | undefined;
      if (head === undefined) throw flowGone(c.flowId, "renewLease");
      const lease =
        head.lease_token === null ? null : { token: head.lease_token, expiresAt: head.lease_expires_at! };
      const held = checkLease(lease, c.token, c.now);
      if (held !== "held") throw leaseLost(c.flowId, held, "renewLease");
      const expiresAt = c.now + c.leaseMs;
      this.#sql.renewLease.run(expiresAt, c.flowId);
      return { token: c.token, owner: head.lease_owner!, expiresAt };
    });
  }

  async releaseLease(input: LeaseRef): Promise<boolean> {
    this.#open("releaseLease");
    const c = checkLeaseRef("releaseLease", input);
    return this.#write("releaseLease", (outbox) => {
      const head = this.#sql.flowHead.get(c.flowId) as FlowHead | undefined;
      // An expired lease that nobody took over is still ours to give back.
      if (head === undefined || head.lease_token !== c.token) return false;
      this.#sql.releaseLease.run(c.flowId, c.token);
      if (head.ready_at !== null) this.#notify(outbox, WORK_CHANNEL, String(head.ready_at), c.flowId);
      return true;
    });
  }

  async nextWakeAt(): Promise<number | null> {
    return this.#read("nextWakeAt", () =>
      earliest(
        this.#sql.nextUnleased.get() as number | undefined,
        this.#sql.nextLeased.get() as number | null,
      ),
    );
  }

  async deliver(input: DeliverInput): Promise<DeliverResult> {
    this.#open("deliver");
    const c = checkDeliver(input);
    return this.#write("deliver", (outbox) => {
      const callback = this.#sql.callback.get(c.callbackId) as CallbackRow | undefined;
      if (callback === undefined) throw noCallback(c.callbackId);
      if (callback.state === "delivered") throw alreadyDelivered(c.callbackId);
      if (callback.state === "canceled") throw noCallback(c.callbackId, "canceled");
      this.#sql.deliverCallback.run(c.now, c.callbackId);
      const eventId = this.#addEvent(outbox, callback.flow_id, c.kind, c.callbackId, c.payload, c.now);
      return { flowId: callback.flow_id, eventId };
    });
  }

  /** Inserts an event and makes the flow runnable. In a transaction. */
  #addEvent(
    outbox: Outbox,
    flowId: string,
    kind: EventKind,
    waitId: string | null,
    payload: string | Uint8Array | null,
    now: number,
  ): string {
    const head = this.#sql.flowHead.get(flowId) as FlowHead;
    const seq = this.#sql.insertEvent.run(flowId, kind, waitId, payload, now).lastInsertRowid;
    const readyAt = readyAtAfterEvent(head.ready_at, now, head.defer_until);
    if (readyAt !== head.ready_at) this.#sql.setReadyAt.run(readyAt, flowId);
    // A run holding the lease will see the event at its commit; only free flows need a worker.
    if (head.lease_expires_at === null || head.lease_expires_at <= now) {
      this.#notify(outbox, WORK_CHANNEL, String(readyAt), flowId);
    }
    return String(seq);
  }

  async requestCancel(input: CancelInput): Promise<CancelResult> {
    this.#open("requestCancel");
    const c = checkCancel(input);
    return this.#write("requestCancel", (outbox): CancelResult => {
      const head = this.#sql.flowHead.get(c.flowId) as FlowHead | undefined;
      if (head === undefined) throw noFlow(c.flowId);
      if (isFinishedStatus(head.status as FlowStatus)) return { outcome: "finished", eventId: null };
      const pending = this.#sql.pendingCancel.get(c.flowId) as number | undefined;
      if (pending !== undefined) return { outcome: "pending", eventId: String(pending) };
      const eventId = this.#addEvent(outbox, c.flowId, "cancel", null, c.payload, c.now);
      this.#notify(outbox, flowChannel(c.flowId), "cancel-requested", c.flowId);
      return { outcome: "requested", eventId };
    });
  }

  async getFlow(flowId: string): Promise<FlowRecord | null> {
    this.#open("getFlow");
    checkId("getFlow", "flowId", flowId);
    return this.#read("getFlow", () => {
      const row = this.#sql.flow.get(flowId) as FlowRow | undefined;
      return row === undefined ? null : toFlowRecord(row);
    });
  }

  async listFlows(query?: ListFlowsQuery): Promise<FlowPage> {
    this.#open("listFlows");
    const q = checkListQuery(query);
    const after = q.after === null ? null : decodeCursor(q.after);
    return this.#read("listFlows", () => {
      const statuses = q.statuses ?? [];
      const params: unknown[] = [...statuses];
      if (after !== null) params.push(after.createdAt, after.id);
      params.push(q.limit + 1);
      const rows = this.#list.get(statuses.length, after !== null, q.order).all(...params) as FlowRow[];
      const page = rows.slice(0, q.limit).map(toSummary);
      const last = page[page.length - 1];
      return { flows: page, next: rows.length > q.limit && last !== undefined ? encodeCursor(last) : null };
    });
  }

  async getCallback(callbackId: string): Promise<CallbackRecord | null> {
    this.#open("getCallback");
    checkId("getCallback", "callbackId", callbackId);
    return this.#read("getCallback", () => {
      const row = this.#sql.callback.get(callbackId) as CallbackRow | undefined;
      return row === undefined ? null : toCallback(row);
    });
  }

  async subscribe(channel: string, listener: MessageListener): Promise<Unsubscribe> {
    this.#open("subscribe");
    checkChannel("subscribe", channel);
    checkListener("subscribe", listener);
    // Start polling before adding the listener: from here on, every message committed by another
    // connection is delivered (the poller starts from the last row committed now).
    this.#read("subscribe", () => this.#poller.start());
    const remove = this.#bus.add(channel, listener);
    return async () => {
      remove();
      if (this.#bus.size === 0) this.#poller.stop();
    };
  }

  async publish(channel: string, message: string): Promise<void> {
    this.#open("publish");
    checkChannel("publish", channel);
    checkMessage("publish", message);
    this.#write("publish", (outbox) => this.#notify(outbox, channel, message, null));
  }

  async sweep(input: SweepInput): Promise<SweepResult> {
    this.#open("sweep");
    const c = checkSweep(input);
    return this.#write("sweep", () => {
      const ids = this.#sql.expired.all(c.now, c.limit) as string[];
      for (const id of ids) {
        this.#sql.sweepCallbacks.run(id);
        this.#sql.sweepTimers.run(id);
        this.#sql.sweepEvents.run(id);
        this.#sql.sweepNotifications.run(id);
        this.#sql.sweepFlow.run(id);
      }
      this.#sql.pruneNotifications.run(Date.now() - this.#options.notificationTtlMs);
      return { flows: ids.length };
    });
  }

  async countRecords(): Promise<RecordCounts> {
    return this.#read("countRecords", () => ({ ...(this.#sql.counts.get() as Record<string, number>) }));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#poller.stop();
    this.#bus.clear();
    if (this.#owned) {
      try {
        this.#db.close();
      } catch (error) {
        throw wrapDriverError(this.engine, "close", error);
      }
    }
  }
}
